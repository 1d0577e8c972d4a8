//! The sans-IO routing engine. See `docs/PROTOCOL.md`.
//!
//! Drive it with [`Engine::handle_input`] and drain [`Engine::poll_output`]
//! until it returns [`Output::Timeout`]. It reads no clock, opens no socket
//! and draws randomness only from its seeded generator.

mod api;
mod auth;
pub mod fxhash;
pub mod gateway;
mod limits;
mod neighbour;
mod originator;
mod params;
pub mod rng;
mod routes;
pub(crate) mod seqno;
mod status;
pub mod tq;
mod tx;
pub mod zeroconf;

pub use api::{Event, IfaceId, IfaceKind, Input, Output, Route, RouteChange, Time};
pub use params::{KindParams, Params, DEFAULT_TTL, TQ_MAX, TQ_MIN_USABLE};
pub use status::{
    AlternativeStatus, Counters, IfaceStatus, NeighbourStatus, OriginatorStatus, Status, TopoLink,
    TopoNode, Topology,
};
pub use tx::{SeqReq, MSG_SEQREQ};
pub use zeroconf::{Duplicate, ZeroconfConfig, ZeroconfStatus};

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use fxhash::FxHashMap;
use std::net::Ipv6Addr;

use crate::prefix::Prefix;
use crate::wire::{
    self, HeaderRepr, IhuEntry, IhuRepr, OgmRepr, Tlv, FLAG_DUMP_REQ, MSG_IHU, MSG_OGM,
    OGM_FLAG_UPDATE,
};
use gateway::{GatewayPlan, GwClass};
use neighbour::{Hello, Neighbour};
use originator::{Heard, NeighKey, Originator, SeqnoCheck};
use rng::Rng;
use routes::RouteTable;
use tx::{QueuedOgm, TxQueue};

/// OGM flag: sent by the originator itself (its own OGM).
pub const OGM_FLAG_OWN: u8 = 0x02;
/// OGM flag: answers a seqno request; forward without aggregation delay.
pub const OGM_FLAG_URGENT: u8 = 0x04;
/// OGM flag: the originator started less than `RESTART_MARK_MS` ago, so an
/// out-of-window seqno is a reboot, not a stale copy.
pub const OGM_FLAG_RESTARTED: u8 = 0x08;
/// How long after start own OGMs carry `OGM_FLAG_RESTARTED`.
const RESTART_MARK_MS: u64 = 60_000;
/// Frame overhead counted per datagram: UDP 8 + IPv6 40 + Ethernet 14.
pub const FRAME_OVERHEAD: u64 = 62;
/// Hellos after a new neighbour that carry an IHU regardless of cadence.
const IHU_BOOST: u8 = 3;
/// Datagrams after start or interface-up that ask neighbours for a dump.
const DUMP_REQ_COUNT: u8 = 3;
/// Datagrams that carry a targeted dump request (lossy links).
const DUMP_ASK_REPEATS: u8 = 3;
/// A neighbour's own OGM is missed this long after we met it: ask for its table.
const TABLE_ASK_AFTER_MS: u64 = 1000;
/// Targeted dump requests pending per interface, at most.
const MAX_DUMP_ASKS: usize = 32;
/// Silently dropped neighbours remembered (for the route timeout), at most.
const MAX_DROPPED_SILENT: usize = 256;
/// Minimum spacing of full dumps on one interface.
const DUMP_SPACING_MS: u64 = 1000;
/// ... and of dumps that follow a challenge reply (authenticated meshes).
const CHALLENGE_DUMP_SPACING_MS: u64 = 100;
/// Minimum spacing of seqno requests for one originator / own bumps.
const REQUEST_SPACING_MS: u64 = 1000;
const HOUSEKEEPING_MS: u64 = 1000;
const EXPIRY_SCAN_MS: u64 = 10_000;
const SEQREQ_HOPS: u8 = 32;
/// Seqno requests remembered for duplicate suppression at most (a flood of
/// forged requests must not grow memory).
const MAX_REQS_SEEN: usize = 4096;

/// What a node is: its identity and what it announces.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// 128-bit originator address (IPv6, or IPv4-mapped `::ffff:a.b.c.d`).
    pub originator: Ipv6Addr,
    /// Prefixes reachable at this node.
    pub announce: Vec<Prefix>,
    pub hostname: Option<String>,
    /// This node's uplink offered to the mesh: (down, up) in units of
    /// 100 kbit/s; `None`: not a gateway (see `Input::SetGatewayOffer`).
    pub gateway_offer: Option<(u32, u32)>,
    /// How to choose a gateway while not offering one; `None`: never
    /// (gateway mode `off` or `server`).
    pub gateway_class: Option<GwClass>,
    /// Zero-config addressing (`None`: off): the LAN prefixes, and unless
    /// `derive_originator` is false the originator, are derived, announced
    /// and renumbered on duplicates; own OGMs carry NODE_ID.
    pub zeroconf: Option<ZeroconfConfig>,
    pub params: Params,
}

#[derive(Debug)]
struct Iface {
    name: String,
    kind: IfaceKind,
    max_payload: usize,
    link_local: Ipv6Addr,
    hello_seq: u16,
    hellos: u32,
    next_hello: Time,
    flush_at: Option<Time>,
    queue: TxQueue,
    ihu_boost: u8,
    last_ihu: Option<Time>,
    dump_req_left: u8,
    dump_due: bool,
    last_dump: Option<Time>,
    /// The due dump answers a challenge: spaced by `CHALLENGE_DUMP_SPACING_MS` only.
    dump_soon: bool,
    /// Neighbours asked for a dump (wildcard SEQREQ targeted at them) and
    /// how many more datagrams carry the request.
    dump_asks: Vec<([u8; 8], u8)>,
}

/// The routing engine of one node.
pub struct Engine {
    cfg: EngineConfig,
    rng: Rng,
    ifaces: BTreeMap<IfaceId, Iface>,
    neighbours: BTreeMap<NeighKey, Neighbour>,
    origs: FxHashMap<Ipv6Addr, Originator>,
    own_seqno: u32,
    own_tlvs: Vec<u8>,
    next_ogm: Time,
    last_own_bump: Option<Time>,
    /// Our TLVs changed: the next own OGM is repeated.
    own_tlvs_changed: bool,
    next_housekeeping: Time,
    routes: RouteTable,
    out: VecDeque<Output>,
    counters: Counters,
    /// Recently forwarded seqno requests: (originator, seqno) → time.
    reqs_seen: FxHashMap<(Ipv6Addr, u32), Time>,
    /// Originators with an outstanding seqno request, retried each second.
    pending_requests: Vec<Ipv6Addr>,
    /// Neighbours we dropped as silent, and when: one heard again soon
    /// after may never have noticed (loss is often one-way), so it will not
    /// dump its table to us by itself; we ask it to.
    dropped_silent: FxHashMap<NeighKey, Time>,
    started: Time,
    next_expiry_scan: Time,
    /// Own OGMs sent, and the neighbour set in the last NEIGHBOURS TLV.
    own_ogms: u32,
    topology_sent: Vec<Ipv6Addr>,
    /// Datagram authentication, when mesh keys are set.
    auth: Option<auth::Auth>,
    /// Unrouted originators to forget when the table is full, and when the
    /// next search for them may run.
    evict_queue: Vec<Ipv6Addr>,
    next_evict_scan: Time,
    gw: GwState,
    /// Zero-config state (`None`: off).
    zc: Option<zeroconf::ZcState>,
    /// What this node announces: the configured prefixes, then the derived
    /// LAN prefixes.
    own_announce: Vec<Prefix>,
}

/// Gateway bookkeeping (see `gateway.rs`).
#[derive(Debug, Default)]
struct GwState {
    selector: Option<gateway::Selector>,
    /// Originators announcing a gateway, and those announcing a choice.
    known: BTreeSet<Ipv6Addr>,
    choosers: BTreeSet<Ipv6Addr>,
    /// The choice in our last GW_CHOICE TLV (`None`: never sent).
    sent: Option<Option<Ipv6Addr>>,
    plan: GatewayPlan,
    /// Something the plan depends on changed.
    dirty: bool,
}

