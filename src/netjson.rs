//! NetJSON NetworkGraph (https://netjson.org/rfc.html) of the mesh map.

use serde_json::{json, Value};

use crate::engine::Topology;

/// The map as a NetJSON NetworkGraph: nodes are originators (with their
/// announced prefixes as local addresses, hostname and gateway flag), links
/// are directed and carry the link TQ as their cost (higher is better).
pub fn network_graph(t: &Topology) -> Value {
    let nodes: Vec<Value> = t
        .nodes
        .iter()
        .map(|n| {
            let mut node = json!({
                "id": n.originator.to_string(),
                "local_addresses": n.announced.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                "properties": {
                    "gateway": n.gateway,
                    "reachable": n.reachable,
                    "local": n.local,
                },
            });
            if let Some(h) = &n.hostname {
                node["label"] = json!(h);
                node["properties"]["hostname"] = json!(h);
            }
            node
        })
        .collect();
    let links: Vec<Value> = t
        .links
        .iter()
        .map(|l| {
            json!({
                "source": l.source.to_string(),
                "target": l.target.to_string(),
                "cost": l.tq,
                "properties": { "tq": l.tq },
            })
        })
        .collect();
    json!({
        "type": "NetworkGraph",
        "protocol": "roost",
        "version": env!("CARGO_PKG_VERSION"),
        "metric": "tq",
        "router_id": t.router_id.to_string(),
        "directed": true,
        "nodes": nodes,
        "links": links,
    })
}
