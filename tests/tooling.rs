//! Operator tooling against a live mesh of six daemons in network
//! namespaces: every query subcommand's JSON parses and agrees with the
//! kernel's routes; the NetJSON map parses with netdiff; the Wireshark
//! dissector decodes a capture of the mesh; garbage, huge lines and many
//! clients on the control socket get error replies and leave routing alone.
//!
//! Needs root, tshark and the netdiff venv (`scripts/setup.sh`,
//! `roost_test_tools`). Without them the test prints a notice and passes,
//! unless `CI=true`, where it fails loudly.

mod common;
use common::mesh::*;
use common::{have_root, have_tshark, tshark_capture, tshark_decode};

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Edges of the test mesh: a chain 1–6 with a shortcut 2–5.
const EDGES: [(u8, u8); 6] = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (2, 5)];

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The venv python with netdiff, if set up.
fn netdiff_python() -> Option<PathBuf> {
    let p = std::env::var_os("ROOST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py-venv/bin/python3"),
        PathBuf::from,
    );
    let ok = Command::new(&p)
        .args(["-c", "import netdiff"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(p)
}

/// `roost <args> --json` on node `n`, parsed.
fn query(node: &Node, args: &[&str]) -> Value {
    let out = roost(node, args, true);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("roost {args:?}: {e}: {out}"))
}

/// `roost <args>` on node `n`: its stdout (it must succeed).
fn roost(node: &Node, args: &[&str], json: bool) -> String {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &node.ns.name, BIN])
        .args(args)
        .args(["--control-socket", node.sock.to_str().unwrap()]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "roost {args:?} on node {}: {}",
        node.n,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The node's kernel routes in table 76: destination → (via, dev).
fn kernel_routes(node: &Node) -> BTreeMap<String, (String, String)> {
    node.routes()
        .iter()
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let after = |k: &str| {
                w.iter()
                    .position(|x| *x == k)
                    .and_then(|i| w.get(i + 1))
                    .map_or(String::new(), |s| s.to_string())
            };
            // IPv4 routes say `via inet6 fe80::…`.
            let via = match after("via").as_str() {
                "inet6" => after("inet6"),
                v => v.to_string(),
            };
            (w[0].to_string(), (via, after("dev")))
        })
        .collect()
}

fn node_of_v6(addr: &str) -> u8 {
    addr.strip_prefix("fd77::").unwrap().parse().unwrap()
}