impl GwState {
    /// Keeps the sets of gateways and choosers in step with originator
    /// `addr`, whose gateway or choice fields may have changed.
    fn note(&mut self, addr: Ipv6Addr, gateway: bool, choice: bool) {
        let g = if gateway {
            self.known.insert(addr)
        } else {
            self.known.remove(&addr)
        };
        let c = if choice {
            self.choosers.insert(addr)
        } else {
            self.choosers.remove(&addr)
        };
        if g || c || gateway || choice {
            self.dirty = true;
        }
    }
}

impl Engine {
    /// A new engine. `seed` feeds its random generator (jitter, initial seqno).
    pub fn new(mut cfg: EngineConfig, seed: u64, now: Time) -> Engine {
        let zc = cfg.zeroconf.clone().map(zeroconf::ZcState::new);
        if let Some(z) = zc.as_ref().filter(|z| z.cfg.derive_originator) {
            cfg.originator = z.originator;
        }
        let mut rng = Rng::new(seed);
        let own_seqno = rng.next_u64() as u32;
        let first_ogm = now.plus(u64::from(cfg.params.ogm_interval_ms) / 2 + rng.below(1000));
        let mut e = Engine {
            own_tlvs: Vec::new(),
            cfg,
            rng,
            ifaces: BTreeMap::new(),
            neighbours: BTreeMap::new(),
            origs: FxHashMap::default(),
            own_seqno,
            next_ogm: first_ogm,
            last_own_bump: None,
            own_tlvs_changed: false,
            next_housekeeping: now.plus(HOUSEKEEPING_MS),
            routes: RouteTable::default(),
            out: VecDeque::new(),
            counters: Counters::default(),
            reqs_seen: FxHashMap::default(),
            dropped_silent: FxHashMap::default(),
            pending_requests: Vec::new(),
            started: now,
            next_expiry_scan: now.plus(EXPIRY_SCAN_MS),
            own_ogms: 0,
            topology_sent: Vec::new(),
            auth: None,
            evict_queue: Vec::new(),
            next_evict_scan: now,
            gw: GwState::default(),
            zc,
            own_announce: Vec::new(),
        };
        e.own_announce = e.compute_own_announce();
        e.gw.selector = e.cfg.gateway_class.map(gateway::Selector::new);
        e.gw.dirty = true;
        e.own_tlvs = e.encode_own_tlvs();
        e
    }

    pub fn originator(&self) -> Ipv6Addr {
        self.cfg.originator
    }

    /// The hostname this node announces.
    pub fn hostname(&self) -> Option<&str> {
        self.cfg.hostname.as_deref()
    }

