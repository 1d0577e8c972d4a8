//! The event loop: sleeps until the engine's next deadline or an event
//! (datagram, netlink, signal, control client), feeds the engine and
//! executes its outputs.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::Ipv6Addr;
use std::os::fd::AsRawFd;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use super::control::ControlServer;
use super::gateway::{self, GatewaySync, UplinkWatch};
use super::link::LinkWatch;
use super::query::{self, IfaceState};
use super::route::RouteSync;
use super::signals::{Sig, Signals};
use super::socket::{MeshSocket, OpenError, Received, HEADER_OVERHEAD};
use super::time::Clock;
use super::{addr, iftype, log, neigh, rules, sysctl, Error};
use crate::config::{
    GatewayMode, Settings, DEFAULT_GATEWAY_TABLE, DEFAULT_PIN_TABLE_BASE, PIN_TABLES,
    RULE_PRIO_GATEWAY, RULE_PRIO_MAIN_SPECIFIC, RULE_PRIO_TABLE,
};
use crate::engine::{
    Engine, EngineConfig, Event, IfaceKind, Input, Output, Params, Time, ZeroconfConfig,
};
use crate::prefix::Prefix;

const T_SIGNAL: Token = Token(0);
const T_ROUTE: Token = Token(1);
const T_LINK: Token = Token(2);
const T_UPLINK: Token = Token(3);
const T_CONTROL: Token = Token(4);
/// Control clients use tokens above T_CONTROL (see control.rs); mesh
/// sockets use tokens from here.
const MESH_TOKEN_BASE: usize = 4096;
/// Full kernel route reconcile (dump and compare) this often.
const RESYNC_MS: u64 = 60_000;
/// Mesh datagram buffer: a jumbo frame's payload. Roost sends at most
/// `max_datagram` (1400) plus an authentication trailer; anything longer is
/// counted as truncated and dropped.
const RX_BUF: usize = 9216;
/// Datagrams read from one mesh socket per loop turn: a flooded interface
/// must not starve the others, the control socket or the timers.
const RX_BUDGET: usize = 256;

/// An open mesh interface.
struct Active {
    name: String,
    ifindex: u32,
    kind: IfaceKind,
    link_local: Ipv6Addr,
    mtu: u32,
    sock: MeshSocket,
    token: Token,
}

pub struct Daemon {
    settings: Settings,
    clock: Clock,
    poll: Poll,
    engine: Engine,
    route: RouteSync,
    gateway: GatewaySync,
    uplink: UplinkWatch,
    /// Main has a default route of our own (gateway mode `auto` offers it).
    own_uplink: bool,
    links: LinkWatch,
    control: ControlServer,
    signals: Signals,
    active: Vec<Active>,
    missing_warned: BTreeSet<String>,
    engine_deadline: Time,
    next_resync: Time,
    next_mesh_token: usize,
    rx_buf: Vec<u8>,
    /// Mesh sockets whose read budget ran out: read again next turn.
    rx_pending: Vec<Token>,
    /// What the engine was last told to announce (config and
    /// `announce_interface` prefixes).
    announce: Vec<Prefix>,
    /// The derived originator must be (re)placed on its interface.
    own_addr_dirty: bool,
    /// Neighbours get managed kernel neighbour entries (until the kernel
    /// refuses them once).
    managed_neigh: bool,
    /// The entries this run added: (ifindex, address).
    own_neigh: BTreeSet<(u32, Ipv6Addr)>,
}

/// Key ids for the log: `3, 7`.
fn ids(ids: &[u8]) -> String {
    let v: Vec<String> = ids.iter().map(u8::to_string).collect();
    v.join(", ")
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_ne_bytes(b),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            t ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}

fn port_in_use(port: u16, ifname: &str) -> Error {
    Error::Runtime(format!(
        "UDP port {port} is already in use on {ifname} (is another roost running on this interface?)"
    ))
}

fn system_hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname").ok()
}

