//! `roost status`: asks the daemon over the control socket and prints a
//! readable summary (or the raw JSON with `--json`).

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{StatusArgs, TopologyArgs};
use roost::linux::control;

pub fn main(args: &StatusArgs) -> ExitCode {
    let (reply, v) = match query(&args.control_socket, r#"{"cmd":"status"}"#) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.json {
        println!("{reply}");
    } else {
        print!("{}", render(&v));
    }
    ExitCode::SUCCESS
}

/// `roost topology`: nodes and links of the whole mesh, as a table, the
/// daemon's JSON (`--json`) or NetJSON (`--netjson`).
pub fn topology(args: &TopologyArgs) -> ExitCode {
    let req = if args.netjson {
        r#"{"cmd":"topology","format":"netjson"}"#
    } else {
        r#"{"cmd":"topology"}"#
    };
    let (reply, v) = match query(&args.control_socket, req) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.json || args.netjson {
        println!("{reply}");
    } else {
        print!("{}", render_topology(&v["topology"]));
    }
    ExitCode::SUCCESS
}

/// Sends one request to the daemon; returns the raw reply and its JSON, or
/// the exit code after saying what went wrong (no daemon, a bad reply, or
/// an error reply).
fn query(path: &std::path::Path, req: &str) -> Result<(String, Value), ExitCode> {
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

/// A readable map: one line per node with its links.
pub fn render_topology(t: &Value) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    let nodes = t["nodes"].as_array().unwrap_or(&empty);
    let links = t["links"].as_array().unwrap_or(&empty);
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

/// The readable summary.
pub fn render(v: &Value) -> String {
    let mut o = String::new();
    let st = &v["status"];
    let _ = writeln!(
        o,
        "roost {}, up {}",
        s(&v["version"]),
        duration(v["uptime_s"].as_u64().unwrap_or(0))
    );
    let _ = writeln!(o, "originator  {}", s(&st["originator"]));
    let _ = writeln!(o, "announces   {}", list(&st["announced"]));
    let ifname = |idx: &Value| -> String {
        st["interfaces"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["ifindex"] == *idx))
            .map_or_else(|| format!("#{}", s(idx)), |i| s(&i["name"]))
    };
    let _ = writeln!(o, "\ninterfaces:");
    for i in v["mesh_interfaces"].as_array().into_iter().flatten() {
        let name = s(&i["name"]);
        let detail = st["interfaces"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["name"] == i["name"]));
        match detail {
            Some(d) => {
                let _ = writeln!(
                    o,
                    "  {name:<12} {:<8} {} {}, hello {} ms, {} neighbours",
                    s(&i["state"]),
                    s(&d["kind"]),
                    s(&d["link_local"]),
                    s(&d["hello_interval_ms"]),
                    s(&d["neighbours"])
                );
            }
            None => {
                let _ = writeln!(o, "  {name:<12} {}", s(&i["state"]));
            }
        }
    }
    let neighbours = st["neighbours"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\nneighbours: {}", neighbours.len());
    for n in &neighbours {
        let _ = writeln!(
            o,
            "  {:<26} {:<10} rx {:>3} tx {:>3} tq {:>3}{} originator {}",
            s(&n["addr"]),
            ifname(&n["ifindex"]),
            s(&n["rx_quality"]),
            s(&n["tx_quality"]),
            s(&n["link_tq"]),
            if n["bidirectional"].as_bool() == Some(true) {
                ""
            } else {
                " (one-way)"
            },
            s(&n["originator"])
        );
    }
    let origs = st["originators"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(o, "\noriginators: {}", origs.len());
    for g in &origs {
        let host = match &g["hostname"] {
            Value::String(h) => format!(" ({h})"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  {}{host} via {} on {} tq {} seqno {} announces {}",
            s(&g["originator"]),
            s(&g["via"]),
            ifname(&g["ifindex"]),
            s(&g["tq"]),
            s(&g["seqno"]),
            list(&g["announced"])
        );
    }
    let k = &v["kernel"];
    let _ = writeln!(
        o,
        "\nkernel table {} (proto {}): {} desired, {} installed, {} pending, {}",
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
    for f in k["failing"].as_array().into_iter().flatten() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_without_panicking_on_odd_input() {
        let _ = render(&Value::Null);
        let v: Value = serde_json::from_str(
            r#"{"version":"0.1.0","uptime_s":3725,"mesh_interfaces":[{"name":"eth0","ifindex":2,"state":"up"}],
            "status":{"originator":"fd00::1","announced":["10.0.0.0/24"],
              "interfaces":[{"ifindex":2,"name":"eth0","kind":"wired","link_local":"fe80::1","hello_interval_ms":750,"neighbours":1}],
              "neighbours":[{"ifindex":2,"addr":"fe80::2","originator":null,"rx_quality":250,"tx_quality":240,"link_tq":230,"bidirectional":true}],
              "originators":[]},
            "kernel":{"table":76,"protocol":77,"desired":0,"installed":0,"pending":0,"in_sync":true,"failing":[]}}"#,
        )
        .unwrap();
        let out = render(&v);
        assert!(out.contains("up 1h02m05s"), "{out}");
        assert!(out.contains("fe80::2"), "{out}");
        assert!(out.contains("eth0"), "{out}");
        assert!(out.contains("in sync"), "{out}");
    }
}