    pub fn params(&self) -> &Params {
        &self.cfg.params
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Sets the mesh keys (the first signs, all verify; empty: no
    /// authentication). Replay state survives a key change.
    pub fn set_keys(&mut self, keys: Vec<crate::auth::Key>) {
        match (&mut self.auth, keys.is_empty()) {
            (_, true) => self.auth = None,
            (Some(a), false) => a.set_keys(keys),
            (None, false) => self.auth = Some(auth::Auth::new(keys, self.rng.next_u64())),
        }
    }

    /// Ids of the mesh keys in use (empty: no authentication).
    pub fn key_ids(&self) -> Vec<u8> {
        self.auth.as_ref().map_or_else(Vec::new, |a| a.key_ids())
    }

    /// The configured prefixes, then the derived LAN prefixes.
    fn compute_own_announce(&self) -> Vec<Prefix> {
        let mut v = self.cfg.announce.clone();
        for p in self.zc.iter().flat_map(|z| z.lans()) {
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    /// What this node announces (configured and derived prefixes).
    pub fn announced(&self) -> &[Prefix] {
        &self.own_announce
    }

    /// Zero-config values, when it is on.
    pub fn zeroconf_status(&self) -> Option<ZeroconfStatus> {
        self.zc.as_ref().map(|z| z.status(self.cfg.originator))
    }

    /// Recomputes what we announce after the configured or derived
    /// prefixes changed: re-encodes, re-routes what moved, floods at once.
    fn announce_changed(&mut self, now: Time) {
        let new = self.compute_own_announce();
        for p in self.own_announce.iter().chain(new.iter()) {
            self.routes.touch(*p);
        }
        self.own_announce = new;
        self.own_tlvs = self.encode_own_tlvs();
        self.own_tlvs_changed = true;
        self.bump_own(now, OGM_FLAG_URGENT);
    }

    fn encode_own_tlvs(&self) -> Vec<u8> {
        let mut v = Vec::new();
        if let Some(z) = &self.zc {
            Tlv::NodeId(z.wire_id()).emit(&mut v);
        }
        let own_host = originator_prefix(self.cfg.originator);
        for p in &self.own_announce {
            if *p == own_host {
                continue;
            }
            let t = Tlv::Prefix(*p);
            if v.len() + t.buffer_len() > 255 - wire::OGM_FIXED_LEN {
                break;
            }
            t.emit(&mut v);
        }
        if let Some((down, up)) = self.cfg.gateway_offer {
            Tlv::Gateway { down, up }.emit(&mut v);
        }
        if let Some(h) = &self.cfg.hostname {
            let t = Tlv::Hostname(h);
            if v.len() + t.buffer_len() <= 255 - wire::OGM_FIXED_LEN {
                t.emit(&mut v);
            }
        }
        v
    }

    /// The gateway this node chose (`None` while it offers its own uplink,
    /// or when none is reachable).
    pub fn gateway_choice(&self) -> Option<Ipv6Addr> {
        if self.cfg.gateway_offer.is_some() {
            return None;
        }
        self.gw.selector.as_ref().and_then(|s| s.current)
    }

    /// The current gateway plan (what `Output::Gateways` last said).
    pub fn gateway_plan(&self) -> &GatewayPlan {
        &self.gw.plan
    }

    /// Gateway mode summary for status: offer, class, switches so far.
    pub fn gateway_role(&self) -> (Option<(u32, u32)>, Option<GwClass>, u32) {
        (
            self.cfg.gateway_offer,
            self.cfg.gateway_class,
            self.gw.selector.as_ref().map_or(0, |s| s.switches),
        )
    }

    /// Re-runs gateway selection and, when anything changed, the plan.
    fn update_gateways(&mut self, now: Time) {
        let own = self.cfg.originator;
        let serving = self.cfg.gateway_offer.is_some();
        let cands = if serving || self.gw.selector.is_none() {
            Vec::new()
        } else {
            gateway::candidates(&self.origs, &self.gw.known, own)
        };
        // The chosen gateway's route is recovering: unreachable for less
        // than the hold time, with next hops that only lack a newer seqno
        // (a request for it is pending).
        let holding = self.gateway_choice().is_some_and(|g| {
            self.pending_requests.contains(&g)
                && self.origs.get(&g).is_some_and(|o| {
                    o.best.is_none()
                        && o.gateway.is_some()
                        && o.unreachable_since
                            .is_some_and(|t| now.since(t) < gateway::GW_HOLD_MS)
                })
        });
        let changed = self
            .gw
            .selector
            .as_mut()
            .is_some_and(|sel| sel.update_holding(now, &cands, holding));
        if changed {
            self.gw.dirty = true;
            // Tell the mesh at once, so every hop pins our traffic.
            if self.gw.sent != Some(self.gateway_choice()) {
                self.bump_own(now, OGM_FLAG_URGENT);
            }
        }
        if !self.gw.dirty {
            return;
        }
        self.gw.dirty = false;
        let plan = gateway::plan(
            &self.origs,
            &self.gw.known,
            &self.gw.choosers,
            own,
            serving,
            self.gateway_choice(),
        );
        if plan != self.gw.plan {
            self.gw.plan = plan.clone();
            self.out.push_back(Output::Gateways(plan));
        }
    }

    // ----- inputs ---------------------------------------------------------

    pub fn handle_input(&mut self, now: Time, input: Input) {
        match input {
            Input::InterfaceUp {
                iface,
                name,
                kind,
                max_payload,
                link_local,
            } => self.iface_up(now, iface, name, kind, max_payload, link_local),
            Input::InterfaceDown { iface } => self.iface_down(now, iface),
            Input::Packet { iface, src, bytes } => self.on_packet(now, iface, src, &bytes),
            Input::SetAnnounce(prefixes) => {
                self.cfg.announce = prefixes;
                self.announce_changed(now);
            }
            Input::SetHostname(name) => {
                self.cfg.hostname = name;
                self.own_tlvs = self.encode_own_tlvs();
                self.bump_own(now, OGM_FLAG_URGENT);
            }
            Input::SetGatewayOffer(offer) => {
                if offer != self.cfg.gateway_offer {
                    self.cfg.gateway_offer = offer;
                    self.own_tlvs = self.encode_own_tlvs();
                    self.own_tlvs_changed = true;
                    self.gw.dirty = true;
                    self.update_gateways(now);
                    self.bump_own(now, OGM_FLAG_URGENT);
                }
            }
            Input::Timer => self.on_timer(now),
        }
        self.flush_routes(now);
        if self.gw.dirty {
            self.update_gateways(now);
        }
    }

    fn iface_up(
        &mut self,
        now: Time,
        id: IfaceId,
        name: String,
        kind: IfaceKind,
        max_payload: usize,
        link_local: Ipv6Addr,
    ) {
        let jitter = self
            .rng
            .below(u64::from(self.cfg.params.kind(kind).hello_ms) / 4 + 1);
        let changed_addr = self
            .ifaces
            .get(&id)
            .is_some_and(|i| i.link_local != link_local);
        if changed_addr {
            self.iface_down(now, id);
        }
        let i = self.ifaces.entry(id).or_insert_with(|| Iface {
            name: String::new(),
            kind,
            max_payload,
            link_local,
            hello_seq: 0,
            hellos: 0,
            next_hello: now.plus(jitter),
            flush_at: None,
            queue: TxQueue::default(),
            ihu_boost: 0,
            last_ihu: None,
            dump_req_left: DUMP_REQ_COUNT,
            dump_due: false,
            last_dump: None,
            dump_soon: false,
            dump_asks: Vec::new(),
        });
        if i.hellos == 0 {
            i.hello_seq = self.rng.next_u64() as u16;
        }
        i.name = name;
        i.kind = kind;
        i.max_payload = max_payload;
        i.link_local = link_local;
    }

    fn iface_down(&mut self, now: Time, id: IfaceId) {
        if self.ifaces.remove(&id).is_none() {
            return;
        }
        let gone: Vec<NeighKey> = self
            .neighbours
            .keys()
            .filter(|(i, _)| *i == id)
            .copied()
            .collect();
        for k in gone {
            self.drop_neighbour(now, k, "interface down");
        }
    }

    fn on_packet(&mut self, now: Time, iface: IfaceId, src: Ipv6Addr, bytes: &[u8]) {
        self.counters.rx_packets += 1;
        self.counters.rx_bytes += bytes.len() as u64;
        let Some(local) = self.ifaces.get(&iface).map(|i| i.link_local) else {
            self.counters.drop("unknown_interface");
            return;
        };
        if src == local {
            self.counters.drop("own_packet");
            return;
        }
        if (src.segments()[0] & 0xffc0) != 0xfe80 {
            self.counters.drop("source_not_link_local");
            return;
        }
        // Without keys anybody can claim any source: limit before parsing.
        // With keys, only authentic datagrams spend a neighbour's tokens
        // (a forger must not starve a real neighbour).
        if self.auth.is_none() && !self.take_token(now, (iface, src)) {
            return;
        }
        let dg = match wire::parse(bytes) {
            Ok(d) => d,
            Err(e) => {
                self.counters.drop(e.as_str());
                return;
            }
        };
        if let Some(a) = self.auth.as_mut() {
            let verdict = a.open(now, iface, src, IhuEntry::iid_of(&local), bytes, &dg);
            let answered = a.take_answered(iface);
            if a.has_outbox(iface) {
                if let Some(i) = self.ifaces.get_mut(&iface).filter(|_| answered) {
                    // Our reply opens the door: send the dump through it.
                    i.dump_due = true;
                    i.dump_soon = true;
                }
                self.schedule_flush(now, iface);
            }
            if let Err(reason) = verdict {
                self.counters.drop(reason);
                return;
            }
            if !self.take_token(now, (iface, src)) {
                return;
            }
        } else if dg.header.flags & wire::FLAG_AUTH != 0 {
            // Without a key, authenticated datagrams are not ours to judge.
            self.counters.drop("auth_unsupported");
            return;
        }
        let key = (iface, src);
        let fresh = match self.neighbours.get_mut(&key) {
            Some(n) => match n.on_hello(now, dg.header.seqno, dg.header.interval_ms) {
                Hello::Duplicate => {
                    self.counters.drop("duplicate");
                    return;
                }
                Hello::Fresh => {
                    // It restarted: whatever it advertised before is gone
                    // with its old tables (and could loop back through us).
                    self.forget_via(now, key);
                    true
                }
                Hello::Ok => false,
            },
            None => {
                let on_iface = self.neighbours.keys().filter(|(i, _)| *i == iface).count();
                if on_iface >= self.cfg.params.max_neighbours {
                    self.counters.drop("neighbour_cap");
                    return;
                }
                let mut n = Neighbour::new(iface, src, now);
                n.bucket = limits::TokenBucket::new(self.cfg.params.neighbour_burst, now);
                n.on_hello(now, dg.header.seqno, dg.header.interval_ms);
                self.neighbours.insert(key, n);
                self.out
                    .push_back(Output::Event(Event::NeighbourUp { iface, addr: src }));
                if self.dropped_silent.remove(&key).is_some() {
                    self.ask_table(iface, &src, DUMP_ASK_REPEATS);
                }
                true
            }
        };
        if fresh {
            // Tell it we hear it, soon, and give it our table.
            if let Some(i) = self.ifaces.get_mut(&iface) {
                i.ihu_boost = IHU_BOOST;
                i.dump_due = true;
            }
            self.schedule_flush(now, iface);
        }
        if dg.header.flags & FLAG_DUMP_REQ != 0 {
            if let Some(i) = self.ifaces.get_mut(&iface) {
                i.dump_due = true;
            }
            self.schedule_flush(now, iface);
        }
        // The IHU list may span several messages: we are either in one of
        // them, or the neighbour does not hear us.
        let me = IhuEntry::iid_of(&local);
        let mut ihu_seen = false;
        let mut ihu_rxq = 0;
        for m in dg.messages.flatten() {
            match m.kind {
                MSG_IHU => {
                    if let Ok(ihu) = IhuRepr::parse(m.body) {
                        ihu_seen = true;
                        if let Some(e) = ihu.entries().find(|e| e.iid == me) {
                            ihu_rxq = e.rxq;
                        }
                    }
                }
                MSG_OGM => {
                    if let Ok(ogm) = OgmRepr::parse(m.body) {
                        self.counters.rx_ogms += 1;
                        self.on_ogm(now, key, &ogm);
                    }
                }
                MSG_SEQREQ => match SeqReq::parse(m.body) {
                    Ok(r) => self.on_seqreq(now, key, local, r),
                    Err(e) => self.counters.drop(e.as_str()),
                },
                crate::auth::MSG_CHALLENGE_REQ | crate::auth::MSG_CHALLENGE_REPLY => {}
                _ => self.counters.drop("unknown_message"),
            }
        }
        if ihu_seen {
            if let Some(n) = self.neighbours.get_mut(&key) {
                n.on_ihu(now, ihu_rxq);
            }
        }
        self.check_link_change(now, key);
    }

    /// How long an IHU report stays usable: `IHU_FRESH_PERIODS` of the
    /// neighbour's IHU period.
    fn ihu_fresh_ms(&self, n: &Neighbour) -> u64 {
        u64::from(n.interval_ms)
            * u64::from(self.cfg.params.ihu_every)
            * neighbour::IHU_FRESH_PERIODS
    }

    /// The link TQ routing uses: the live value passed through a deadband
    /// (`check_link_change`), so measurement noise does not move routes.
    fn link_tq_of(&self, key: &NeighKey) -> u8 {
        self.neighbours.get(key).map_or(0, |n| n.evaluated_tq)
    }

    fn live_link_tq(&self, now: Time, key: &NeighKey) -> u8 {
        match self.neighbours.get(key) {
            Some(n) => n.link_tq(
                now,
                self.ihu_fresh_ms(n),
                u64::from(self.cfg.params.route_timeout_ms),
            ),
            None => 0,
        }
    }

    /// Re-evaluates routes through a neighbour when its link TQ moved enough.
    fn check_link_change(&mut self, now: Time, key: NeighKey) {
        let lt = self.live_link_tq(now, &key);
        let Some(n) = self.neighbours.get_mut(&key) else {
            return;
        };
        let old = n.evaluated_tq;
        let big = lt.abs_diff(old) >= self.cfg.params.link_deadband;
        if big || (lt == 0) != (old == 0) {
            n.evaluated_tq = lt;
            self.reselect_via(now, &key);
        }
    }

    /// Re-runs selection for every originator with an alternative via `key`.
    fn reselect_via(&mut self, now: Time, key: &NeighKey) {
        let mut affected: Vec<Ipv6Addr> = self
            .origs
            .values()
            .filter(|o| o.alts.iter().any(|(k, _)| k == key))
            .map(|o| o.addr)
            .collect();
        affected.sort_unstable();
        for a in affected {
            self.reselect(now, a, None);
        }
    }

    fn on_ogm(&mut self, now: Time, key: NeighKey, ogm: &OgmRepr<'_>) {
        if ogm.originator == self.cfg.originator {
            let foreign = zeroconf::node_id_of(ogm.tlv_bytes)
                .filter(|id| self.zc.as_ref().is_some_and(|z| *id != z.wire_id()));
            let Some(id) = foreign else {
                if ogm.flags & OGM_FLAG_UPDATE == 0 {
                    if let Some(n) = self.neighbours.get_mut(&key) {
                        n.on_echo(now);
                    }
                }
                return;
            };
            self.own_address_claimed(now, id);
            if ogm.originator == self.cfg.originator {
                return;
            }
            // We gave way: this is the winner's OGM now, and the route to
            // it must not wait for its next flood.
        }
        if ogm.flags & OGM_FLAG_OWN != 0 {
            if let Some(n) = self.neighbours.get_mut(&key) {
                n.originator = Some(ogm.originator);
            }
        }
        if let Some(id) = zeroconf::node_id_of(ogm.tlv_bytes) {
            if self.twin_claim(now, key, ogm, id) {
                return;
            }
        }
        if ogm.tq > 0
            && self.origs.len() >= self.cfg.params.max_originators
            && !self.origs.contains_key(&ogm.originator)
        {
            self.make_room(now);
        }
        let full = self.origs.len() >= self.cfg.params.max_originators;
        let p = &self.cfg.params;
        let o = match self.origs.entry(ogm.originator) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(_) if full => {
                self.counters.drop("originator_cap");
                return;
            }
            // A retraction for something we never knew.
            std::collections::hash_map::Entry::Vacant(_) if ogm.tq == 0 => return,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Originator::new(ogm.originator, ogm.seqno, now))
            }
        };
        let check = if o.alts.is_empty() && o.best.is_none() && o.fd.is_none() {
            // Nothing to protect: take whatever comes.
            o.newest = if seqno::newer(ogm.seqno, o.newest) {
                ogm.seqno
            } else {
                o.newest
            };
            SeqnoCheck::Known
        } else {
            o.check_seqno(ogm.seqno, now, p, ogm.flags & OGM_FLAG_RESTARTED != 0)
        };
        if ogm.seqno == o.newest {
            o.restarted = ogm.flags & OGM_FLAG_RESTARTED != 0;
        }
        match check {
            SeqnoCheck::Protected => {
                self.counters.drop("seqno_protected");
                return;
            }
            SeqnoCheck::Reset => {
                self.out.push_back(Output::Event(Event::SeqnoReset {
                    originator: ogm.originator,
                }));
            }
            SeqnoCheck::New | SeqnoCheck::Known => {}
        }
        let update = ogm.flags & OGM_FLAG_UPDATE != 0;
        let neighbours = &self.neighbours;
        let link = |k: &NeighKey| neighbours.get(k).map_or(0, |n| n.evaluated_tq);
        let heard = Heard {
            seqno: ogm.seqno,
            tq: ogm.tq,
            ttl: ogm.ttl,
            update,
        };
        if !o.record(key, heard, now, &link) {
            self.counters.drop("ogm_ignored");
            return;
        }
        // Floods and the originator's own OGMs carry its complete TLVs (even
        // none); triggered updates carry TLVs only when the route is new.
        let carries_tlvs =
            ogm.flags & OGM_FLAG_OWN != 0 || (ogm.tq > 0 && (!update || !ogm.tlv_bytes.is_empty()));
        if carries_tlvs && o.offer_tlvs(ogm.seqno, ogm.tlv_bytes) {
            let before = (o.gateway, o.gw_choice, o.announced.clone());
            decode_tlvs(o);
            self.routes.originator_changed(o);
            if before != (o.gateway, o.gw_choice, o.announced.clone()) {
                o.tlvs_changed_at = Some(ogm.seqno);
                self.gw
                    .note(o.addr, o.gateway.is_some(), o.gw_choice.is_some());
                // Even when it announces neither now, the plan may drop it.
                self.gw.dirty = true;
            }
        }
        // Fast path: a copy from a neighbour we do not route through, too
        // weak to win, changes nothing (selection, flood forwarding and
        // triggered updates all hinge on the best next hop), unless it is
        // the first copy of a flood round we have not passed on and it is
        // good enough to forward: when our next hop's copy is late or lost,
        // that copy is what keeps the nodes downstream fed.
        if let Some(b) = o.best {
            let lt = link(&key);
            let t = tq::path(ogm.tq, lt, p.hop_penalty);
            let unforwarded_round = !update
                && o.forwarded.is_none_or(|f| seqno::newer(ogm.seqno, f))
                && o.forwardable_from(&key, lt, p);
            if b != key && t < o.best_tq.saturating_add(2) && !unforwarded_round {
                return;
            }
        }
        let addr = ogm.originator;
        self.reselect(now, addr, Some((key, ogm)));
    }

    /// An OGM carries node id `id` for an originator we know under another
    /// id: two nodes claim one address. The winner's OGMs are routed (an
    /// entry of the loser's is dropped for them); the loser's are only
    /// passed on, once per seqno, so both claimants hear of each other.
    /// Returns true when the OGM was consumed.
    fn twin_claim(&mut self, now: Time, key: NeighKey, ogm: &OgmRepr<'_>, id: [u8; 8]) -> bool {
        let link = self.link_tq_of(&key);
        let hop_penalty = self.cfg.params.hop_penalty;
        let Some(o) = self.origs.get_mut(&ogm.originator) else {
            return false;
        };
        let Some(stored) = o.node_id.filter(|s| *s != id) else {
            return false;
        };
        let winner = crate::zeroconf::id_loser(id, stored) != id;
        if winner || (o.best.is_none() && ogm.tq > 0) {
            // The winner, or nothing routed: start afresh with this claimant
            // (never for a retraction: that only passes on).
            if let Some(old) = self.origs.remove(&ogm.originator) {
                self.routes.originator_removed(&old);
                self.gw.note(old.addr, false, false);
            }
            return false;
        }
        self.counters.drop("duplicate_originator");
        let fresh = o
            .twin_forwarded
            .is_none_or(|(i, s)| i != id || seqno::newer(ogm.seqno, s));
        // Updates too: the claimants' first words are dumps and updates.
        if !fresh || ogm.ttl <= 1 {
            return true;
        }
        o.twin_forwarded = Some((id, ogm.seqno));
        let q = QueuedOgm {
            originator: ogm.originator,
            seqno: ogm.seqno,
            ttl: ogm.ttl - 1,
            tq: tq::path(ogm.tq, link, hop_penalty),
            flags: ogm.flags & (OGM_FLAG_UPDATE | OGM_FLAG_URGENT | OGM_FLAG_RESTARTED),
            tlvs: ogm.tlv_bytes.to_vec(),
            repeat: 0,
        };
        self.queue_all(now, q, Some(key.0), true);
        true
    }

    /// An OGM of our own originator address carries node id `id`: if it
    /// is not ours, another node claims our address.
    fn own_address_claimed(&mut self, now: Time, id: [u8; 8]) {
        let Some(z) = self.zc.as_mut() else {
            return;
        };
        let own = z.wire_id();
        if id == own {
            return;
        }
        let originator = self.cfg.originator;
        let gave_way = z.cfg.derive_originator && crate::zeroconf::id_loser(own, id) == own;
        let new = z.note(Duplicate {
            kind: "originator",
            what: originator.to_string(),
            other: zeroconf::hex_id(&id),
            gave_way,
        });
        if new {
            self.out
                .push_back(Output::Event(Event::DuplicateOriginator {
                    originator,
                    other_node: id,
                    gave_way,
                }));
        }
        if gave_way {
            self.renumber(now, true);
        } else if new {
            // Let the mesh hear the winner now, not at the next flood.
            self.bump_own(now, OGM_FLAG_URGENT);
        }
    }

    /// Another originator announces `prefix`, which we announce too: if it
    /// is one of our derived LAN prefixes, the higher originator derives
    /// again.
    fn prefix_claimed(&mut self, now: Time, prefix: Prefix, other: Ipv6Addr) {
        let own = self.cfg.originator;
        let Some(z) = self.zc.as_mut().filter(|z| z.lans().contains(&prefix)) else {
            return;
        };
        let gave_way = crate::zeroconf::loser(own, other) == own;
        if z.note(Duplicate {
            kind: "prefix",
            what: prefix.to_string(),
            other: other.to_string(),
            gave_way,
        }) {
            self.out.push_back(Output::Event(Event::DuplicatePrefix {
                prefix,
                other,
                gave_way,
            }));
        }
        if gave_way {
            self.renumber(now, false);
        }
    }

    /// Takes the next zero-config attempt (also for the originator when
    /// `originator_too`), derives again and announces the new values.
    fn renumber(&mut self, now: Time, originator_too: bool) {
        let Some(z) = self.zc.as_mut() else {
            return;
        };
        z.renumber(originator_too);
        let old = self.cfg.originator;
        let z = z.clone();
        if originator_too && z.cfg.derive_originator && z.originator != old {
            let new = z.originator;
            self.cfg.originator = new;
            if let Some(o) = self.origs.remove(&new) {
                self.routes.originator_removed(&o);
                self.gw.note(new, false, false);
            }
            self.routes.touch(originator_prefix(old));
            self.routes.touch(originator_prefix(new));
            self.topology_sent.clear();
            self.gw.dirty = true;
            // A last word for the old address, as a retraction naming us:
            // the other claimant hears of the duplicate even when we saw
            // its claim before ours ever left, and routes through us go.
            let mut tlvs = Vec::new();
            Tlv::NodeId(z.wire_id()).emit(&mut tlvs);
            let q = QueuedOgm {
                originator: old,
                seqno: self.own_seqno,
                ttl: DEFAULT_TTL,
                tq: 0,
                flags: OGM_FLAG_UPDATE | OGM_FLAG_URGENT,
                tlvs,
                repeat: params::RETRACT_REPEATS,
            };
            self.queue_all(now, q, None, true);
        }
        self.out.push_back(Output::Event(Event::Renumbered {
            old_originator: old,
            originator: self.cfg.originator,
            lan: z.lans().to_vec(),
            originator_attempt: z.originator_attempt,
            attempt: z.lan_attempt,
        }));
        self.announce_changed(now);
    }

    /// One datagram's worth of a known neighbour's rate limit; false (and
    /// counted) when it is used up.
    fn take_token(&mut self, now: Time, key: NeighKey) -> bool {
        let (rate, burst) = (
            self.cfg.params.neighbour_rate,
            self.cfg.params.neighbour_burst,
        );
        let ok = self
            .neighbours
            .get_mut(&key)
            .is_none_or(|n| n.bucket.take(now, rate, burst));
        if !ok {
            self.counters.drop("rate_limited");
        }
        ok
    }

    /// The originator table is full: forget one unrouted originator, if
    /// any (victims are found by a scan that runs at most once a second).
    fn make_room(&mut self, now: Time) {
        loop {
            let Some(a) = self.evict_queue.pop() else {
                if now < self.next_evict_scan {
                    return;
                }
                self.next_evict_scan = now.plus(limits::EVICT_SCAN_MS);
                self.evict_queue = limits::evictable(&self.origs, 64);
                if self.evict_queue.is_empty() {
                    return;
                }
                continue;
            };
            if self.origs.get(&a).is_some_and(|o| o.best.is_none()) {
                if let Some(o) = self.origs.remove(&a) {
                    self.routes.originator_removed(&o);
                    self.counters.drop("originator_evicted");
                }
                return;
            }
        }
    }

    /// Runs next-hop selection for one originator and reacts: routes,
    /// triggered updates, flood forwarding, seqno requests.
    fn reselect(&mut self, now: Time, addr: Ipv6Addr, via: Option<(NeighKey, &OgmRepr<'_>)>) {
        let link: Vec<(NeighKey, u8)> = match self.origs.get(&addr) {
            Some(o) => o
                .alts
                .iter()
                .map(|(k, _)| (*k, self.link_tq_of(k)))
                .collect(),
            None => return,
        };
        let p = self.cfg.params.clone();
        let Some(o) = self.origs.get_mut(&addr) else {
            return;
        };
        let was = o.best;
        let changed = o.select(now, &p, &|k| {
            link.iter().find(|(l, _)| l == k).map_or(0, |(_, t)| *t)
        });
        if changed {
            self.routes.originator_changed(o);
        }
        let now_best = o.best;
        // Flood forwarding: the first copy of a new seqno that comes from
        // our best next hop, or from a feasible neighbour whose path is
        // nearly as good (BATMAN forwards only the best's copy; with rounds
        // 30 s apart, a lost copy on the best link would starve everyone
        // downstream for a whole round). We advertise our best TQ either way.
        let mut flooded = false;
        if let Some((k, ogm)) = via {
            let is_flood = ogm.flags & OGM_FLAG_UPDATE == 0;
            let newer = o.forwarded.is_none_or(|f| seqno::newer(ogm.seqno, f));
            let near_best = Some(k) == now_best || {
                let lt = link.iter().find(|(l, _)| *l == k).map_or(0, |(_, t)| *t);
                o.forwardable_from(&k, lt, &p)
            };
            if is_flood && newer && near_best && ogm.ttl > 1 && o.best_tq > 0 {
                o.forwarded = Some(ogm.seqno);
                let urgent = ogm.flags & OGM_FLAG_URGENT != 0 || was != now_best;
                let q = QueuedOgm {
                    originator: addr,
                    seqno: ogm.seqno,
                    ttl: ogm.ttl - 1,
                    tq: o.best_tq,
                    flags: ogm.flags & (OGM_FLAG_URGENT | OGM_FLAG_RESTARTED),
                    tlvs: o.tlvs.clone(),
                    repeat: if o.tlvs_changed_at == Some(ogm.seqno) {
                        params::TLV_CHANGE_REPEATS
                    } else {
                        0
                    },
                };
                flooded = true;
                self.queue_all(now, q, Some(k.0), urgent);
            }
        }
        let Some(o) = self.origs.get_mut(&addr) else {
            return;
        };
        // Triggered update on a significant change.
        let lost = was.is_some() && now_best.is_none();
        let gained = was.is_none() && now_best.is_some();
        if lost {
            self.out
                .push_back(Output::Event(Event::OriginatorDown { originator: addr }));
        } else if gained {
            self.out
                .push_back(Output::Event(Event::OriginatorUp { originator: addr }));
        }
        let moved = o.best_tq.abs_diff(o.advertised_tq) >= p.trigger_tq_delta;
        if !flooded && (lost || gained || (changed && moved)) {
            let q = QueuedOgm {
                repeat: if lost { params::RETRACT_REPEATS } else { 0 },
                ..update_of(o, gained)
            };
            let in_iface = o.best.map(|b| b.0);
            if lost {
                // Retraction: also remember it so we stop advertising.
                o.advertised_tq = 0;
            }
            self.queue_all(now, q, in_iface, true);
        }
        // Routing through (or left with only) unfeasible alternatives: ask
        // for a new seqno, and keep asking every second until it helps.
        self.maybe_request(now, addr);
    }

    /// Sends a seqno request for `addr` if one is wanted and none went out
    /// in the last second; remembers it for retries (`housekeeping`).
    fn maybe_request(&mut self, now: Time, addr: Ipv6Addr) {
        let p = &self.cfg.params;
        let Some(o) = self.origs.get_mut(&addr) else {
            self.pending_requests.retain(|a| *a != addr);
            return;
        };
        if !o.wants_seqno(now, p) {
            self.pending_requests.retain(|a| *a != addr);
            return;
        }
        if !self.pending_requests.contains(&addr) {
            self.pending_requests.push(addr);
        }
        if o.last_request
            .is_some_and(|t| now.since(t) < REQUEST_SPACING_MS)
        {
            return;
        }
        o.last_request = Some(now);
        let want = o.fd.map_or(o.newest, |(s, _)| s).wrapping_add(1);
        let r = SeqReq {
            originator: addr,
            seqno: want,
            hop_limit: SEQREQ_HOPS,
            target: [0; 8],
        };
        let ids: Vec<IfaceId> = self.ifaces.keys().copied().collect();
        for id in ids {
            if let Some(i) = self.ifaces.get_mut(&id) {
                i.queue.push_req(r);
            }
            self.schedule_flush(now, id);
        }
    }

    fn on_seqreq(&mut self, now: Time, key: NeighKey, local: Ipv6Addr, r: SeqReq) {
        if r.target != [0; 8] && r.target != IhuEntry::iid_of(&local) {
            return;
        }
        if r.originator.is_unspecified() {
            // A wildcard request: this neighbour wants our table (only
            // when it asks us by name; dumps are spaced per interface).
            if r.target != [0; 8] {
                if let Some(i) = self.ifaces.get_mut(&key.0) {
                    i.dump_due = true;
                    // It lost our link quality report with us: resend it.
                    i.ihu_boost = IHU_BOOST;
                }
                self.schedule_flush(now, key.0);
            }
            return;
        }
        if r.originator == self.cfg.originator {
            if self
                .last_own_bump
                .is_none_or(|t| now.since(t) >= REQUEST_SPACING_MS)
            {
                self.bump_own(now, OGM_FLAG_URGENT);
                if seqno::newer(r.seqno, self.own_seqno) {
                    self.own_seqno = r.seqno;
                }
            }
            return;
        }
        let Some(o) = self.origs.get(&r.originator) else {
            return;
        };
        let Some(best) = o.best else {
            return;
        };
        if !seqno::newer(r.seqno, o.best_seqno()) {
            // We can answer from our own route.
            let q = update_of(o, true);
            self.queue_on(now, key.0, q, Some(best.0), true);
            return;
        }
        if r.hop_limit <= 1 || best == key {
            return;
        }
        let seen = (r.originator, r.seqno);
        if self
            .reqs_seen
            .get(&seen)
            .is_some_and(|t| now.since(*t) < REQUEST_SPACING_MS)
        {
            return;
        }
        if self.reqs_seen.len() >= MAX_REQS_SEEN {
            self.counters.drop("seqreq_cap");
            return;
        }
        self.reqs_seen.insert(seen, now);
        let fwd = SeqReq {
            hop_limit: r.hop_limit - 1,
            target: IhuEntry::iid_of(&best.1),
            ..r
        };
        if let Some(i) = self.ifaces.get_mut(&best.0) {
            i.queue.push_req(fwd);
        }
        self.schedule_flush(now, best.0);
    }

    // ----- sending --------------------------------------------------------

    /// Starts a new own seqno and floods it (used on announce changes and
    /// seqno requests).
    fn bump_own(&mut self, now: Time, flags: u8) {
        self.last_own_bump = Some(now);
        self.send_own_ogm(now, flags, flags & OGM_FLAG_URGENT != 0);
    }

    fn send_own_ogm(&mut self, now: Time, flags: u8, urgent: bool) {
        self.own_seqno = self.own_seqno.wrapping_add(1);
        // The neighbour list rides on every `topology_every`-th own OGM (times
        // one per hundred originators known), and on the next one after the
        // set of neighbours changed.
        let mut set: Vec<Ipv6Addr> = self.own_topology().iter().map(|(o, _)| *o).collect();
        set.sort_unstable();
        // Large meshes refresh the map more slowly: its cost grows with the
        // number of originators (changes are still sent at once).
        let scale = (self.origs.len() / 100).max(1) as u32;
        let every = self.cfg.params.topology_every.max(1).saturating_mul(scale);
        let with_topology = self.own_ogms.is_multiple_of(every) || set != self.topology_sent;
        self.own_ogms = self.own_ogms.wrapping_add(1);
        if with_topology {
            self.topology_sent = set;
        }
        // The gateway choice rides along with the neighbour list, at once
        // when it changed, and once more as "none" when it went away
        // (receivers keep the last one they heard).
        let choice = self.gateway_choice();
        let choice_before = self.gw.sent.flatten();
        let with_choice = match (choice, self.gw.sent) {
            (Some(_), sent) if with_topology || sent != Some(choice) => Some(choice),
            (None, Some(Some(_))) => Some(None),
            _ => None,
        };
        if with_choice.is_some() {
            self.gw.sent = with_choice;
        }
        let mut q = self.own_ogm(now, flags, with_topology, with_choice);
        if std::mem::take(&mut self.own_tlvs_changed)
            || with_choice.is_some_and(|c| c != choice_before)
        {
            q.repeat = params::TLV_CHANGE_REPEATS;
        }
        self.queue_all(now, q, None, urgent);
    }

    /// Our neighbours' originators with the link TQ to each (the best link
    /// when several interfaces reach one), best first.
    fn own_topology(&self) -> Vec<(Ipv6Addr, u8)> {
        let mut best: BTreeMap<Ipv6Addr, u8> = BTreeMap::new();
        for n in self.neighbours.values() {
            if let (Some(o), t) = (n.originator, n.evaluated_tq) {
                if t > 0 {
                    let e = best.entry(o).or_insert(0);
                    *e = (*e).max(t);
                }
            }
        }
        let mut v: Vec<(Ipv6Addr, u8)> = best.into_iter().collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Our own OGM with the current seqno.
    fn own_ogm(
        &self,
        now: Time,
        flags: u8,
        with_topology: bool,
        with_choice: Option<Option<Ipv6Addr>>,
    ) -> QueuedOgm {
        let restarted = if now.since(self.started) < RESTART_MARK_MS {
            OGM_FLAG_RESTARTED
        } else {
            0
        };
        let mut tlvs = self.own_tlvs.clone();
        if let Some(choice) = with_choice {
            Tlv::GatewayChoice(choice).emit(&mut tlvs);
        }
        if with_topology {
            // As many neighbours as fit the OGM (255 bytes), best first.
            let room = 255 - wire::OGM_FIXED_LEN - tlvs.len();
            let fit = room.saturating_sub(2) / wire::NEIGHBOUR_ENTRY_LEN;
            let list = self.own_topology();
            let mut body = Vec::new();
            wire::NeighbourList::encode(&list[..list.len().min(fit)], &mut body);
            if let Some(l) = wire::NeighbourList::new(&body) {
                if fit > 0 {
                    Tlv::Neighbours(l).emit(&mut tlvs);
                }
            }
        }
        QueuedOgm {
            originator: self.cfg.originator,
            seqno: self.own_seqno,
            ttl: DEFAULT_TTL,
            tq: TQ_MAX,
            flags: OGM_FLAG_OWN | restarted | flags,
            tlvs,
            repeat: 0,
        }
    }

    /// Queues an OGM on every interface (TQ adjusted per interface).
    fn queue_all(&mut self, now: Time, q: QueuedOgm, in_iface: Option<IfaceId>, urgent: bool) {
        let ids: Vec<IfaceId> = self.ifaces.keys().copied().collect();
        for id in ids {
            self.queue_on(now, id, q.clone(), in_iface, urgent);
        }
    }

    fn queue_on(
        &mut self,
        now: Time,
        id: IfaceId,
        mut q: QueuedOgm,
        in_iface: Option<IfaceId>,
        urgent: bool,
    ) {
        let Some(i) = self.ifaces.get_mut(&id) else {
            return;
        };
        if in_iface == Some(id) {
            let pen = self.cfg.params.kind(i.kind).same_iface_penalty;
            q.tq = tq::same_iface(q.tq, pen);
        }
        i.queue.push_ogm(q);
        if urgent {
            self.schedule_flush(now, id);
        }
    }

    fn schedule_flush(&mut self, now: Time, id: IfaceId) {
        let delay = u64::from(self.cfg.params.trigger_delay_ms);
        let jitter = self.rng.below(delay / 2 + 1);
        if let Some(i) = self.ifaces.get_mut(&id) {
            let at = now.plus(delay / 2 + jitter);
            if i.flush_at.is_none_or(|f| at < f) {
                i.flush_at = Some(at);
            }
        }
    }

    /// Asks neighbour `addr` on `iface` for its table: a wildcard SEQREQ
    /// targeted at it, in our next `repeats` datagrams there.
    fn ask_table(&mut self, iface: IfaceId, addr: &Ipv6Addr, repeats: u8) {
        if let Some(i) = self.ifaces.get_mut(&iface) {
            let iid = IhuEntry::iid_of(addr);
            if let Some((_, left)) = i.dump_asks.iter_mut().find(|(t, _)| *t == iid) {
                *left = (*left).max(repeats);
            } else if i.dump_asks.len() < MAX_DUMP_ASKS {
                i.dump_asks.push((iid, repeats));
            }
        }
    }

    fn queue_dump(&mut self, now: Time, id: IfaceId) {
        let choice = self.gateway_choice().map(Some);
        let q = self.own_ogm(now, OGM_FLAG_UPDATE, true, choice);
        self.queue_on(now, id, q, None, false);
        let mut list: Vec<&Originator> = self.origs.values().filter(|o| o.best.is_some()).collect();
        list.sort_unstable_by_key(|o| o.addr);
        let qs: Vec<(QueuedOgm, Option<IfaceId>)> = list
            .iter()
            .map(|o| (update_of(o, true), o.best.map(|b| b.0)))
            .collect();
        for (q, in_iface) in qs {
            self.queue_on(now, id, q, in_iface, false);
        }
    }

    fn ihu_list(&self, now: Time, id: IfaceId) -> Vec<IhuEntry> {
        let mut v: Vec<IhuEntry> = self
            .neighbours
            .values()
            .filter(|n| n.iface == id)
            .map(|n| IhuEntry {
                iid: IhuEntry::iid_of(&n.addr),
                rxq: n.rx_quality(now),
            })
            .collect();
        // Keep the list inside one datagram: best-heard first.
        v.sort_by(|a, b| b.rxq.cmp(&a.rxq).then(a.iid.cmp(&b.iid)));
        v.truncate(128);
        v
    }

    /// Sends what is queued on `id` (plus IHU and dump when due). Every
    /// datagram is also a hello: it restarts the hello timer.
    fn flush(&mut self, now: Time, id: IfaceId) {
        let Some(i) = self.ifaces.get_mut(&id) else {
            return;
        };
        i.flush_at = None;
        if i.dump_due {
            let spacing = if i.dump_soon {
                CHALLENGE_DUMP_SPACING_MS
            } else {
                DUMP_SPACING_MS
            };
            if i.last_dump.is_none_or(|t| now.since(t) >= spacing) {
                i.dump_due = false;
                i.dump_soon = false;
                i.last_dump = Some(now);
                self.queue_dump(now, id);
            } else if let Some(t) = i.last_dump {
                i.flush_at = Some(t.plus(spacing));
            }
        }
        let Some(i) = self.ifaces.get(&id) else {
            return;
        };
        let every = u64::from(self.cfg.params.ihu_every.max(1));
        let hello_ms = self.cfg.params.kind(i.kind).hello_ms;
        let ihu_period = every * u64::from(hello_ms) - u64::from(hello_ms) / 2;
        let ihu_due = i.ihu_boost > 0 || i.last_ihu.is_none_or(|t| now.since(t) >= ihu_period);
        let ihu = if ihu_due {
            Some(self.ihu_list(now, id))
        } else {
            None
        };
        let jitter_div = u64::from(self.cfg.params.hello_jitter_div.max(1));
        let mut limit = i.max_payload.min(self.cfg.params.max_datagram);
        let link_local = i.link_local;
        if let Some(a) = self.auth.as_mut() {
            limit = limit.saturating_sub(crate::auth::MAX_TRAILER);
            for (kind, body) in a.take_outbox(id) {
                if let Some(i) = self.ifaces.get_mut(&id) {
                    i.queue.push_raw(kind, body);
                }
            }
        }
        let jitter = self.rng.below(u64::from(hello_ms) / jitter_div + 1);
        let Some(i) = self.ifaces.get_mut(&id) else {
            return;
        };
        if ihu_due {
            i.ihu_boost = i.ihu_boost.saturating_sub(1);
            i.last_ihu = Some(now);
        }
        let flags = if i.dump_req_left > 0 {
            i.dump_req_left -= 1;
            FLAG_DUMP_REQ
        } else {
            0
        };
        for (target, left) in &mut i.dump_asks {
            i.queue.push_req(SeqReq {
                originator: Ipv6Addr::UNSPECIFIED,
                seqno: 0,
                hop_limit: 1,
                target: *target,
            });
            *left -= 1;
        }
        i.dump_asks.retain(|(_, left)| *left > 0);
        let mut seq = i.hello_seq;
        let (datagrams, sent) = i.queue.drain(ihu.as_deref(), limit, || {
            seq = seq.wrapping_add(1);
            HeaderRepr {
                flags,
                length: 0,
                seqno: seq,
                interval_ms: hello_ms,
            }
        });
        i.hello_seq = seq;
        i.hellos = i.hellos.wrapping_add(1);
        i.next_hello = now.plus(u64::from(hello_ms) - jitter);
        for s in &sent {
            if s.originator != self.cfg.originator {
                if let Some(o) = self.origs.get_mut(&s.originator) {
                    o.advertised(s.seqno, s.tq);
                }
            }
        }
        self.counters.tx_ogms += sent.len() as u64;
        for mut bytes in datagrams {
            if let Some(a) = self.auth.as_mut() {
                a.seal(id, link_local, &mut bytes);
            }
            self.counters.tx_packets += 1;
            self.counters.tx_bytes += bytes.len() as u64;
            self.counters.tx_frame_bytes += bytes.len() as u64 + FRAME_OVERHEAD;
            self.out.push_back(Output::Transmit { iface: id, bytes });
        }
    }

    // ----- timers ---------------------------------------------------------

    fn on_timer(&mut self, now: Time) {
        if now >= self.next_ogm {
            let p = &self.cfg.params;
            let jitter = self.rng.below(u64::from(p.ogm_jitter_ms) + 1);
            self.next_ogm = now.plus(u64::from(p.ogm_interval_ms).saturating_sub(jitter));
            self.send_own_ogm(now, 0, false);
        }
        let expired: Vec<NeighKey> = self
            .neighbours
            .iter()
            .filter(|(_, n)| now >= n.expires_at())
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.drop_neighbour(now, k, "silent");
        }
        if now >= self.next_housekeeping {
            self.next_housekeeping = now.plus(HOUSEKEEPING_MS);
            self.housekeeping(now);
            self.update_gateways(now);
        }
        let due: Vec<IfaceId> = self
            .ifaces
            .iter()
            .filter(|(_, i)| now >= i.next_hello || i.flush_at.is_some_and(|t| now >= t))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.flush(now, id);
        }
    }

    fn housekeeping(&mut self, now: Time) {
        let p = self.cfg.params.clone();
        let keep = u64::from(p.route_timeout_ms);
        self.dropped_silent.retain(|_, t| now.since(*t) < keep);
        // Expired alternatives are already ignored by selection; the scan
        // that frees them touches every originator, so it runs every 10 s.
        if now >= self.next_expiry_scan {
            self.next_expiry_scan = now.plus(EXPIRY_SCAN_MS);
            let mut touched = Vec::new();
            for o in self.origs.values_mut() {
                if o.expire(now, &p) {
                    touched.push(o.addr);
                }
            }
            touched.sort_unstable();
            for a in touched {
                self.reselect(now, a, None);
            }
            let purge = u64::from(p.purge_ms);
            let dead: Vec<Ipv6Addr> = self
                .origs
                .values()
                .filter(|o| {
                    o.best.is_none() && o.unreachable_since.is_some_and(|t| now.since(t) >= purge)
                })
                .map(|o| o.addr)
                .collect();
            for a in dead {
                if let Some(o) = self.origs.remove(&a) {
                    self.routes.originator_removed(&o);
                    self.gw.note(a, false, false);
                }
            }
        }
        // Link qualities decay with silence: re-check every neighbour.
        let keys: Vec<NeighKey> = self.neighbours.keys().copied().collect();
        for k in keys {
            self.check_link_change(now, k);
        }
        // A neighbour we hear, a second or more after we met, whose own OGM
        // has not come (its first-contact dump was lost, or came before the
        // link was usable) or that does not report hearing us (its IHUs were
        // lost): ask it for its table, which also has it repeat its IHU, once
        // a second, a few times per meeting, rather than wait up to an IHU
        // period or an OGM interval.
        let mut silent: Vec<NeighKey> = self
            .neighbours
            .iter()
            .filter(|(k, n)| {
                n.asks_left > 0
                    && now.since(n.met) >= TABLE_ASK_AFTER_MS
                    && n.rx_quality(now) > 0
                    && (n.originator.is_none() || self.live_link_tq(now, k) == 0)
            })
            .map(|(k, _)| *k)
            .collect();
        for k in &silent {
            if let Some(n) = self.neighbours.get_mut(k) {
                n.asks_left -= 1;
            }
        }
        silent.sort_unstable();
        for (iface, addr) in silent {
            self.ask_table(iface, &addr, 1);
        }
        self.reqs_seen
            .retain(|_, t| now.since(*t) < REQUEST_SPACING_MS * 4);
        let mut pending = self.pending_requests.clone();
        pending.sort_unstable();
        for a in pending {
            self.maybe_request(now, a);
        }
    }

    fn drop_neighbour(&mut self, now: Time, key: NeighKey, reason: &'static str) {
        if self.neighbours.remove(&key).is_none() {
            return;
        }
        if reason == "silent" && self.dropped_silent.len() < MAX_DROPPED_SILENT {
            self.dropped_silent.insert(key, now);
        }
        self.out.push_back(Output::Event(Event::NeighbourDown {
            iface: key.0,
            addr: key.1,
            reason,
        }));
        self.forget_via(now, key);
    }

    /// Drops every alternative learned through `key` and re-selects.
    fn forget_via(&mut self, now: Time, key: NeighKey) {
        let mut affected: Vec<Ipv6Addr> = Vec::new();
        for o in self.origs.values_mut() {
            if o.forget(&key) {
                affected.push(o.addr);
            }
        }
        affected.sort_unstable();
        for a in affected {
            self.reselect(now, a, None);
        }
    }

    fn flush_routes(&mut self, now: Time) {
        let own = self.cfg.originator;
        let mut claimed = Vec::new();
        let announce = &self.own_announce;
        let mut changes = self.routes.commit(&self.origs, own, announce, &mut |e| {
            if let Event::PrefixConflict {
                prefix,
                chosen,
                other,
            } = e
            {
                if chosen == own {
                    claimed.push((prefix, other));
                }
            }
            self.out.push_back(Output::Event(e));
        });
        if !claimed.is_empty() {
            for (prefix, other) in claimed {
                self.prefix_claimed(now, prefix, other);
            }
            // A renumbered node routes what it gave up to its new owner.
            let own = self.cfg.originator;
            let announce = &self.own_announce;
            changes.extend(self.routes.commit(&self.origs, own, announce, &mut |e| {
                self.out.push_back(Output::Event(e));
            }));
        }
        if !changes.is_empty() {
            let gw = &self.gw;
            let touches_gateway = changes.iter().any(|c| {
                let dst = match c {
                    RouteChange::Set(r) => r.dst,
                    RouteChange::Remove(p) => *p,
                };
                gw.known
                    .iter()
                    .chain(gw.choosers.iter())
                    .any(|a| originator_prefix(*a) == dst)
            });
            self.out.push_back(Output::Routes(changes));
            if touches_gateway {
                self.gw.dirty = true;
                self.update_gateways(now);
            }
        }
    }

    // ----- outputs --------------------------------------------------------

    /// Next output; `Output::Timeout` when nothing is pending.
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        Output::Timeout(self.next_deadline())
    }