/// Every subcommand's JSON on one node, checked against its kernel table.
fn check_queries(m: &Mesh, n: u8) {
    let node = m.node(n);
    let kernel = kernel_routes(node);
    let peers: BTreeSet<u8> = EDGES
        .iter()
        .filter_map(|&(a, b)| (a == n).then_some(b).or((b == n).then_some(a)))
        .collect();

    let st = query(node, &["status"]);
    assert_eq!(st["originator"], format!("fd77::{n}"), "{st}");
    assert_eq!(st["hostname"], format!("node{n}"));
    assert_eq!(st["originators"], 5, "{st}");
    assert_eq!(st["routed"], 5, "{st}");
    assert_eq!(st["neighbours"], peers.len(), "{st}");
    assert_eq!(st["kernel"]["in_sync"], true, "{st}");
    assert_eq!(st["kernel"]["installed"], kernel.len(), "{st}");
    assert!(st["counters"]["rx_packets"].as_u64().unwrap() > 0, "{st}");
    assert!(st["counters"]["dropped"].is_object(), "{st}");

    // routes: every kernel route is desired and "ok", and nothing is missing.
    let r = query(node, &["routes"]);
    assert_eq!(r["in_sync"], true, "{r}");
    let routes = r["routes"].as_array().unwrap();
    assert_eq!(routes.len(), kernel.len(), "{r}");
    for rt in routes {
        // `ip route` prints host routes without their length.
        let dst = rt["dst"].as_str().unwrap();
        let dst = dst
            .strip_suffix("/32")
            .or(dst.strip_suffix("/128"))
            .unwrap_or(dst);
        assert_eq!(rt["state"], "ok", "{rt}");
        let (via, dev) = &kernel[dst];
        assert_eq!(rt["want"]["via"], via.as_str(), "{rt}");
        assert_eq!(rt["want"]["iface"], dev.as_str(), "{rt}");
    }

    // originators: each one's next hop is the kernel's for its addresses.
    let o = query(node, &["originators"]);
    let origs = o["originators"].as_array().unwrap();
    assert_eq!(origs.len(), 5, "{o}");
    for g in origs {
        let other = node_of_v6(g["originator"].as_str().unwrap());
        assert_eq!(g["hostname"], format!("node{other}"), "{g}");
        assert!(g["tq"].as_u64().unwrap() > 0, "{g}");
        assert!(g.get("alternatives").is_none(), "{g}");
        for dst in [format!("fd77::{other}"), format!("10.77.0.{other}")] {
            let (via, dev) = &kernel[&dst];
            assert_eq!(g["via"], via.as_str(), "{dst}: {g}");
            assert_eq!(g["iface"], dev.as_str(), "{dst}: {g}");
        }
    }

    // Filters: by address, IPv4-free hostname, with alternatives.
    let far = if n == 6 { 1 } else { 6 };
    let one = query(node, &["o", "-a", "--originator", &format!("fd77::{far}")]);
    let one = one["originators"].as_array().unwrap();
    assert_eq!(one.len(), 1);
    let alts = one[0]["alternatives"].as_array().unwrap();
    assert!(alts.iter().any(|a| a["best"] == true), "{alts:?}");
    let by_name = query(node, &["o", "--originator", &format!("node{far}")]);
    assert_eq!(
        by_name["originators"][0]["originator"],
        format!("fd77::{far}")
    );

    // neighbours: one per link, both ways, on the right interface.
    let nb = query(node, &["neighbours"]);
    let nbs = nb["neighbours"].as_array().unwrap();
    let seen: BTreeSet<u8> = nbs
        .iter()
        .map(|x| {
            assert_eq!(x["bidirectional"], true, "{x}");
            let peer = node_of_v6(x["originator"].as_str().unwrap());
            assert_eq!(x["iface"], format!("m{peer}"), "{x}");
            assert!(x["rx_quality"].as_u64().unwrap() > 200, "{x}");
            assert!(x["tx_quality"].as_u64().unwrap() > 200, "{x}");
            peer
        })
        .collect();
    assert_eq!(seen, peers);
    let first = format!("m{}", peers.first().unwrap());
    let filtered = query(node, &["n", "-i", &first]);
    assert_eq!(filtered["neighbours"].as_array().unwrap().len(), 1);

    // interfaces: all configured, all up.
    let ifs = query(node, &["interfaces"]);
    let names: BTreeSet<String> = ifs["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["state"], "up", "{i}");
            i["name"].as_str().unwrap().to_string()
        })
        .collect();
    let want: BTreeSet<String> = peers.iter().map(|p| format!("m{p}")).collect();
    assert_eq!(names, want);

    // gateways: none in this mesh.
    assert_eq!(query(node, &["gwl"])["gateways"], serde_json::json!([]));

    // The tables: a header and one row per item.
    assert_eq!(roost(node, &["o"], false).lines().count(), 6);
    assert_eq!(roost(node, &["n"], false).lines().count(), 1 + peers.len());
    assert_eq!(roost(node, &["r"], false).lines().count(), 2 + kernel.len());

    // metrics: Prometheus text agreeing with the status.
    let text = roost(node, &["metrics"], false);
    let sample = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    };
    assert_eq!(sample("roost_up"), 1);
    assert_eq!(sample("roost_originators_routed"), 5);
    assert_eq!(sample("roost_kernel_routes_installed"), kernel.len() as u64);
}

/// The NetJSON of node `n` through netdiff's NetJsonParser: node and
/// (directed) link counts.
fn netdiff_counts(python: &Path, m: &Mesh, n: u8) -> (usize, usize) {
    let graph = roost(m.node(n), &["topology", "--netjson"], false);
    let file = m.dir.0.join("graph.json");
    std::fs::write(&file, graph).unwrap();
    let out = Command::new(python)
        .args([
            "-c",
            "import sys\n\
             from netdiff import NetJsonParser\n\
             p = NetJsonParser(file=sys.argv[1], directed=True)\n\
             assert p.protocol == 'roost', p.protocol\n\
             print(p.graph.number_of_nodes(), p.graph.number_of_edges())",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "netdiff: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<usize> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    (v[0], v[1])
}

/// One request line on a fresh connection; the reply line.
fn raw_request(sock: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The daemon may close early (a line too long): later writes may fail.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !out.contains(&b'\n') {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => out.extend_from_slice(&buf[..k]),
        }
    }
    String::from_utf8_lossy(&out).trim().to_string()
}

fn abuse_control_socket(m: &Mesh, n: u8) {
    let node = m.node(n);
    let sock = &node.sock;
    let before = node.routes();
    let err = |reply: &str| -> String {
        let v: Value = serde_json::from_str(reply).unwrap_or_else(|e| panic!("{e}: {reply:?}"));
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {v}"))
            .to_string()
    };
    assert!(err(&raw_request(sock, b"garbage\n")).starts_with("bad request"));
    assert_eq!(
        err(&raw_request(sock, b"{\"cmd\":\"dance\"}\n")),
        "unknown command 'dance'"
    );
    assert_eq!(
        err(&raw_request(sock, b"[1,2]\n")),
        "bad request: not a JSON object"
    );
    assert_eq!(
        err(&raw_request(sock, b"\xff\xfe\n")),
        "request is not UTF-8"
    );
    assert_eq!(
        err(&raw_request(sock, &vec![b'x'; 1 << 20])),
        "request line too long"
    );
    // Deeply nested JSON within the line limit.
    let deep = format!("{}{}\n", "[".repeat(2000), "]".repeat(2000));
    assert!(err(&raw_request(sock, deep.as_bytes())).starts_with("bad request"));

    // Many clients: 40 idle connections, then one that floods requests
    // without reading, while the CLI keeps answering.
    let idle: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(sock).unwrap())
        .collect();
    let mut flood = UnixStream::connect(sock).unwrap();
    flood.set_nonblocking(true).unwrap();
    let req = b"{\"cmd\":\"status\"}\n".repeat(1000);
    let t0 = Instant::now();
    let mut answered = 0;
    while t0.elapsed() < Duration::from_secs(3) {
        let _ = flood.write(&req);
        let st = query(node, &["status"]);
        assert_eq!(st["routed"], 5, "{st}");
        answered += 1;
    }
    eprintln!("control socket: {answered} status queries answered in 3 s beside 40 idle clients and a flooding one");
    assert!(answered >= 10, "only {answered} answers in 3 s");
    drop(idle);
    drop(flood);
    m.routes_exact(n).unwrap();
    assert_eq!(node.routes(), before, "routes changed during the abuse");
}