impl Daemon {
    /// Sets everything up. Order matters: refuse to start (control socket
    /// answered, port in use) before touching the kernel's routes and rules.
    pub fn start(settings: Settings) -> Result<Daemon, Error> {
        let clock = Clock::new();
        let poll = Poll::new().map_err(Error::io("cannot create the event loop"))?;
        let control = ControlServer::bind(&settings.control_socket, T_CONTROL.0).map_err(|e| {
            Error::Runtime(format!(
                "control socket {}: {e}",
                settings.control_socket.display()
            ))
        })?;
        let fail = |control: &ControlServer, e: Error| {
            control.remove();
            e
        };
        let signals = Signals::new()
            .map_err(Error::io("cannot set up signal handling"))
            .map_err(|e| fail(&control, e))?;
        let links = LinkWatch::new()
            .map_err(Error::io("netlink link watch"))
            .map_err(|e| fail(&control, e))?;
        let mac_of = |name: &str| {
            links
                .by_name(name)
                .and_then(|l| l.mac)
                .or_else(|| iftype::mac_address(name))
        };
        let zeroconf = zeroconf_config(&settings, mac_of).map_err(|e| fail(&control, e))?;
        let originator = match &zeroconf {
            Some(z) if z.derive_originator => z.site.derive(z.mac, 0).originator,
            _ => settings
                .choose_originator(mac_of)
                .map_err(Error::Config)
                .map_err(|e| fail(&control, e))?,
        };
        if let Some(z) = &zeroconf {
            let d = z.site.derive(z.mac, 0);
            log::info!(
                "zero-config: site {} {}, derived originator {}{}, LAN {} {}, node id {}",
                z.site.prefix6,
                z.site.prefix4,
                d.originator,
                if z.derive_originator {
                    ""
                } else {
                    " (unused: explicit originator)"
                },
                d.lan6,
                d.lan4,
                crate::engine::zeroconf::hex_id(&z.node_id)
            );
        }
        let announce = effective_announce(&settings, &links);
        let hostname = settings.effective_hostname(system_hostname);
        let uplink = UplinkWatch::new()
            .map_err(Error::io("netlink route watch"))
            .map_err(|e| fail(&control, e))?;
        let mesh: Vec<u32> = mesh_ifindexes(&settings, &links);
        let own_uplink = gateway::has_uplink(&mesh).unwrap_or_else(|e| {
            log::warning!("cannot read main's default routes: {e}");
            false
        });
        log::info!(
            "roost {} starting: originator {originator}, table {}, port {}, group {}",
            env!("CARGO_PKG_VERSION"),
            settings.table,
            settings.port,
            settings.group
        );
        let mut engine = Engine::new(
            EngineConfig {
                originator,
                announce: announce.clone(),
                hostname,
                gateway_offer: offer(settings.gateway, own_uplink),
                gateway_class: settings.gateway.selects().then_some(settings.gateway_class),
                zeroconf,
                params: Params {
                    max_originators: settings.max_originators,
                    max_neighbours: settings.max_neighbours,
                    ..Params::default()
                },
            },
            seed(),
            clock.now(),
        );
        engine.set_keys(settings.keys.clone());
        if !settings.keys.is_empty() {
            log::info!("authentication on: key ids {}", ids(&engine.key_ids()));
        }
        // Refuse to start if another daemon uses the port on one of our
        // interfaces, before touching the kernel's routes and rules.
        for c in &settings.interfaces {
            if let Some(l) = links.by_name(&c.ifname) {
                let probe = MeshSocket::open(&c.ifname, l.index, settings.group, settings.port);
                if let Err(OpenError::InUse) = probe {
                    control.remove();
                    return Err(port_in_use(settings.port, &c.ifname));
                }
            }
        }
        let table = settings.table;
        // Stale routes are removed here.
        let route = RouteSync::new(table)
            .map_err(Error::io("netlink route socket"))
            .map_err(|e| fail(&control, e))?;
        let gateway = GatewaySync::new(DEFAULT_GATEWAY_TABLE, DEFAULT_PIN_TABLE_BASE, PIN_TABLES)
            .map_err(Error::io("netlink route socket"))
            .map_err(|e| fail(&control, e))?;
        log::info!(
            "gateway mode {}{}",
            settings.gateway,
            match settings.gateway {
                GatewayMode::Auto(..) if own_uplink => " (uplink present: offering it)",
                GatewayMode::Auto(..) => " (no uplink: client)",
                _ => "",
            }
        );
        let mut d = Daemon {
            settings,
            clock,
            poll,
            engine,
            route,
            gateway,
            uplink,
            own_uplink,
            links,
            control,
            signals,
            active: Vec::new(),
            missing_warned: BTreeSet::new(),
            engine_deadline: Time::ZERO,
            next_resync: Time(RESYNC_MS),
            next_mesh_token: 0,
            rx_buf: vec![0; RX_BUF],
            rx_pending: Vec::new(),
            announce,
            own_addr_dirty: true,
            managed_neigh: true,
            own_neigh: BTreeSet::new(),
        };
        if let Err(e) = d.finish_start() {
            d.shutdown();
            return Err(e);
        }
        Ok(d)
    }