    fn next_deadline(&self) -> Time {
        let mut t = self.next_ogm.min(self.next_housekeeping);
        for i in self.ifaces.values() {
            t = t.min(i.next_hello);
            if let Some(f) = i.flush_at {
                t = t.min(f);
            }
        }
        for n in self.neighbours.values() {
            t = t.min(n.expires_at());
        }
        t
    }

    /// The full desired routing table, sorted by destination.
    pub fn routes(&self) -> Vec<Route> {
        self.routes.all()
    }

    /// The next hop toward an originator, if routed: (interface, link-local).
    pub fn next_hop(&self, originator: &Ipv6Addr) -> Option<(IfaceId, Ipv6Addr)> {
        self.origs.get(originator).and_then(|o| o.best)
    }

    /// The neighbour's originator address, once learned from its own OGM.
    pub fn neighbour_originator(&self, iface: IfaceId, addr: &Ipv6Addr) -> Option<Ipv6Addr> {
        self.neighbours
            .get(&(iface, *addr))
            .and_then(|n| n.originator)
    }

    pub fn status(&self, now: Time) -> Status {
        status::snapshot(self, now)
    }

    /// The whole mesh as this node knows it (for maps: see `crate::netjson`).
    pub fn topology(&self) -> Topology {
        status::topology(self)
    }
}

