//! Control-socket latency of `roost o --json` with many originators.
//!
//!     cargo bench --bench query_latency [-- NODES [SECONDS]]
//!
//! Builds the state of a real mesh in the simulator (`rgg:NODES`, default
//! 1000, run for SECONDS simulated seconds, default 20), then serves node
//! 0's engine on a Unix socket with the daemon's own control server and
//! query code, and times from a client:
//!   * the `originators` request over the socket (what ubus/LuCI do);
//!   * the `roost o --json` command, process start included (what people do);
//!   * `status` and `topology --netjson` for comparison.
//!
//! Prints one JSON line per measurement (median, p90 and max in ms, reply
//! size) and a Markdown table.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use roost::engine::Time;
use roost::linux::control::{self, ControlServer};
use roost::linux::query;
use roost::sim::{Sim, SimConfig, Topology};

const LISTEN: Token = Token(0);

fn serve(sim: &Sim, path: &Path, now: Time, stop: &AtomicBool) {
    let mut poll = Poll::new().expect("poll");
    let mut server = ControlServer::bind(path, LISTEN.0).expect("bind");
    server.register(poll.registry(), LISTEN).expect("register");
    let mut events = Events::with_capacity(64);
    let engine = &sim.engines[0];
    while !stop.load(Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(50)))
            .expect("poll");
        for ev in &events {
            if ev.token() == LISTEN {
                server.accept(poll.registry());
            } else if server.owns(ev.token()) {
                let ctx = query::Ctx {
                    engine,
                    route: None,
                    table: 76,
                    ifaces: Vec::new(),
                    now,
                    gateway_mode: "client".into(),
                };
                server.serve(poll.registry(), ev.token(), |line| {
                    query::answer(&ctx, line)
                });
            }
        }
    }
    server.remove();
}

struct Stats {
    what: String,
    ms: Vec<f64>,
    bytes: usize,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    }
}

fn time(what: &str, runs: usize, mut f: impl FnMut() -> usize) -> Stats {
    let mut ms = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        bytes = f();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Stats {
        what: what.into(),
        ms,
        bytes,
    }
}

fn request(path: &Path, req: &str) -> usize {
    let reply = control::request(path, req).expect("request");
    assert!(!reply.contains("\"error\""), "{reply}");
    reply.len()
}

fn measure(path: &Path, one: &str) -> Vec<Stats> {
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/roost");
    let mut results = vec![
        time("socket: originators", 50, || {
            request(path, r#"{"cmd":"originators"}"#)
        }),
        time("socket: originators --originator X", 50, || {
            let req = serde_json::json!({"cmd": "originators", "originator": one});
            request(path, &req.to_string())
        }),
        time("socket: status", 50, || {
            request(path, r#"{"cmd":"status"}"#)
        }),
        time("socket: topology netjson", 20, || {
            request(path, r#"{"cmd":"topology","format":"netjson"}"#)
        }),
    ];
    if bin.exists() {
        results.push(time("roost o --json (process)", 20, || {
            let out = Command::new(&bin)
                .args(["o", "--json", "--control-socket"])
                .arg(path)
                .output()
                .expect("roost o");
            assert!(out.status.success());
            out.stdout.len()
        }));
    } else {
        eprintln!("{} missing: cargo build --release first", bin.display());
    }
    results
}

fn main() {
    // `cargo bench` passes `--bench`; positional arguments are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let nodes: usize = args.first().map_or(1000, |a| a.parse().expect("NODES"));
    let secs: u64 = args.get(1).map_or(20, |a| a.parse().expect("SECONDS"));
    let topo = Topology::parse(&format!("rgg:{nodes}"), 1).expect("topology");
    let t0 = Instant::now();
    let mut sim = Sim::new(SimConfig::new(topo, secs * 1000, 1));
    sim.run_until(secs * 1000);
    let known = sim.engines[0].status(Time(secs * 1000)).originators.len();
    eprintln!(
        "simulated rgg:{nodes} for {secs} s in {:.1} s: node 0 knows {known} originators",
        t0.elapsed().as_secs_f64()
    );

    let path = std::env::temp_dir().join(format!("roost-bench-{}.sock", std::process::id()));
    let stop = Arc::new(AtomicBool::new(false));
    // The engine stays on this thread (the simulator is not Send); the
    // client runs on another.
    let client = {
        let (path, stop) = (path.clone(), stop.clone());
        let one = roost::sim::originator(nodes / 2).to_string();
        std::thread::spawn(move || {
            let r = measure(&path, &one);
            stop.store(true, Ordering::Relaxed);
            r
        })
    };
    serve(&sim, &path, Time(secs * 1000), &stop);
    let results = client.join().expect("client thread");

    println!("| request | originators | median ms | p90 ms | max ms | reply bytes |");
    println!("|---|---|---|---|---|---|");
    for r in &results {
        eprintln!(
            "{}",
            serde_json::json!({
                "bench": "query_latency", "what": r.what, "nodes": nodes,
                "originators": known, "median_ms": r.pct(0.5), "p90_ms": r.pct(0.9),
                "max_ms": r.pct(1.0), "reply_bytes": r.bytes,
            })
        );
        println!(
            "| {} | {known} | {:.2} | {:.2} | {:.2} | {} |",
            r.what,
            r.pct(0.5),
            r.pct(0.9),
            r.pct(1.0),
            r.bytes
        );
    }
}