    fn finish_start(&mut self) -> Result<(), Error> {
        let reg = self.poll.registry();
        let r = Error::io("cannot register with the event loop");
        reg.register(
            &mut SourceFd(&self.signals.as_raw_fd()),
            T_SIGNAL,
            Interest::READABLE,
        )
        .map_err(&r)?;
        reg.register(
            &mut SourceFd(&self.route.as_raw_fd()),
            T_ROUTE,
            Interest::READABLE,
        )
        .map_err(&r)?;
        reg.register(
            &mut SourceFd(&self.links.as_raw_fd()),
            T_LINK,
            Interest::READABLE,
        )
        .map_err(&r)?;
        reg.register(
            &mut SourceFd(&self.uplink.as_raw_fd()),
            T_UPLINK,
            Interest::READABLE,
        )
        .map_err(&r)?;
        self.control.register(reg, T_CONTROL).map_err(&r)?;
        let now = self.clock.now();
        self.reconcile_ifaces(now)?;
        sysctl::setup_global();
        let table = self.settings.table;
        match rules::install(table, DEFAULT_GATEWAY_TABLE) {
            Ok(()) => log::info!(
                "rules: {RULE_PRIO_MAIN_SPECIFIC} lookup main suppress_prefixlength 0, {RULE_PRIO_TABLE} lookup {table}, {RULE_PRIO_GATEWAY} lookup {DEFAULT_GATEWAY_TABLE}"
            ),
            // A kernel without policy routing (or an emulator that does not
            // translate rule messages): routing still runs, but nothing
            // consults the table until someone adds the rules.
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => log::error!(
                "cannot install ip rules ({e}): the kernel does not support them; Roost's routes in table {table} are not used until rules like `ip rule add lookup {table}` are added by other means"
            ),
            Err(e) => return Err(Error::io("cannot install ip rules")(e)),
        }
        // Entries a crashed run left behind.
        match neigh::remove_all() {
            Ok(0) => {}
            Ok(n) => log::info!("removed {n} stale neighbour entries"),
            Err(e) => log::debug!("cannot list neighbour entries: {e}"),
        }
        self.sync_own_address();
        Ok(())
    }