/// Captures the mesh traffic on node `n`'s interface to node `peer` for a
/// few seconds and decodes it with the dissector.
fn capture_and_dissect(m: &Mesh, n: u8, peer: u8) {
    let node = m.node(n);
    let pcap = m.dir.0.join("mesh.pcap");
    tshark_capture(&node.ns.name, &format!("m{peer}"), 4, &pcap);
    let text = tshark_decode(
        &pcap,
        &[
            "-E",
            "separator=|",
            "-e",
            "roost.version",
            "-e",
            "roost.hello_interval",
            "-e",
            "roost.msg.type",
            "-e",
            "roost.ihu.rxq",
            "-e",
            "roost.ogm.originator",
            "-e",
            "roost.ogm.tq",
        ],
    );
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert!(
        rows.len() >= 8,
        "only {} datagrams decoded:\n{text}",
        rows.len()
    );
    let mut origs = BTreeSet::new();
    let mut ihus = 0;
    for r in &rows {
        assert_eq!(r[0], "1", "version: {r:?}");
        assert_eq!(
            r[1],
            (roost::engine::Params::default().wired.hello_ms / 10).to_string(),
            "hello interval (10 ms units): {r:?}"
        );
        if r[2].split(',').any(|t| t == "1") {
            ihus += 1;
        }
        origs.extend(
            r[4].split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        for tq in r[5].split(',').filter(|s| !s.is_empty()) {
            assert!(tq.parse::<u8>().is_ok(), "tq {tq}");
        }
    }
    assert!(ihus > 0, "no IHU decoded:\n{text}");
    // Over 4 s of 750 ms hellos, every node's OGM floods through (the
    // periodic OGM is every 30 s, but triggered dumps follow the capture's
    // start) – at least the two ends of this link must show.
    for want in [format!("fd77::{n}"), format!("fd77::{peer}")] {
        assert!(
            origs.contains(&want),
            "no OGM of {want} decoded: {origs:?}\n{text}"
        );
    }
    // Hostnames and prefixes in the verbose tree.
    let text = tshark_decode(
        &pcap,
        &[
            "-Y",
            "roost.tlv.hostname",
            "-e",
            "roost.tlv.hostname",
            "-e",
            "roost.tlv.prefix",
        ],
    );
    assert!(
        text.contains(&format!("node{peer}")) && text.contains(&format!("10.77.0.{peer}/32")),
        "hostname/prefix TLVs of node{peer} not decoded:\n{text}"
    );
}

#[test]
fn operator_tooling_six_nodes() {
    if !have_root() {
        return;
    }
    let python = netdiff_python();
    let tshark = have_tshark();
    if python.is_none() || !tshark {
        let msg =
            "tshark or the netdiff venv is missing: run `. scripts/setup.sh; roost_test_tools`";
        assert!(!ci(), "{msg}");
        eprintln!("NOTICE: skipping operator_tooling_six_nodes: {msg}");
        return;
    }
    let mut m = Mesh::new("tool", 6);
    for (a, b) in EDGES {
        m.connect(a, b);
    }
    // Capture from the start, so the first OGMs of every node are in it.
    m.start_all();
    capture_and_dissect(&m, 3, 2);
    let t = m.wait_converged(Duration::from_secs(20));
    eprintln!("6-node mesh converged after {t:?}");
    for n in 1..=6 {
        check_queries(&m, n);
    }
    // Whole-map NetJSON on the two ends: 6 nodes, 2 directed links per edge.
    let python = python.unwrap();
    let t0 = Instant::now();
    loop {
        let counts = (
            netdiff_counts(&python, &m, 1),
            netdiff_counts(&python, &m, 6),
        );
        if counts == ((6, 12), (6, 12)) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "NetJSON node/link counts {counts:?}, want 6 nodes and 12 links"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    abuse_control_socket(&m, 3);
}