/// The host prefix of an originator: /32 for IPv4-mapped, else /128.
pub fn originator_prefix(o: Ipv6Addr) -> Prefix {
    match o.to_ipv4_mapped() {
        Some(v4) => Prefix::host(v4.into()),
        None => Prefix::host(o.into()),
    }
}

/// An `UPDATE` OGM describing our current route to `o`.
fn update_of(o: &Originator, with_tlvs: bool) -> QueuedOgm {
    let mut tlvs = if with_tlvs {
        o.tlvs.clone()
    } else {
        Vec::new()
    };
    // Dumps and new routes also carry the originator's last neighbour list,
    // even when its newest OGM did not, so a joining node sees the map.
    let has_topology = wire::Tlvs::new(&tlvs)
        .flatten()
        .any(|t| matches!(t, Tlv::Neighbours(_)));
    if with_tlvs && !has_topology && !o.topology.is_empty() {
        let room = 255 - wire::OGM_FIXED_LEN - tlvs.len();
        let fit = room.saturating_sub(2) / wire::NEIGHBOUR_ENTRY_LEN;
        let mut body = Vec::new();
        wire::NeighbourList::encode(&o.topology[..o.topology.len().min(fit)], &mut body);
        if let (true, Some(l)) = (fit > 0, wire::NeighbourList::new(&body)) {
            Tlv::Neighbours(l).emit(&mut tlvs);
        }
    }
    // Every OGM about a zero-config originator names the node, so two
    // claimants of one address are told apart wherever they meet.
    if let (Some(id), None) = (o.node_id, zeroconf::node_id_of(&tlvs)) {
        let t = Tlv::NodeId(id);
        if tlvs.len() + t.buffer_len() <= 255 - wire::OGM_FIXED_LEN {
            t.emit(&mut tlvs);
        }
    }
    let has_choice = wire::Tlvs::new(&tlvs)
        .flatten()
        .any(|t| matches!(t, Tlv::GatewayChoice(_)));
    if with_tlvs && !has_choice && o.gw_choice.is_some() {
        let t = Tlv::GatewayChoice(o.gw_choice);
        if tlvs.len() + t.buffer_len() <= 255 - wire::OGM_FIXED_LEN {
            t.emit(&mut tlvs);
        }
    }
    QueuedOgm {
        originator: o.addr,
        seqno: o.best_seqno(),
        ttl: o.best_ttl().saturating_sub(1).max(1),
        tq: o.best_tq,
        flags: OGM_FLAG_UPDATE | if o.restarted { OGM_FLAG_RESTARTED } else { 0 },
        tlvs,
        repeat: 0,
    }
}

fn decode_tlvs(o: &mut Originator) {
    let mut announced = Vec::new();
    let mut hostname = None;
    let mut gateway = None;
    for t in wire::Tlvs::new(&o.tlvs).flatten() {
        match t {
            Tlv::Prefix(p) => announced.push(p),
            Tlv::Hostname(h) => hostname = Some(h.to_string()),
            Tlv::Gateway { down, up } => gateway = Some((down, up)),
            Tlv::Neighbours(l) => {
                o.topology = l.entries().collect();
            }
            Tlv::GatewayChoice(g) => o.gw_choice = g,
            Tlv::NodeId(id) => o.node_id = Some(id),
            Tlv::Unknown { .. } => {}
        }
    }
    o.announced = announced;
    o.hostname = hostname;
    o.gateway = gateway;
}

#[cfg(test)]
mod tests;
