//! The OpenWrt feed against live daemons in network namespaces:
//!
//! * `default_config_and_rpcd`: the shipped /etc/config/roost, with only
//!   the mesh interface names (and each router's LAN prefix, as its
//!   comments ask) adapted, runs a 3-node chain: the daemons accept it,
//!   route, and announce the LAN; the rpcd exec plugin (run with `sh`, as
//!   rpcd runs it) answers `list` and every `call` with valid JSON from a
//!   live daemon, and an error object without one;
//! * `mesh_map_in_chromium`: the LuCI app's standalone map module, served
//!   (inside a node's namespace) with live NetJSON from a 6-node mesh,
//!   rendered by headless Chromium: the drawn nodes, links, gateway marks
//!   and local node match the topology; the screenshot is kept at
//!   target/openwrt-test/meshmap.png.
//!
//! Needs root (and `chromium`, installed by scripts/setup.sh, for the map).
//! Without them the tests print a notice and pass, unless `CI=true`, where
//! they fail loudly. Namespaces and processes are this test's own
//! (tests/common/mesh.rs) and are removed on success and failure.

mod common;
use common::have_root;
use common::mesh::*;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const FEED: &str = "openwrt-feed/net/roost/files";
const RPCD_METHODS: [&str; 7] = [
    "status",
    "originators",
    "neighbours",
    "gateways",
    "routes",
    "interfaces",
    "topology",
];

