//! `roost metrics`: the status reply in the Prometheus text exposition
//! format (version 0.0.4), for a node_exporter textfile collector or any
//! scraper. Metric names are stable; see docs/CLI.md.

use std::fmt::Write as _;

use serde_json::Value;

/// Escapes a label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    /// One metric family: HELP, TYPE and its samples (`labels`, value).
    fn family(&mut self, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(self.0, "{name}{labels} {v}");
        }
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, v: &Value) {
        if let Some(v) = v.as_u64() {
            self.family(name, kind, help, &[(String::new(), v)]);
        }
    }
}

/// `roost_up 0` only: the daemon did not answer.
pub fn down() -> String {
    let mut o = Out(String::new());
    o.family(
        "roost_up",
        "gauge",
        "Whether the daemon answered.",
        &[(String::new(), 0)],
    );
    o.0
}

/// Renders a status reply (see `docs/CLI.md`).
pub fn render(v: &Value) -> String {
    let mut o = Out(String::new());
    let text = |k: &str| label(v[k].as_str().unwrap_or(""));
    o.family(
        "roost_up",
        "gauge",
        "Whether the daemon answered.",
        &[(String::new(), 1)],
    );
    o.family(
        "roost_info",
        "gauge",
        "Version, originator address and hostname of this node.",
        &[(
            format!(
                "{{version=\"{}\",originator=\"{}\",hostname=\"{}\"}}",
                text("version"),
                text("originator"),
                text("hostname")
            ),
            1,
        )],
    );
    o.one(
        "roost_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
        &v["uptime_s"],
    );
    let c = &v["counters"];
    for (key, name, help) in [
        (
            "rx_packets",
            "roost_rx_packets_total",
            "Datagrams received.",
        ),
        (
            "rx_bytes",
            "roost_rx_bytes_total",
            "UDP payload bytes received.",
        ),
        ("tx_packets", "roost_tx_packets_total", "Datagrams sent."),
        (
            "tx_bytes",
            "roost_tx_bytes_total",
            "UDP payload bytes sent.",
        ),
        (
            "tx_frame_bytes",
            "roost_tx_frame_bytes_total",
            "Ethernet frame bytes sent.",
        ),
        (
            "rx_ogms",
            "roost_rx_ogms_total",
            "Originator messages received.",
        ),
        (
            "tx_ogms",
            "roost_tx_ogms_total",
            "Originator messages sent.",
        ),
    ] {
        o.one(name, "counter", help, &c[key]);
    }
    let dropped: Vec<(String, u64)> = c["dropped"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(r, n)| Some((format!("{{reason=\"{}\"}}", label(r)), n.as_u64()?)))
        .collect();
    o.family(
        "roost_dropped_packets_total",
        "counter",
        "Inputs dropped, by reason.",
        &dropped,
    );
    o.one(
        "roost_neighbours",
        "gauge",
        "Neighbours on all mesh interfaces.",
        &v["neighbours"],
    );
    o.one(
        "roost_originators",
        "gauge",
        "Originators known.",
        &v["originators"],
    );
    o.one(
        "roost_originators_routed",
        "gauge",
        "Originators with a route.",
        &v["routed"],
    );
    let ifs: Vec<(String, u64)> = v["mesh_interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let up = u64::from(i["state"].as_str() == Some("up"));
            (
                format!(
                    "{{interface=\"{}\"}}",
                    label(i["name"].as_str().unwrap_or(""))
                ),
                up,
            )
        })
        .collect();
    o.family(
        "roost_interface_up",
        "gauge",
        "Whether a configured mesh interface is in use.",
        &ifs,
    );
    let k = &v["kernel"];
    o.one(
        "roost_kernel_routes_desired",
        "gauge",
        "Routes the engine wants.",
        &k["desired"],
    );
    o.one(
        "roost_kernel_routes_installed",
        "gauge",
        "Routes in the kernel table.",
        &k["installed"],
    );
    o.one(
        "roost_kernel_routes_pending",
        "gauge",
        "Route requests awaiting the kernel.",
        &k["pending"],
    );
    if let Some(f) = k["failing"].as_array() {
        o.family(
            "roost_kernel_routes_failing",
            "gauge",
            "Routes the kernel refused (being retried).",
            &[(String::new(), f.len() as u64)],
        );
    }
    if let Some(b) = k["in_sync"].as_bool() {
        o.family(
            "roost_kernel_in_sync",
            "gauge",
            "Whether the kernel table matches the engine.",
            &[(String::new(), u64::from(b))],
        );
    }
    o.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition() {
        let v: Value = serde_json::from_str(
            r#"{"version":"0.1.0","uptime_s":12,"originator":"fd00::1","hostname":"a\"b",
            "mesh_interfaces":[{"name":"m2","state":"up"},{"name":"m3","state":"missing"}],
            "neighbours":1,"originators":3,"routed":2,
            "counters":{"rx_packets":10,"dropped":{"bad_header":2}},
            "kernel":{"desired":2,"installed":2,"pending":0,"in_sync":true,"failing":[]}}"#,
        )
        .unwrap();
        let out = render(&v);
        for want in [
            "roost_up 1\n",
            "roost_info{version=\"0.1.0\",originator=\"fd00::1\",hostname=\"a\\\"b\"} 1\n",
            "# TYPE roost_rx_packets_total counter\nroost_rx_packets_total 10\n",
            "roost_dropped_packets_total{reason=\"bad_header\"} 2\n",
            "roost_interface_up{interface=\"m3\"} 0\n",
            "roost_kernel_in_sync 1\n",
            "roost_originators_routed 2\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        // Every sample line is `name[{labels}] value`.
        for l in out.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = l.rsplit_once(' ').unwrap();
            assert!(name.starts_with("roost_"), "{l}");
            value.parse::<u64>().unwrap();
        }
        assert_eq!(
            down(),
            "# HELP roost_up Whether the daemon answered.\n# TYPE roost_up gauge\nroost_up 0\n"
        );
    }
}