    /// Makes Roost's own kernel addresses (protocol 77) exactly the derived
    /// originator on its interface (none without zero-config or with an
    /// explicit originator): stale ones (a crash, a renumbering) go.
    fn sync_own_address(&mut self) {
        self.own_addr_dirty = false;
        let zc = &self.settings.zeroconf;
        let want = self
            .engine
            .zeroconf_status()
            .filter(|z| z.originator_derived)
            .map(|z| (zc.address_interface().to_string(), z.derived_originator));
        let want = match want {
            Some((name, a)) => match self.links.by_name(&name) {
                Some(l) => Some((l.index, a)),
                None => {
                    log::warning!("zero-config: interface {name} does not exist; {a} not added");
                    None
                }
            },
            None => None,
        };
        let have = match addr::list() {
            Ok(h) => h,
            Err(e) => {
                log::error!("cannot list addresses: {e}");
                return;
            }
        };
        for (ifindex, a) in have.iter().filter(|h| Some(**h) != want) {
            match addr::del(*ifindex, *a) {
                Ok(()) => log::info!(
                    "removed our address {a}/128 from {}",
                    self.iface_name(*ifindex)
                ),
                Err(e) => log::error!("cannot remove our address {a}: {e}"),
            }
        }
        if let Some((ifindex, a)) = want.filter(|w| !have.contains(w)) {
            let name = self.iface_name(ifindex);
            match addr::add(ifindex, a) {
                Ok(()) => log::info!("added the derived originator {a}/128 to {name}"),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    log::warning!("{a} is already on {name} (not added by Roost): leaving it alone")
                }
                Err(e) => log::error!("cannot add {a}/128 to {name}: {e}"),
            }
        }
    }

    /// Tells the engine when the announced prefixes changed (config reload,
    /// addresses of an `announce_interface`).
    fn update_announce(&mut self, now: Time) {
        let want = effective_announce(&self.settings, &self.links);
        if want != self.announce {
            log::info!(
                "announcing {}",
                want.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            self.announce = want.clone();
            self.engine.handle_input(now, Input::SetAnnounce(want));
        }
    }

    /// Removes Roost's routes, rules, own address, neighbour entries and
    /// control socket.
    pub fn shutdown(&mut self) {
        match neigh::remove_all() {
            Ok(n) => log::debug!("removed {n} neighbour entries"),
            Err(e) => log::debug!("cannot remove neighbour entries: {e}"),
        }
        match addr::list() {
            Ok(own) => {
                for (ifindex, a) in own {
                    match addr::del(ifindex, a) {
                        Ok(()) => log::info!("removed our address {a}/128"),
                        Err(e) => log::error!("cannot remove our address {a}: {e}"),
                    }
                }
            }
            Err(e) => log::error!("cannot list addresses: {e}"),
        }
        match rules::remove_all() {
            Ok(n) => log::debug!("removed {n} rules"),
            Err(e) => log::error!("cannot remove ip rules: {e}"),
        }
        match self.route.remove_all() {
            Ok(n) => log::info!("removed {n} routes"),
            Err(e) => log::error!("cannot remove routes: {e}"),
        }
        match self.gateway.remove_routes() {
            Ok(n) => log::debug!("removed {n} gateway routes"),
            Err(e) => log::error!("cannot remove gateway routes: {e}"),
        }
        self.control.remove();
    }

    pub fn run_loop(&mut self) -> Result<(), Error> {
        let mut events = Events::with_capacity(64);
        loop {
            let now = self.clock.now();
            self.drain_engine();
            if self.own_addr_dirty {
                self.sync_own_address();
            }
            self.route.flush(now);
            let mut deadline = self.engine_deadline.min(self.next_resync);
            if let Some(t) = self.route.next_deadline() {
                deadline = deadline.min(t);
            }
            let timeout = if self.rx_pending.is_empty() {
                self.clock.until(deadline)
            } else {
                Some(std::time::Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Runtime(format!("event loop: {e}"))),
            }
            let now = self.clock.now();
            for ev in events.iter() {
                match ev.token() {
                    T_SIGNAL => match self.signals.read().map_err(Error::io("signalfd"))? {
                        Some(Sig::Stop) => {
                            log::info!("stopping");
                            return Ok(());
                        }
                        Some(Sig::Reload) => self.reload(now)?,
                        None => {}
                    },
                    T_ROUTE => {
                        if let Err(e) = self.route.handle_readable(now) {
                            log::warning!("route sync: {e}");
                        }
                    }
                    T_LINK => {
                        if self
                            .links
                            .handle_readable()
                            .map_err(Error::io("netlink link watch"))?
                        {
                            self.reconcile_ifaces(now)?;
                            self.update_announce(now);
                        }
                    }
                    T_UPLINK => {
                        if self.uplink.handle_readable() {
                            self.check_uplink(now);
                        }
                    }
                    T_CONTROL => self.control.accept(self.poll.registry()),
                    t if self.control.owns(t) => self.serve_client(t, now),
                    t => self.read_mesh(t, now),
                }
            }
            // Sockets left readable by their budget (edge-triggered: no
            // new event would come for them).
            for t in std::mem::take(&mut self.rx_pending) {
                self.read_mesh(t, now);
            }
            if now >= self.engine_deadline {
                self.engine.handle_input(now, Input::Timer);
            }
            if now >= self.next_resync {
                self.full_reconcile(now);
            }
        }
    }

    fn full_reconcile(&mut self, now: Time) {
        self.next_resync = now.plus(RESYNC_MS);
        self.route.set_desired(self.engine.routes());
        if let Err(e) = self.route.resync(now) {
            log::warning!("route resync: {e}");
        }
        self.check_uplink(now);
        if !self.gateway.in_sync().unwrap_or(false) {
            log::info!("gateway routes differ from the kernel's: resynchronising");
            if let Err(e) = self.gateway.resync(self.own_uplink) {
                log::warning!("gateway resync: {e}");
            }
        }
    }

    /// Re-reads main's default routes; offers or withdraws the uplink in
    /// gateway mode `auto`.
    fn check_uplink(&mut self, now: Time) {
        let mesh = mesh_ifindexes(&self.settings, &self.links);
        let has = match gateway::has_uplink(&mesh) {
            Ok(h) => h,
            Err(e) => {
                log::warning!("cannot read main's default routes: {e}");
                return;
            }
        };
        if has == self.own_uplink {
            return;
        }
        self.own_uplink = has;
        if let GatewayMode::Auto(..) = self.settings.gateway {
            log::info!(
                "{}",
                if has {
                    "uplink appeared (default route in main): offering it to the mesh"
                } else {
                    "uplink gone (no default route in main): using the mesh's gateways"
                }
            );
            self.engine.handle_input(
                now,
                Input::SetGatewayOffer(offer(self.settings.gateway, has)),
            );
        }
        let plan = self.gateway.plan().clone();
        self.apply_gateways(&plan);
    }

    fn apply_gateways(&mut self, plan: &crate::engine::gateway::GatewayPlan) {
        let before = self.gateway.plan().own.map(|p| p.gateway);
        if let Err(e) = self.gateway.apply(plan, self.own_uplink) {
            log::warning!("gateway routes: {e}");
        }
        let after = plan.own.map(|p| p.gateway);
        if before != after {
            match after {
                Some(g) => log::info!("gateway: using {g}"),
                None if plan.serving => log::info!("gateway: offering our own uplink"),
                None => log::info!("gateway: none"),
            }
        }
    }

    fn drain_engine(&mut self) {
        loop {
            match self.engine.poll_output() {
                Output::Transmit { iface, bytes } => {
                    let Some(a) = self.active.iter().find(|a| a.ifindex == iface) else {
                        log::debug!("engine sent on unknown interface #{iface}");
                        continue;
                    };
                    if let Err(e) = a.sock.send(&bytes, a.link_local) {
                        log::debug!("{}: send failed: {e}", a.name);
                    }
                }
                Output::Routes(changes) => self.route.apply(changes),
                Output::Gateways(plan) => self.apply_gateways(&plan),
                Output::Event(e) => {
                    match e {
                        Event::Renumbered { .. } => self.own_addr_dirty = true,
                        Event::NeighbourUp { iface, addr } => self.keep_resolved(iface, addr),
                        Event::NeighbourDown { iface, addr, .. }
                            if self.own_neigh.remove(&(iface, addr)) =>
                        {
                            if let Err(e) = neigh::del(iface, addr) {
                                log::debug!("cannot remove the neighbour entry of {addr}: {e}");
                            }
                        }
                        _ => {}
                    }
                    self.log_event(&e);
                }
                Output::Timeout(t) => {
                    // A deadline already past makes the next poll return at
                    // once and the loop deliver `Input::Timer`.
                    self.engine_deadline = t;
                    return;
                }
            }
        }
    }

    /// Asks the kernel to keep neighbour `addr` resolved (see
    /// [`neigh`]); a kernel that cannot is told so once.
    fn keep_resolved(&mut self, iface: u32, addr: Ipv6Addr) {
        if !self.managed_neigh {
            return;
        }
        match neigh::add_managed(iface, addr) {
            Ok(true) => {
                self.own_neigh.insert((iface, addr));
            }
            Ok(false) => {}
            Err(e) => self.neigh_refused(addr, &e),
        }
    }

    /// A managed entry was refused: an old kernel is told once and not
    /// asked again.
    fn neigh_refused(&mut self, addr: Ipv6Addr, e: &std::io::Error) {
        let old_kernel = matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::EOPNOTSUPP | libc::EPROTONOSUPPORT)
        );
        if old_kernel {
            self.managed_neigh = false;
            log::warning!(
                "the kernel keeps no managed neighbour entries ({e}): next hops are resolved when traffic first needs them"
            );
        } else {
            log::debug!("cannot add a neighbour entry for {addr}: {e}");
        }
    }

    fn iface_name(&self, ifindex: u32) -> String {
        self.active
            .iter()
            .find(|a| a.ifindex == ifindex)
            .map(|a| a.name.clone())
            .or_else(|| self.links.by_index(ifindex).map(|l| l.name.clone()))
            .unwrap_or_else(|| format!("#{ifindex}"))
    }

    fn log_event(&self, e: &Event) {
        match e {
            Event::NeighbourUp { iface, addr } => {
                log::info!("neighbour {addr} up on {}", self.iface_name(*iface))
            }
            Event::NeighbourDown {
                iface,
                addr,
                reason,
            } => log::info!(
                "neighbour {addr} down on {} ({reason})",
                self.iface_name(*iface)
            ),
            Event::OriginatorUp { originator } => log::info!("originator {originator} reachable"),
            Event::OriginatorDown { originator } => {
                log::info!("originator {originator} unreachable")
            }
            Event::SeqnoReset { originator } => {
                log::info!("originator {originator} restarted (sequence numbers reset)")
            }
            Event::PrefixConflict {
                prefix,
                chosen,
                other,
            } => log::warning!("prefix {prefix} announced by {chosen} and {other}; using {chosen}"),
            Event::PrefixOverlap {
                prefix,
                originator,
                more_specific,
                other,
            } => log::info!(
                "prefix {prefix} of {originator} overlaps {more_specific} of {other}; the longest match wins"
            ),
            Event::DuplicateOriginator {
                originator,
                other_node,
                gave_way,
            } => log::warning!(
                "DUPLICATE: another node (node id {}) uses our originator address {originator}; {}",
                crate::engine::zeroconf::hex_id(other_node),
                if *gave_way {
                    "we give way and derive a new address"
                } else {
                    "the other node is to give way"
                }
            ),
            Event::DuplicatePrefix {
                prefix,
                other,
                gave_way,
            } => log::warning!(
                "DUPLICATE: {other} announces our derived prefix {prefix}; {}",
                if *gave_way {
                    "we give way and derive a new one"
                } else {
                    "the other node is to give way"
                }
            ),
            Event::Renumbered {
                old_originator,
                originator,
                lan,
                originator_attempt,
                attempt,
            } => log::warning!(
                "zero-config renumbered: originator {old_originator} -> {originator} (attempt {originator_attempt}), LAN {} (attempt {attempt})",
                lan.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" ")
            ),
        }
    }

    fn read_mesh(&mut self, token: Token, now: Time) {
        let Some(a) = self.active.iter().find(|a| a.token == token) else {
            return;
        };
        for _ in 0..RX_BUDGET {
            match a.sock.recv(&mut self.rx_buf) {
                Ok(Some(Received::Packet { src, len })) => {
                    let bytes = self.rx_buf.get(..len).unwrap_or(&[]).to_vec();
                    self.engine.handle_input(
                        now,
                        Input::Packet {
                            iface: a.ifindex,
                            src,
                            bytes,
                        },
                    );
                }
                Ok(Some(Received::Dropped(why))) => {
                    log::debug!("{}: dropped datagram: {why}", a.name)
                }
                Ok(None) => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("{}: receive failed: {e}", a.name);
                    return;
                }
            }
        }
        if !self.rx_pending.contains(&token) {
            self.rx_pending.push(token);
        }
    }

    fn serve_client(&mut self, token: Token, now: Time) {
        let ctx = query::Ctx {
            engine: &self.engine,
            route: Some(&self.route),
            table: self.settings.table,
            ifaces: self.iface_states(),
            now,
            gateway_mode: self.settings.gateway.to_string(),
        };
        self.control.serve(self.poll.registry(), token, |line| {
            query::answer(&ctx, line)
        });
    }

    fn iface_states(&self) -> Vec<IfaceState> {
        self.settings
            .interfaces
            .iter()
            .map(|c| {
                let link = self.links.by_name(&c.ifname);
                let state = if self.active.iter().any(|a| a.name == c.ifname) {
                    "up".to_string()
                } else {
                    match link {
                        None => "missing".to_string(),
                        Some(l) => format!("waiting: {}", l.why_unusable()),
                    }
                };
                IfaceState {
                    name: c.ifname.clone(),
                    ifindex: link.map(|l| l.index),
                    state,
                }
            })
            .collect()
    }

    /// Makes the open sockets and the engine's interfaces match the
    /// configuration and the links' state.
    fn reconcile_ifaces(&mut self, now: Time) -> Result<(), Error> {
        let mut went_down = false;
        let mut i = 0;
        while i < self.active.len() {
            let a = &self.active[i];
            let configured = self.settings.interfaces.iter().any(|c| c.ifname == a.name);
            let reason = match self.links.by_index(a.ifindex) {
                _ if !configured => Some("removed from the configuration"),
                None => Some("disappeared"),
                Some(l) if l.name != a.name => Some("renamed"),
                Some(l) => l
                    .usable_link_local(Some(a.link_local))
                    .is_none()
                    .then(|| l.why_unusable()),
            };
            match reason {
                Some(why) => {
                    let mut a = self.active.swap_remove(i);
                    let _ = self
                        .poll
                        .registry()
                        .deregister(&mut SourceFd(&a.sock.as_raw_fd()));
                    self.engine
                        .handle_input(now, Input::InterfaceDown { iface: a.ifindex });
                    log::info!("{}: down ({why})", a.name);
                    went_down = true;
                    a.name.clear();
                }
                None => i += 1,
            }
        }
        for conf in self.settings.interfaces.clone() {
            let name = conf.ifname.as_str();
            let Some(link) = self.links.by_name(name) else {
                if self.missing_warned.insert(name.to_string()) {
                    log::warning!("interface {name} does not exist; waiting for it");
                }
                continue;
            };
            self.missing_warned.remove(name);
            let kind = conf.kind.unwrap_or_else(|| iftype::detect(name));
            let max_payload = link.mtu.saturating_sub(HEADER_OVERHEAD) as usize;
            if let Some(a) = self.active.iter_mut().find(|a| a.name == name) {
                let Some(ll) = link.usable_link_local(Some(a.link_local)) else {
                    continue;
                };
                if ll != a.link_local || link.mtu != a.mtu || kind != a.kind {
                    a.link_local = ll;
                    a.mtu = link.mtu;
                    a.kind = kind;
                    log::info!(
                        "{name}: updated ({}, {ll}, mtu {})",
                        kind.as_str(),
                        link.mtu
                    );
                    self.engine.handle_input(
                        now,
                        Input::InterfaceUp {
                            iface: a.ifindex,
                            name: name.to_string(),
                            kind,
                            max_payload,
                            link_local: ll,
                        },
                    );
                }
                continue;
            }
            let Some(ll) = link.usable_link_local(None) else {
                log::debug!("{name}: not usable yet ({})", link.why_unusable());
                continue;
            };
            let (ifindex, mtu) = (link.index, link.mtu);
            sysctl::setup_iface(name);
            let sock = match MeshSocket::open(
                name,
                ifindex,
                self.settings.group,
                self.settings.port,
            ) {
                Ok(s) => s,
                Err(OpenError::InUse) => return Err(port_in_use(self.settings.port, name)),
                Err(OpenError::Other(e)) => {
                    log::warning!("{name}: cannot open the mesh socket: {e}; retrying on the next link change");
                    continue;
                }
            };
            let token = Token(MESH_TOKEN_BASE + self.next_mesh_token % (1 << 20));
            self.next_mesh_token = self.next_mesh_token.wrapping_add(1);
            if let Err(e) = self.poll.registry().register(
                &mut SourceFd(&sock.as_raw_fd()),
                token,
                Interest::READABLE,
            ) {
                log::warning!("{name}: cannot register the mesh socket: {e}");
                continue;
            }
            log::info!(
                "{name}: up (ifindex {ifindex}, {}, {ll}, mtu {mtu})",
                kind.as_str()
            );
            self.engine.handle_input(
                now,
                Input::InterfaceUp {
                    iface: ifindex,
                    name: name.to_string(),
                    kind,
                    max_payload,
                    link_local: ll,
                },
            );
            self.active.push(Active {
                name: name.to_string(),
                ifindex,
                kind,
                link_local: ll,
                mtu,
                sock,
                token,
            });
        }
        if went_down {
            // The kernel drops (IPv4: silently) routes through a downed
            // interface: find out what is left.
            if let Err(e) = self.route.resync(now) {
                log::warning!("route resync: {e}");
            }
        }
        Ok(())
    }

    /// SIGHUP: re-read the configuration; routes stay in place.
    fn reload(&mut self, now: Time) -> Result<(), Error> {
        let new = match Settings::load(&self.settings.overrides) {
            Ok(s) => s,
            Err(e) => {
                log::error!("reload failed, keeping the running configuration: {e}");
                return Ok(());
            }
        };
        let old = &self.settings;
        let restart: Vec<&str> = [
            ("originator", old.originator != new.originator),
            ("table", old.table != new.table),
            ("port", old.port != new.port),
            ("group", old.group != new.group),
            ("control_socket", old.control_socket != new.control_socket),
            (
                "max_originators",
                old.max_originators != new.max_originators,
            ),
            ("max_neighbours", old.max_neighbours != new.max_neighbours),
            ("zero-config options", old.zeroconf != new.zeroconf),
        ]
        .into_iter()
        .filter_map(|(n, changed)| changed.then_some(n))
        .collect();
        if !restart.is_empty() {
            log::warning!(
                "changed {} take effect only after a restart",
                restart.join(", ")
            );
        }
        log::set_level(new.log_level);
        if new.hostname != self.settings.hostname {
            let name = new.effective_hostname(system_hostname);
            self.engine.handle_input(now, Input::SetHostname(name));
        }
        if new.keys != self.settings.keys {
            self.engine.set_keys(new.keys.clone());
            log::info!("mesh keys changed: key ids {}", ids(&self.engine.key_ids()));
        }
        self.settings.keys = new.keys;
        self.settings.hostname = new.hostname;
        self.settings.log_level = new.log_level;
        self.settings.announce = new.announce;
        self.settings.announce_interfaces = new.announce_interfaces;
        self.settings.interfaces = new.interfaces;
        self.reconcile_ifaces(now)?;
        self.update_announce(now);
        log::info!("configuration reloaded");
        Ok(())
    }
}