/// The shipped default config for node `n` of a test mesh: the disabled
/// `mesh0` section becomes one enabled section per interface in `ifaces`,
/// and the LAN `192.168.1.0/24` becomes `192.168.<n>.0/24`. Nothing else
/// changes.
fn adapted_default_config(n: u8, ifaces: &[String]) -> String {
    let text = std::fs::read_to_string(repo().join(FEED).join("roost.config")).unwrap();
    let section = "config interface 'mesh0'\n\toption ifname 'mesh0'\n\toption type 'wireless'\n\toption disabled '1'\n";
    assert!(text.contains(section), "default config: no mesh0 section");
    let adapted: String = ifaces
        .iter()
        .map(|i| {
            section
                .replace("'mesh0'", &format!("'{i}'"))
                .replace("disabled '1'", "disabled '0'")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let lan = "list announce '192.168.1.0/24'";
    assert!(text.contains(lan), "default config announces no LAN");
    text.replace(section, &adapted)
        .replace(lan, &format!("list announce '192.168.{n}.0/24'"))
}

/// `sh roost.rpcd ARGS` with the plugin's environment pointing at `sock`.
fn rpcd(sock: &Path, args: &[&str]) -> Value {
    let out = Command::new("sh")
        .arg(repo().join(FEED).join("roost.rpcd"))
        .args(args)
        .env("ROOST_BIN", BIN)
        .env("ROOST_CONTROL_SOCKET", sock)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "rpcd plugin {args:?}: {out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "rpcd plugin {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(v.is_object(), "rpcd plugin {args:?}: not an object: {v}");
    v
}

fn table76(node: &Node) -> String {
    node.ns
        .ip_lenient(&["-4", "route", "show", "table", "76", "proto", "77"])
}

#[test]
fn default_config_and_rpcd() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("owrt", 3);
    m.link(1, 2);
    m.link(2, 3);
    for n in 1..=3u8 {
        let ifaces: Vec<String> = [n.wrapping_sub(1), n + 1]
            .into_iter()
            .filter(|p| (1..=3).contains(p))
            .map(|p| format!("m{p}"))
            .collect();
        let path = m.dir.0.join(format!("n{n}.config"));
        std::fs::write(&path, adapted_default_config(n, &ifaces)).unwrap();
        m.node_mut(n).extra = vec!["-c".into(), path.to_str().unwrap().into()];
    }
    m.start_all();
    // The config is accepted and used: both ends route to each other's
    // LAN, announced from the config file.
    wait_until(
        "node 1 routes to node 3's LAN",
        Duration::from_secs(30),
        || table76(m.node(1)).contains("192.168.3.0/24"),
    );
    wait_until(
        "node 3 routes to node 1's LAN",
        Duration::from_secs(30),
        || table76(m.node(3)).contains("192.168.1.0/24"),
    );
    let st = m.node(2).status_json();
    let ifs: BTreeSet<&str> = st["mesh_interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "up")
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(ifs, BTreeSet::from(["m1", "m3"]), "{st}");
    assert!(
        st["announced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "192.168.2.0/24"),
        "{st}"
    );

    // The rpcd plugin, as rpcd runs it.
    let sock = &m.node(1).sock;
    let list = rpcd(sock, &["list"]);
    let methods: BTreeSet<&str> = list
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(methods, BTreeSet::from(RPCD_METHODS), "{list}");
    for meth in RPCD_METHODS {
        let v = rpcd(sock, &["call", meth]);
        assert!(v.get("error").is_none(), "call {meth}: {v}");
        eprintln!("rpcd call {meth}: {} bytes of JSON", v.to_string().len());
    }
    let st = rpcd(sock, &["call", "status"]);
    assert_eq!(st["originator"], m.node(1).status_json()["originator"]);
    let o = rpcd(sock, &["call", "originators"]);
    assert_eq!(o["originators"].as_array().unwrap().len(), 2, "{o}");
    let nb = rpcd(sock, &["call", "neighbours"]);
    assert_eq!(nb["neighbours"].as_array().unwrap().len(), 1, "{nb}");
    assert!(rpcd(sock, &["call", "gateways"])["gateways"].is_array());
    assert!(rpcd(sock, &["call", "routes"])["routes"].is_array());
    assert!(rpcd(sock, &["call", "interfaces"])["interfaces"].is_array());
    let topo = rpcd(sock, &["call", "topology"]);
    assert_eq!(topo["type"], "NetworkGraph", "{topo}");
    assert_eq!(topo["nodes"].as_array().unwrap().len(), 3, "{topo}");

    // No daemon: an error object (valid JSON), not garbage.
    let none = m.dir.0.join("nothing.sock");
    for meth in RPCD_METHODS {
        let v = rpcd(&none, &["call", meth]);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    let v = rpcd(sock, &["call", "no_such_method"]);
    assert!(v["error"].is_string(), "{v}");
}

/// Edges of the map test mesh: a chain 1–6 with a shortcut 2–5.
const EDGES: [(u8, u8); 6] = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (2, 5)];

fn have_chromium() -> bool {
    Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The value of attribute `name` in the start tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    let rest = &tag[i..];
    Some(&rest[..rest.find('"')?])
}

/// The start tags of elements with class `class` in `dom`.
fn tags<'a>(dom: &'a str, class: &str) -> Vec<&'a str> {
    let key = format!("class=\"{class}\"");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = dom[from..].find(&key) {
        let at = from + i;
        let start = dom[..at].rfind('<').unwrap();
        let end = at + dom[at..].find('>').unwrap();
        out.push(&dom[start..=end]);
        from = end;
    }
    out
}

/// Headless Chromium inside `ns`, on the test page; `what` is
/// `--dump-dom` or `--screenshot=FILE`.
fn chromium(ns: &str, profile: &Path, url: &str, what: &str) -> String {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "chromium",
            "--headless",
            "--no-sandbox",
        ])
        .args(["--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args([
            "--window-size=800,560",
            "--virtual-time-budget=10000",
            what,
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn mesh_map_in_chromium() {
    if !have_root() {
        return;
    }
    if !have_chromium() {
        let msg = "chromium is missing: run `. scripts/setup.sh; roost_test_tools`";
        assert!(!ci(), "{msg}");
        eprintln!("NOTICE: skipping mesh_map_in_chromium: {msg}");
        return;
    }
    let mut m = Mesh::new("owrtmap", 6);
    for (a, b) in EDGES {
        m.connect(a, b);
    }
    // A gateway to mark.
    m.node_mut(6).extra = vec!["--gateway".into(), "server".into()];
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    // Node 1 knows the whole map: 6 nodes, 2 directed links per edge (the
    // neighbour lists ride on the first own OGMs).
    wait_until(
        "node 1 knows the whole map",
        Duration::from_secs(40),
        || {
            let g = m.node(1).netjson();
            g["nodes"].as_array().map(|n| n.len()) == Some(6)
                && g["links"].as_array().map(|l| l.len()) == Some(12)
                && g["nodes"].to_string().contains("\"gateway\":true")
        },
    );

    // The site: the map module and the LuCI views, as the package installs
    // them, a test page, and live /topology.json.
    let site = m.dir.0.join("www");
    let res = repo().join("openwrt-feed/luci/luci-app-roost/htdocs/luci-static/resources");
    std::fs::create_dir_all(site.join("view/roost")).unwrap();
    std::fs::copy(res.join("roost/meshmap.js"), site.join("meshmap.js")).unwrap();
    for v in ["status", "map", "settings"] {
        let f = format!("view/roost/{v}.js");
        std::fs::copy(res.join(&f), site.join(&f)).unwrap();
    }
    std::fs::copy(
        repo().join("tests/openwrt/map.html"),
        site.join("index.html"),
    )
    .unwrap();
    let node = m.node(1);
    let _server = Proc(
        Command::new("ip")
            .args(["netns", "exec", &node.ns.name, "python3"])
            .arg(repo().join("tests/openwrt/mapserve.py"))
            .arg(&site)
            .args(["8076", BIN])
            .arg(&node.sock)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = "http://127.0.0.1:8076/index.html";
    let profile = m.dir.0.join("chromium-profile");

    // Retried while the server starts.
    let t0 = Instant::now();
    let dom = loop {
        let dom = chromium(&node.ns.name, &profile, url, "--dump-dom");
        if dom.contains("data-state=\"drawn\"") && dom.contains("data-views=\"") {
            break dom;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the map was not drawn: {dom}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        dom.contains("data-views=\"compiled: status map settings\""),
        "LuCI views: {}",
        dom.lines().find(|l| l.contains("data-views")).unwrap_or("")
    );
    let served: Value =
        serde_json::from_slice(&std::fs::read(site.join("served.json")).unwrap()).unwrap();

    // Nodes: the topology's, with their gateway flags; the local node is
    // node 1.
    let want_nodes: BTreeSet<(String, bool, bool)> = served["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap().to_string();
            let local = id == served["router_id"].as_str().unwrap();
            (id, n["properties"]["gateway"] == true, local)
        })
        .collect();
    let drawn_nodes: BTreeSet<(String, bool, bool)> = tags(&dom, "roost-node")
        .iter()
        .map(|t| {
            (
                attr(t, "data-id").unwrap().to_string(),
                attr(t, "data-gateway") == Some("true"),
                attr(t, "data-local") == Some("true"),
            )
        })
        .collect();
    assert_eq!(drawn_nodes, want_nodes, "drawn nodes");
    assert_eq!(drawn_nodes.len(), 6);
    assert_eq!(
        drawn_nodes.iter().filter(|n| n.2).count(),
        1,
        "one local node"
    );
    assert_eq!(
        drawn_nodes.iter().filter(|n| n.1).count(),
        1,
        "node 6 is a gateway"
    );
    // Links: one per edge of the topology, with the weaker direction's TQ.
    let mut want_links = std::collections::BTreeMap::<(String, String), u64>::new();
    for l in served["links"].as_array().unwrap() {
        let (s, t) = (l["source"].as_str().unwrap(), l["target"].as_str().unwrap());
        let key = if s < t { (s, t) } else { (t, s) };
        let tq = l["cost"].as_u64().unwrap();
        let e = want_links
            .entry((key.0.to_string(), key.1.to_string()))
            .or_insert(tq);
        *e = (*e).min(tq);
    }
    let drawn_links: std::collections::BTreeMap<(String, String), u64> = tags(&dom, "roost-link")
        .iter()
        .map(|t| {
            (
                (
                    attr(t, "data-source").unwrap().to_string(),
                    attr(t, "data-target").unwrap().to_string(),
                ),
                attr(t, "data-tq").unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(drawn_links, want_links, "drawn links");
    assert_eq!(drawn_links.len(), EDGES.len());
    // Every link's colour is its TQ's.
    for t in tags(&dom, "roost-link") {
        let tq: u32 = attr(t, "data-tq").unwrap().parse().unwrap();
        let hue = (120 * tq + 127) / 255;
        assert_eq!(
            attr(t, "stroke"),
            Some(format!("hsl({hue},85%,40%)").as_str()),
            "{t}"
        );
    }
    // Gateway marks: the same graph with node 6 flagged as a gateway draws
    // one square.
    assert!(
        dom.contains("data-gwcheck=\"1\""),
        "gateway mark: {}",
        dom.lines()
            .find(|l| l.contains("data-gwcheck"))
            .unwrap_or("")
    );
    assert!(dom.contains("data-nodes=\"6\"") && dom.contains("data-links=\"6\""));

    // The screenshot, kept as a test artifact with the DOM and the graph.
    let art = repo().join("target/openwrt-test");
    std::fs::create_dir_all(&art).unwrap();
    let png = art.join("meshmap.png");
    let _ = std::fs::remove_file(&png);
    chromium(
        &node.ns.name,
        &profile,
        url,
        &format!("--screenshot={}", png.display()),
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 5000, "screenshot {}: {size} bytes", png.display());
    std::fs::write(art.join("meshmap.dom.html"), &dom).unwrap();
    std::fs::write(art.join("meshmap.netjson"), served.to_string()).unwrap();
    let js = std::fs::metadata(res.join("roost/meshmap.js"))
        .unwrap()
        .len();
    eprintln!(
        "mesh map: 6 nodes, {} links drawn; meshmap.js {js} bytes; screenshot {} ({size} bytes)",
        drawn_links.len(),
        png.display()
    );
}
