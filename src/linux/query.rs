//! Answers to control-socket requests: one JSON object per request line.
//!
//! The schema is documented in `docs/CLI.md` and only grows: fields are
//! never renamed or removed. Each answer is built from the engine's and the
//! route sync's state at the moment of the request; nothing is cached.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use serde_json::{json, Value};

use super::control::error_reply;
use super::route::{self, KernelRoute, RouteSync};
use crate::config::ROUTE_PROTOCOL;
use crate::engine::{Engine, OriginatorStatus, Status, Time};

/// A configured mesh interface and whether it is in use.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IfaceState {
    pub name: String,
    pub ifindex: Option<u32>,
    pub state: String,
}

/// What a request may look at. Without `route` (a benchmark's engine
/// with no kernel behind it) `status` has no `kernel` part and `routes`
/// is refused.
pub struct Ctx<'a> {
    pub engine: &'a Engine,
    pub route: Option<&'a RouteSync>,
    pub table: u32,
    pub ifaces: Vec<IfaceState>,
    pub now: Time,
    /// The configured gateway mode (`off`, `client`, `server=…`, `auto=…`).
    pub gateway_mode: String,
}

/// The parameters a request may carry besides `cmd`.
struct Request {
    cmd: String,
    originator: Option<String>,
    iface: Option<String>,
    alternatives: bool,
    netjson: bool,
}

fn parse(line: &str) -> Result<Request, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("bad request: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("bad request: not a JSON object".into());
    };
    let text = |k: &str| -> Result<Option<String>, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{k}\" must be a string")),
        }
    };
    let flag = |k: &str| -> Result<bool, String> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(format!("\"{k}\" must be true or false")),
        }
    };
    Ok(Request {
        cmd: text("cmd")?.ok_or("missing \"cmd\"")?,
        originator: text("originator")?,
        iface: text("interface")?,
        alternatives: flag("alternatives")?,
        netjson: text("format")?.as_deref() == Some("netjson"),
    })
}

/// Answers one request line.
pub fn answer(ctx: &Ctx, line: &str) -> String {
    let req = match parse(line) {
        Ok(r) => r,
        Err(e) => return error_reply(&e),
    };
    let v = match req.cmd.as_str() {
        "status" => status(ctx),
        "interfaces" => json!({ "interfaces": interfaces(ctx, &ctx.engine.status(ctx.now)) }),
        "neighbours" => neighbours(ctx, &req),
        "originators" => originators(ctx, &req),
        "gateways" => gateways(ctx),
        "routes" => match ctx.route {
            Some(r) => routes(ctx, r),
            None => return error_reply("no kernel table here"),
        },
        "topology" => {
            let t = ctx.engine.topology();
            if req.netjson {
                crate::netjson::network_graph(&t)
            } else {
                json!({ "topology": t })
            }
        }
        other => return error_reply(&format!("unknown command '{other}'")),
    };
    serde_json::to_string(&v).unwrap_or_else(|e| error_reply(&format!("cannot encode reply: {e}")))
}

fn status(ctx: &Ctx) -> Value {
    let st = ctx.engine.status(ctx.now);
    let routed = st.originators.iter().filter(|o| o.via.is_some()).count();
    let mut counters = serde_json::to_value(&st.counters).unwrap_or(Value::Null);
    if let Some(c) = counters.as_object_mut() {
        c.insert("dropped_total".into(), st.counters.dropped_total().into());
    }
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": ctx.now.millis() / 1000,
        "originator": st.originator,
        "hostname": ctx.engine.hostname(),
        "announced": st.announced,
        "table": ctx.table,
        "protocol": ROUTE_PROTOCOL,
        "mesh_interfaces": ctx.ifaces,
        "neighbours": st.neighbours.len(),
        "originators": st.originators.len(),
        "routed": routed,
        "counters": counters,
        "kernel": ctx.route.map(|r| r.summary(ctx.now)),
        "gateway": gateway_status(ctx),
        "zeroconf": st.zeroconf,
    })
}

