//! The sans-IO routing engine. See `docs/PROTOCOL.md`.
//!
//! Drive it with [`Engine::handle_input`] and drain [`Engine::poll_output`]
//! until it returns [`Output::Timeout`]. It reads no clock, opens no socket
//! and draws randomness only from its seeded generator.

mod api;
mod params;
mod status;

pub use api::{Event, IfaceId, IfaceKind, Input, Output, Route, RouteChange, Time};
pub use params::{KindParams, Params, DEFAULT_TTL, TQ_MAX};
pub use status::{
    AlternativeStatus, Counters, IfaceStatus, NeighbourStatus, OriginatorStatus, Status,
};

use std::collections::VecDeque;
use std::net::Ipv6Addr;

use crate::prefix::Prefix;

/// What a node is: its identity and what it announces.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// 128-bit originator address (IPv6, or IPv4-mapped `::ffff:a.b.c.d`).
    pub originator: Ipv6Addr,
    /// Prefixes reachable at this node.
    pub announce: Vec<Prefix>,
    pub hostname: Option<String>,
    pub params: Params,
}

/// The routing engine of one node.
pub struct Engine {
    cfg: EngineConfig,
    out: VecDeque<Output>,
    counters: Counters,
}

impl Engine {
    /// A new engine. `seed` feeds its random generator (jitter, initial seqno).
    pub fn new(cfg: EngineConfig, seed: u64, now: Time) -> Engine {
        let _ = (seed, now);
        Engine {
            cfg,
            out: VecDeque::new(),
            counters: Counters::default(),
        }
    }

    pub fn handle_input(&mut self, now: Time, input: Input) {
        let _ = (now, input);
    }

    pub fn poll_output(&mut self) -> Output {
        self.out.pop_front().unwrap_or(Output::Timeout(Time::NEVER))
    }

    /// The full desired routing table, sorted by destination.
    pub fn routes(&self) -> Vec<Route> {
        Vec::new()
    }

    pub fn status(&self, now: Time) -> Status {
        let _ = now;
        Status {
            originator: self.cfg.originator,
            announced: self.cfg.announce.clone(),
            counters: self.counters.clone(),
            interfaces: Vec::new(),
            neighbours: Vec::new(),
            originators: Vec::new(),
        }
    }
}
