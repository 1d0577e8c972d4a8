//! The query subcommands (`roost status`, `originators`, `neighbours`,
//! `gateways`, `routes`, `interfaces`, `topology`, `metrics`): each sends one
//! request over the control socket and prints the reply as an aligned table,
//! or unchanged with `--json`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{MetricsArgs, NeighboursArgs, OriginatorsArgs, QueryArgs, TopologyArgs};
use roost::linux::control;

/// One request line: `{"cmd":CMD}` plus the given string fields and the
/// `alternatives` flag when it is set.
fn request(cmd: &str, fields: &[(&str, Option<&str>)], alternatives: bool) -> String {
    let mut r = format!("{{\"cmd\":{}", Value::from(cmd));
    for (k, v) in fields {
        if let Some(v) = v {
            let _ = write!(r, ",\"{k}\":{}", Value::from(*v));
        }
    }
    if alternatives {
        r.push_str(",\"alternatives\":true");
    }
    r.push('}');
    r
}

/// Sends `req` and prints the reply: as JSON, or through `render`.
fn show(q: &QueryArgs, req: &str, render: fn(&Value) -> String) -> ExitCode {
    match query(&q.control_socket, req) {
        Ok((raw, v)) => {
            if q.json {
                println!("{raw}");
            } else {
                print!("{}", render(&v));
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn status(q: &QueryArgs) -> ExitCode {
    show(q, &request("status", &[], false), render_status)
}

pub fn originators(a: &OriginatorsArgs) -> ExitCode {
    let req = request(
        "originators",
        &[("originator", a.originator.as_deref())],
        a.alternatives,
    );
    show(&a.q, &req, render_originators)
}

pub fn neighbours(a: &NeighboursArgs) -> ExitCode {
    let req = request(
        "neighbours",
        &[("interface", a.interface.as_deref())],
        false,
    );
    show(&a.q, &req, render_neighbours)
}

pub fn gateways(q: &QueryArgs) -> ExitCode {
    show(q, &request("gateways", &[], false), render_gateways)
}

pub fn routes(q: &QueryArgs) -> ExitCode {
    show(q, &request("routes", &[], false), render_routes)
}

pub fn interfaces(q: &QueryArgs) -> ExitCode {
    show(q, &request("interfaces", &[], false), render_interfaces)
}

/// `roost topology`: nodes and links of the whole mesh, as a table, the
/// daemon's JSON (`--json`) or NetJSON (`--netjson`).
pub fn topology(args: &TopologyArgs) -> ExitCode {
    let q = QueryArgs {
        control_socket: args.control_socket.clone(),
        json: args.json || args.netjson,
    };
    let format = args.netjson.then_some("netjson");
    let req = request("topology", &[("format", format)], false);
    show(&q, &req, |v| render_topology(&v["topology"]))
}

/// `roost metrics`: to stdout, or atomically into a file.
pub fn metrics(a: &MetricsArgs) -> ExitCode {
    // A daemon that does not answer still gives a valid file: `roost_up 0`.
    let (text, code) = match query(&a.control_socket, r#"{"cmd":"status"}"#) {
        Ok((_, v)) => (crate::metrics::render(&v), ExitCode::SUCCESS),
        Err(code) => (crate::metrics::down(), code),
    };
    let Some(path) = &a.output else {
        print!("{text}");
        return code;
    };
    match write_atomically(path, &text) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("roost: cannot write {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}

/// Writes a sibling temporary file and renames it over `path`, so a
/// collector never reads half a file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Sends one request to the daemon; returns the raw reply and its JSON, or
/// the exit code after saying what went wrong (no daemon, a bad reply, or
/// an error reply).
fn query(path: &Path, req: &str) -> Result<(String, Value), ExitCode> {
    let reply = control::request(path, req).map_err(|e| {
        eprintln!(
            "roost: cannot query {}: {e} (is roost running?)",
            path.display()
        );
        ExitCode::from(1)
    })?;
    let v: Value = serde_json::from_str(&reply).map_err(|e| {
        eprintln!("roost: bad reply from the daemon: {e}");
        ExitCode::from(1)
    })?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        eprintln!("roost: the daemon says: {err}");
        return Err(ExitCode::from(1));
    }
    Ok((reply, v))
}

/// An aligned text table: a header row and data rows, columns separated
/// by two spaces; numeric columns are right-aligned.
struct Table {
    head: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&'static str]) -> Table {
        Table {
            head: head.to_vec(),
            right: head.iter().map(|_| false).collect(),
            rows: Vec::new(),
        }
    }

    /// Right-aligns the named columns.
    fn numeric(mut self, cols: &[&str]) -> Table {
        for (h, r) in self.head.iter().zip(self.right.iter_mut()) {
            *r = cols.contains(h);
        }
        self
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self) -> String {
        let mut width: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let head: Vec<String> = self.head.iter().map(|h| h.to_string()).collect();
        for r in std::iter::once(&head).chain(&self.rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                let w = width.get(i).copied().unwrap_or(0);
                if i > 0 {
                    line.push_str("  ");
                }
                if self.right.get(i) == Some(&true) {
                    let _ = write!(line, "{c:>w$}");
                } else {
                    let _ = write!(line, "{c:<w$}");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A JSON value as a table cell: strings bare, null as `-`.
fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn list(v: &Value) -> String {
    match v.as_array() {
        Some(a) if !a.is_empty() => a.iter().map(s).collect::<Vec<_>>().join(", "),
        _ => "-".into(),
    }
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else {
        format!("{m}m{s:02}s")
    }
}

/// Milliseconds ago as seconds with one decimal.
fn ago(ms: &Value) -> String {
    ms.as_u64().map_or("-".into(), |ms| {
        let tenths = ms.saturating_add(50) / 100;
        format!("{}.{}s", tenths / 10, tenths % 10)
    })
}

fn mbit(kbps: &Value) -> String {
    kbps.as_u64().map_or("-".into(), |k| {
        let frac = format!("{:03}", k % 1000);
        match frac.trim_end_matches('0') {
            "" => format!("{}", k / 1000),
            f => format!("{}.{f}", k / 1000),
        }
    })
}

/// The zero-config lines of `roost status` (nothing when it is off).
fn render_zeroconf(o: &mut String, z: &Value) {
    if !z.is_object() {
        return;
    }
    let _ = writeln!(
        o,
        "zero-config  site {} {} (/{} LANs), MAC {}, node id {}",
        s(&z["site6"]),
        s(&z["site4"]),
        s(&z["lan4_length"]),
        s(&z["mac"]),
        s(&z["node_id"])
    );
    let used = if z["originator_derived"].as_bool() == Some(true) {
        "in use"
    } else {
        "unused: explicit originator"
    };
    let _ = writeln!(
        o,
        "  derived    originator {} ({used}, attempt {}), LAN {} (attempt {})",
        s(&z["derived_originator"]),
        s(&z["originator_attempt"]),
        list(&z["lan"]),
        s(&z["attempt"])
    );
    let d = &z["last_duplicate"];
    let dup = if d.is_object() {
        format!(
            "{}, last: {} {} also claimed by {} ({})",
            s(&z["duplicates"]),
            s(&d["kind"]),
            s(&d["what"]),
            s(&d["other"]),
            if d["gave_way"].as_bool() == Some(true) {
                "we gave way"
            } else {
                "it gives way"
            }
        )
    } else {
        "none".to_string()
    };
    let _ = writeln!(o, "  duplicates {dup}");
}

pub fn render_status(v: &Value) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "roost {}, up {}",
        s(&v["version"]),
        duration(v["uptime_s"].as_u64().unwrap_or(0))
    );
    let _ = writeln!(o, "originator   {}", s(&v["originator"]));
    let _ = writeln!(o, "hostname     {}", s(&v["hostname"]));
    let _ = writeln!(o, "announces    {}", list(&v["announced"]));
    let g = &v["gateway"];
    let role = if g["serving"].as_bool() == Some(true) {
        "offering this node's uplink".to_string()
    } else if g["selected"].is_string() {
        format!("using {}", s(&g["selected"]))
    } else {
        "no gateway".to_string()
    };
    let _ = writeln!(o, "gateway      {} ({role})", s(&g["mode"]));
    render_zeroconf(&mut o, &v["zeroconf"]);
    let ifs: Vec<String> = items(&v["mesh_interfaces"])
        .iter()
        .map(|i| format!("{} ({})", s(&i["name"]), s(&i["state"])))
        .collect();
    let _ = writeln!(o, "interfaces   {}", ifs.join(", "));
    let _ = writeln!(
        o,
        "neighbours   {}\noriginators  {} ({} routed)",
        s(&v["neighbours"]),
        s(&v["originators"]),
        s(&v["routed"])
    );
    let c = &v["counters"];
    let _ = writeln!(
        o,
        "packets      in {} ({} B), out {} ({} B), dropped {}",
        s(&c["rx_packets"]),
        s(&c["rx_bytes"]),
        s(&c["tx_packets"]),
        s(&c["tx_bytes"]),
        s(&c["dropped_total"])
    );
    if let Some(d) = c["dropped"].as_object() {
        for (reason, n) in d {
            let _ = writeln!(o, "  dropped {reason}: {}", s(n));
        }
    }
    let k = &v["kernel"];
    let _ = writeln!(
        o,
        "kernel       table {} proto {}: {} desired, {} installed, {} pending, {}",
        s(&k["table"]),
        s(&k["protocol"]),
        s(&k["desired"]),
        s(&k["installed"]),
        s(&k["pending"]),
        if k["in_sync"].as_bool() == Some(true) {
            "in sync"
        } else {
            "NOT in sync"
        }
    );
    for f in items(&k["failing"]) {
        let _ = writeln!(
            o,
            "  refused: {} ({}), retry in {} ms",
            s(&f["dst"]),
            s(&f["error"]),
            s(&f["retry_in_ms"])
        );
    }
    o
}

pub fn render_originators(v: &Value) -> String {
    let mut t = Table::new(&[
        "originator",
        "hostname",
        "tq",
        "via",
        "iface",
        "last seen",
        "seqno",
        "announces",
    ])
    .numeric(&["tq", "last seen", "seqno"]);
    for g in items(&v["originators"]) {
        t.row(vec![
            s(&g["originator"]),
            s(&g["hostname"]),
            s(&g["tq"]),
            s(&g["via"]),
            s(&g["iface"]),
            ago(&g["last_seen_ms"]),
            s(&g["seqno"]),
            list(&g["announced"]),
        ]);
        for a in items(&g["alternatives"]) {
            let mark = match (a["best"].as_bool(), a["feasible"].as_bool()) {
                (Some(true), _) => "  * alt",
                (_, Some(false)) => "    alt (infeasible)",
                _ => "    alt",
            };
            t.row(vec![
                mark.into(),
                String::new(),
                s(&a["tq"]),
                s(&a["via"]),
                s(&a["iface"]),
                String::new(),
                s(&a["seqno"]),
                String::new(),
            ]);
        }
    }
    t.render()
}

pub fn render_neighbours(v: &Value) -> String {
    let mut t = Table::new(&[
        "iface",
        "neighbour",
        "originator",
        "hostname",
        "rx",
        "tx",
        "link tq",
        "last seen",
    ])
    .numeric(&["rx", "tx", "link tq", "last seen"]);
    for n in items(&v["neighbours"]) {
        let tq = match n["bidirectional"].as_bool() {
            Some(false) => format!("{} (one-way)", s(&n["link_tq"])),
            _ => s(&n["link_tq"]),
        };
        t.row(vec![
            s(&n["iface"]),
            s(&n["addr"]),
            s(&n["originator"]),
            s(&n["hostname"]),
            s(&n["rx_quality"]),
            s(&n["tx_quality"]),
            tq,
            ago(&n["last_seen_ms"]),
        ]);
    }
    t.render()
}

pub fn render_gateways(v: &Value) -> String {
    let gws = items(&v["gateways"]);
    if gws.is_empty() {
        return "no gateways known\n".into();
    }
    let mut t = Table::new(&[
        " ",
        "gateway",
        "hostname",
        "tq",
        "down Mbit/s",
        "up Mbit/s",
        "via",
        "iface",
    ])
    .numeric(&["tq", "down Mbit/s", "up Mbit/s"]);
    for g in gws {
        let mark = if g["selected"].as_bool() == Some(true) {
            "*"
        } else {
            " "
        };
        t.row(vec![
            mark.to_string(),
            s(&g["originator"]),
            s(&g["hostname"]),
            s(&g["tq"]),
            mbit(&g["down_kbps"]),
            mbit(&g["up_kbps"]),
            s(&g["via"]),
            s(&g["iface"]),
        ]);
    }
    t.render()
}

pub fn render_routes(v: &Value) -> String {
    let mut t = Table::new(&[
        "destination",
        "state",
        "via",
        "iface",
        "kernel",
        "originator",
    ]);
    let hop = |h: &Value| {
        format!(
            "{} dev {} metric {}",
            s(&h["via"]),
            s(&h["iface"]),
            s(&h["metric"])
        )
    };
    for r in items(&v["routes"]) {
        let want = &r["want"];
        let kernel: Vec<String> = items(&r["kernel"]).iter().map(hop).collect();
        let kernel = match r["state"].as_str() {
            Some("ok") => "installed".into(),
            _ if kernel.is_empty() => "-".into(),
            _ => kernel.join("; "),
        };
        t.row(vec![
            s(&r["dst"]),
            s(&r["state"]),
            s(&want["via"]),
            s(&want["iface"]),
            kernel,
            s(&r["originator"]),
        ]);
    }
    let mut out = format!(
        "table {} proto {}: {} routes, {}\n",
        s(&v["table"]),
        s(&v["protocol"]),
        items(&v["routes"]).len(),
        if v["in_sync"].as_bool() == Some(true) {
            "kernel matches"
        } else {
            "kernel DIFFERS"
        }
    );
    if let Some(e) = v["kernel_error"].as_str() {
        let _ = writeln!(out, "cannot read the kernel table: {e}");
    }
    out + &t.render()
}

pub fn render_interfaces(v: &Value) -> String {
    let mut t = Table::new(&[
        "iface",
        "state",
        "kind",
        "link-local",
        "hello ms",
        "neighbours",
    ])
    .numeric(&["hello ms", "neighbours"]);
    for i in items(&v["interfaces"]) {
        t.row(vec![
            s(&i["name"]),
            s(&i["state"]),
            s(&i["kind"]),
            s(&i["link_local"]),
            s(&i["hello_interval_ms"]),
            s(&i["neighbours"]),
        ]);
    }
    t.render()
}

/// A readable map: one line per node with its links.
pub fn render_topology(t: &Value) -> String {
    let mut out = String::new();
    let nodes = items(&t["nodes"]);
    let links = items(&t["links"]);
    let _ = writeln!(out, "{} nodes, {} links", nodes.len(), links.len());
    for n in nodes {
        let id = s(&n["originator"]);
        let name = n["hostname"].as_str().unwrap_or("-");
        let mark = if n["local"].as_bool() == Some(true) {
            " (this node)"
        } else if n["reachable"].as_bool() == Some(false) {
            " (unreachable)"
        } else {
            ""
        };
        let _ = writeln!(out, "{id}  {name}{mark}");
        for l in links.iter().filter(|l| l["source"] == n["originator"]) {
            let _ = writeln!(out, "    -> {}  tq {}", s(&l["target"]), s(&l["tq"]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn renderers_survive_odd_input() {
        for f in [
            render_status,
            render_originators,
            render_neighbours,
            render_gateways,
            render_routes,
            render_interfaces,
            render_topology,
        ] {
            let _ = f(&Value::Null);
            let _ = f(&v(r#"{"originators":[1,{"tq":"x"}],"routes":7}"#));
        }
    }

    #[test]
    fn requests() {
        assert_eq!(request("status", &[], false), r#"{"cmd":"status"}"#);
        let r = request("originators", &[("originator", Some("a\"b"))], true);
        assert_eq!(
            v(&r),
            json!({"cmd": "originators", "originator": "a\"b", "alternatives": true})
        );
        assert_eq!(
            request("neighbours", &[("interface", None)], false),
            r#"{"cmd":"neighbours"}"#
        );
    }

    #[test]
    fn seconds_and_mbits() {
        assert_eq!(ago(&v("649")), "0.6s");
        assert_eq!(ago(&v("650")), "0.7s");
        assert_eq!(ago(&v("61949")), "61.9s");
        assert_eq!(ago(&v("0")), "0.0s");
        assert_eq!(ago(&v("null")), "-");
        assert_eq!(mbit(&v("1500")), "1.5");
        assert_eq!(mbit(&v("1234")), "1.234");
        assert_eq!(mbit(&v("50000")), "50");
        assert_eq!(mbit(&v("5")), "0.005");
    }

    #[test]
    fn status_summary() {
        let out = render_status(&v(r#"{"version":"0.1.0","uptime_s":3725,
            "originator":"fd00::1","hostname":"a","announced":["10.0.0.0/24"],
            "mesh_interfaces":[{"name":"eth0","ifindex":2,"state":"up"}],
            "neighbours":1,"originators":3,"routed":2,
            "counters":{"rx_packets":10,"rx_bytes":900,"tx_packets":5,"tx_bytes":400,
              "dropped":{"bad_header":2},"dropped_total":2},
            "kernel":{"table":76,"protocol":77,"desired":2,"installed":2,"pending":0,"in_sync":true,"failing":[]}}"#));
        assert!(out.contains("up 1h02m05s"), "{out}");
        assert!(out.contains("eth0 (up)"), "{out}");
        assert!(out.contains("3 (2 routed)"), "{out}");
        assert!(out.contains("dropped bad_header: 2"), "{out}");
        assert!(out.contains("in sync"), "{out}");
        assert!(!out.contains("zero-config"), "{out}");
    }

    #[test]
    fn status_zeroconf() {
        let out = render_status(&v(
            r#"{"version":"0.1.0","uptime_s":5,"originator":"fd77::1",
            "zeroconf":{"site6":"fd77:1234:5678::/48","site4":"10.0.0.0/8","lan4_length":24,
              "mac":"02:11:22:33:44:55","node_id":"00112233aabbccdd",
              "derived_originator":"fd77:1234:5678:0:11:22ff:fe33:4455","originator_derived":true,
              "lan":["fd77:1234:5678:3d6::/64","10.3.214.0/24"],"routers":[],
              "originator_attempt":1,"attempt":2,"duplicates":1,
              "last_duplicate":{"kind":"originator","what":"fd77::9","other":"0102030405060708","gave_way":true}}}"#,
        ));
        assert!(out.contains("zero-config  site fd77:1234:5678::/48 10.0.0.0/8 (/24 LANs), MAC 02:11:22:33:44:55"), "{out}");
        assert!(out.contains("originator fd77:1234:5678:0:11:22ff:fe33:4455 (in use, attempt 1), LAN fd77:1234:5678:3d6::/64, 10.3.214.0/24 (attempt 2)"), "{out}");
        assert!(out.contains("duplicates 1, last: originator fd77::9 also claimed by 0102030405060708 (we gave way)"), "{out}");
    }

    #[test]
    fn tables_align() {
        let out = render_originators(&v(r#"{"originators":[
            {"originator":"fd00::2","hostname":"b","tq":255,"via":"fe80::2","iface":"m2","last_seen_ms":1200,"seqno":7,"announced":[]},
            {"originator":"fd00::33","hostname":null,"tq":17,"via":null,"iface":null,"last_seen_ms":10,"seqno":70000,"announced":["10.0.0.0/8"],
             "alternatives":[{"via":"fe80::9","iface":"m9","tq":17,"seqno":70000,"feasible":true,"best":true}]}]}"#));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(lines[0].starts_with("originator"), "{out}");
        // The tq column is right-aligned: both values end at the same column.
        let end = |l: &str, pat: &str| l.find(pat).map(|i| i + pat.len());
        assert_eq!(end(lines[1], "255"), end(lines[2], " 17"), "{out}");
        assert!(lines[3].contains("* alt"), "{out}");
        assert!(
            lines[2].contains("1.2s") || lines[1].contains("1.2s"),
            "{out}"
        );
    }

    #[test]
    fn routes_table() {
        let out = render_routes(&v(
            r#"{"table":76,"protocol":77,"in_sync":false,"kernel_error":null,"routes":[
            {"dst":"10.0.0.2/32","state":"ok","originator":"fd00::2","want":{"via":"fe80::2","iface":"m2","metric":100},"kernel":[{"via":"fe80::2","iface":"m2","metric":100}]},
            {"dst":"10.0.0.3/32","state":"missing","originator":"fd00::3","want":{"via":"fe80::2","iface":"m2","metric":100},"kernel":[]},
            {"dst":"10.9.0.0/16","state":"extra","originator":null,"want":null,"kernel":[{"via":"fe80::7","iface":"m7","metric":5}]}]}"#,
        ));
        assert!(out.contains("kernel DIFFERS"), "{out}");
        assert!(out.contains("installed"), "{out}");
        assert!(out.contains("fe80::7 dev m7 metric 5"), "{out}");
    }
}