/// This node's gateway role and choice.
fn gateway_status(ctx: &Ctx) -> Value {
    let (offer, class, switches) = ctx.engine.gateway_role();
    let plan = ctx.engine.gateway_plan();
    json!({
        "mode": ctx.gateway_mode,
        "class": class.map(|c| c.to_string()),
        "serving": offer.is_some(),
        "offer": gateway_json(offer),
        "selected": ctx.engine.gateway_choice(),
        "selected_via": plan.own.map(|p| p.via),
        "switches": switches,
        "pins": plan.pins.len(),
    })
}

fn iface_name(st: &Status, ifindex: Option<u32>) -> Option<String> {
    let idx = ifindex?;
    st.interfaces
        .iter()
        .find(|i| i.ifindex == idx)
        .map(|i| i.name.clone())
}

fn interfaces(ctx: &Ctx, st: &Status) -> Vec<Value> {
    ctx.ifaces
        .iter()
        .map(|c| {
            let live = st.interfaces.iter().find(|i| i.name == c.name);
            json!({
                "name": c.name,
                "ifindex": c.ifindex,
                "state": c.state,
                "kind": live.map(|i| i.kind),
                "link_local": live.map(|i| i.link_local),
                "hello_interval_ms": live.map(|i| i.hello_interval_ms),
                "max_payload": live.map(|i| i.max_payload),
                "neighbours": live.map_or(0, |i| i.neighbours),
            })
        })
        .collect()
}

fn hostnames(st: &Status) -> BTreeMap<Ipv6Addr, &str> {
    st.originators
        .iter()
        .filter_map(|o| Some((o.originator, o.hostname.as_deref()?)))
        .collect()
}

fn neighbours(ctx: &Ctx, req: &Request) -> Value {
    let st = ctx.engine.status(ctx.now);
    let names = hostnames(&st);
    let list: Vec<Value> = st
        .neighbours
        .iter()
        .filter(|n| req.iface.as_ref().is_none_or(|i| *i == n.iface))
        .map(|n| {
            json!({
                "iface": n.iface,
                "ifindex": n.ifindex,
                "addr": n.addr,
                "originator": n.originator,
                "hostname": n.originator.and_then(|o| names.get(&o)),
                "rx_quality": n.rx_quality,
                "tx_quality": n.tx_quality,
                "link_tq": n.link_tq,
                "bidirectional": n.bidirectional,
                "echoes": n.echoes,
                "last_seen_ms": n.last_seen_ms_ago,
            })
        })
        .collect();
    json!({ "neighbours": list })
}

/// `X` matches an originator by address (any spelling) or hostname.
fn matches(o: &OriginatorStatus, filter: &str) -> bool {
    match filter.parse::<Ipv6Addr>() {
        Ok(a) => a == o.originator,
        Err(_) => match filter.parse::<std::net::Ipv4Addr>() {
            Ok(a) => a.to_ipv6_mapped() == o.originator,
            Err(_) => o.hostname.as_deref() == Some(filter),
        },
    }
}

fn gateway_json(g: Option<(u32, u32)>) -> Value {
    // The TLV carries units of 100 kbit/s.
    g.map_or(
        Value::Null,
        |(down, up)| json!({ "down_kbps": u64::from(down) * 100, "up_kbps": u64::from(up) * 100 }),
    )
}

fn originators(ctx: &Ctx, req: &Request) -> Value {
    let st = ctx.engine.status(ctx.now);
    let list: Vec<Value> = st
        .originators
        .iter()
        .filter(|o| req.originator.as_deref().is_none_or(|f| matches(o, f)))
        .map(|o| {
            let mut v = json!({
                "originator": o.originator,
                "hostname": o.hostname,
                "tq": o.tq,
                "via": o.via,
                "iface": iface_name(&st, o.ifindex),
                "ifindex": o.ifindex,
                "seqno": o.seqno,
                "last_seen_ms": o.last_seen_ms_ago,
                "announced": o.announced,
                "gateway": gateway_json(o.gateway),
            });
            if req.alternatives {
                let alts: Vec<Value> = o
                    .alternatives
                    .iter()
                    .map(|a| {
                        json!({
                            "via": a.via,
                            "iface": iface_name(&st, Some(a.ifindex)),
                            "ifindex": a.ifindex,
                            "tq": a.tq,
                            "seqno": a.seqno,
                            "feasible": a.feasible,
                            "best": o.via == Some(a.via) && o.ifindex == Some(a.ifindex),
                        })
                    })
                    .collect();
                v["alternatives"] = Value::Array(alts);
            }
            v
        })
        .collect();
    json!({ "originators": list })
}