/// The offer gateway mode `mode` makes, given whether main has an uplink.
fn offer(mode: GatewayMode, own_uplink: bool) -> Option<(u32, u32)> {
    match mode {
        GatewayMode::Server(d, u) => Some((d, u)),
        GatewayMode::Auto(d, u) if own_uplink => Some((d, u)),
        _ => None,
    }
}

/// The zero-config settings for the engine (`None`: off). The MAC comes
/// from the override or the MAC interface (default: the first mesh
/// interface); the node id from that interface's own MAC.
fn zeroconf_config(
    settings: &Settings,
    mac_of: impl Fn(&str) -> Option<[u8; 6]>,
) -> Result<Option<ZeroconfConfig>, Error> {
    let zc = &settings.zeroconf;
    let Some(site) = zc.site().map_err(Error::Config)? else {
        return Ok(None);
    };
    let name = zc
        .mac_interface
        .clone()
        .or_else(|| settings.interfaces.first().map(|i| i.ifname.clone()))
        .unwrap_or_default();
    let hw = mac_of(&name);
    let Some(mac) = zc.mac.or(hw) else {
        return Err(Error::Config(format!(
            "zero-config: no MAC address for '{name}' (set option zeroconf_mac or zeroconf_interface)"
        )));
    };
    Ok(Some(ZeroconfConfig {
        site,
        mac,
        node_id: crate::zeroconf::node_id(hw.unwrap_or(mac)),
        derive_originator: settings.originator.is_none(),
    }))
}

/// The configured prefixes, then those of the `announce_interface`s'
/// addresses.
fn effective_announce(settings: &Settings, links: &LinkWatch) -> Vec<Prefix> {
    let mut v = settings.announce.clone();
    for name in &settings.announce_interfaces {
        for p in links
            .by_name(name)
            .map(|l| l.prefixes())
            .unwrap_or_default()
        {
            if !v.contains(&p) {
                v.push(p);
            }
        }
    }
    v
}

/// The ifindexes of the configured mesh interfaces that exist.
fn mesh_ifindexes(settings: &Settings, links: &LinkWatch) -> Vec<u32> {
    settings
        .interfaces
        .iter()
        .filter_map(|c| links.by_name(&c.ifname).map(|l| l.index))
        .collect()
}