fn gateways(ctx: &Ctx) -> Value {
    let st = ctx.engine.status(ctx.now);
    let mut gws: Vec<&OriginatorStatus> = st
        .originators
        .iter()
        .filter(|o| o.gateway.is_some())
        .collect();
    gws.sort_unstable_by(|a, b| b.tq.cmp(&a.tq).then(a.originator.cmp(&b.originator)));
    let list: Vec<Value> = gws
        .iter()
        .map(|o| {
            let mut v = gateway_json(o.gateway);
            v["originator"] = json!(o.originator);
            v["hostname"] = json!(o.hostname);
            v["tq"] = json!(o.tq);
            v["via"] = json!(o.via);
            v["iface"] = json!(iface_name(&st, o.ifindex));
            v["selected"] = json!(ctx.engine.gateway_choice() == Some(o.originator));
            v
        })
        .collect();
    json!({ "gateways": list, "gateway": gateway_status(ctx) })
}

/// One destination of `routes`: what the engine wants and what the kernel
/// has, and how they compare.
fn routes(ctx: &Ctx, sync: &RouteSync) -> Value {
    let st = ctx.engine.status(ctx.now);
    let (kernel, kernel_error) = match route::dump(ctx.table) {
        Ok(k) => (k, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut by_dst: BTreeMap<_, (Option<KernelRoute>, Option<Ipv6Addr>, Vec<KernelRoute>)> =
        BTreeMap::new();
    for r in sync.desired() {
        by_dst.entry(r.dst).or_default().0 = Some(KernelRoute::from_route(r));
        by_dst.entry(r.dst).or_default().1 = Some(r.originator);
    }
    for k in kernel {
        by_dst.entry(k.dst).or_default().2.push(k);
    }
    let hop = |k: &KernelRoute| {
        json!({
            "via": k.via,
            "iface": iface_name(&st, Some(k.oif)),
            "ifindex": k.oif,
            "metric": k.metric,
        })
    };
    let mut in_sync = kernel_error.is_none();
    let list: Vec<Value> = by_dst
        .iter()
        .map(|(dst, (want, orig, have))| {
            let state = match want {
                Some(w) if have.len() == 1 && have[0] == *w => "ok",
                Some(_) if have.is_empty() => "missing",
                Some(_) => "differs",
                None => "extra",
            };
            in_sync &= state == "ok";
            json!({
                "dst": dst,
                "state": state,
                "originator": orig,
                "want": want.as_ref().map(hop),
                "kernel": have.iter().map(hop).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "table": ctx.table,
        "protocol": ROUTE_PROTOCOL,
        "in_sync": in_sync,
        "kernel_error": kernel_error,
        "routes": list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parsing() {
        let r =
            parse(r#"{"cmd":"originators","originator":"fd00::1","alternatives":true}"#).unwrap();
        assert_eq!(r.cmd, "originators");
        assert_eq!(r.originator.as_deref(), Some("fd00::1"));
        assert!(r.alternatives);
        assert!(
            parse(r#"{"cmd":"topology","format":"netjson"}"#)
                .unwrap()
                .netjson
        );
        assert_eq!(parse("{}").err().unwrap(), "missing \"cmd\"");
        assert_eq!(
            parse("[1]").err().unwrap(),
            "bad request: not a JSON object"
        );
        assert_eq!(
            parse(r#"{"cmd":7}"#).err().unwrap(),
            "\"cmd\" must be a string"
        );
        assert_eq!(
            parse(r#"{"cmd":"o","alternatives":"yes"}"#).err().unwrap(),
            "\"alternatives\" must be true or false"
        );
        assert!(parse("nope").err().unwrap().starts_with("bad request"));
    }
}
