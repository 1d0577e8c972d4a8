//! Daemon settings: defaults, the UCI config file and command-line overrides.
//! `docs/CONFIG.md` is the user-facing contract for everything here.

pub mod gateway;
pub mod uci;

pub use gateway::GatewayMode;

use std::fmt;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::engine::IfaceKind;
use crate::prefix::Prefix;

/// Read when no `-c` is given and the file exists (OpenWrt).
pub const DEFAULT_CONFIG_FILE: &str = "/etc/config/roost";
/// UDP port of the protocol.
pub const DEFAULT_PORT: u16 = 4310;
/// Link-local multicast group the protocol is sent to: `ff02::1:76`.
pub const DEFAULT_GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 0x76);
/// Kernel routing table holding Roost's routes.
pub const DEFAULT_TABLE: u32 = 76;
/// Route protocol number (`proto 77`) tagging Roost's routes and rules.
pub const ROUTE_PROTOCOL: u8 = 77;
/// `ip rule` priority of `lookup main suppress_prefixlength 0`.
pub const RULE_PRIO_MAIN_SPECIFIC: u32 = 7500;
/// `ip rule` priority of `lookup <table>`.
pub const RULE_PRIO_TABLE: u32 = 7600;
/// `ip rule` priority of the pins: `from <another client's source> lookup
/// <that client's gateway's table>`.
pub const RULE_PRIO_PIN: u32 = 7700;
/// `ip rule` priority of `lookup <gateway table>`: after main (32766).
pub const RULE_PRIO_GATEWAY: u32 = 32800;
/// Table of this node's own default routes learned from the mesh.
pub const DEFAULT_GATEWAY_TABLE: u32 = 77;
/// Pin tables: one per gateway that pinned traffic goes to, from here on.
pub const DEFAULT_PIN_TABLE_BASE: u32 = 7700;
/// Pin tables at most (gateways pinned traffic can go to at once).
pub const PIN_TABLES: u32 = 64;
pub const DEFAULT_CONTROL_SOCKET: &str = "/var/run/roost.sock";
/// Derived originators are this /64 plus the EUI-64 of the first interface's
/// MAC address ("roost" in ASCII: 72 6f 6f 73 74).
pub const DERIVED_ORIGINATOR_PREFIX: Ipv6Addr =
    Ipv6Addr::new(0xfd72, 0x6f6f, 0x7374, 0, 0, 0, 0, 0);
/// Longest hostname accepted.
pub const MAX_HOSTNAME: usize = 64;

/// Log verbosity, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<LogLevel, String> {
        match s {
            "error" => Ok(LogLevel::Error),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "info" => Ok(LogLevel::Info),
            "debug" => Ok(LogLevel::Debug),
            _ => Err(format!(
                "'{s}' is not a log level (error, warn, info, debug)"
            )),
        }
    }
}

/// One mesh interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceConfig {
    /// Kernel interface name.
    pub ifname: String,
    /// `None`: detected from sysfs.
    pub kind: Option<IfaceKind>,
}

/// Everything the daemon needs, after merging defaults, file and flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The file that was read, if any (re-read on SIGHUP).
    pub config_file: Option<PathBuf>,
    /// Explicit originator; `None`: see [`Settings::choose_originator`].
    pub originator: Option<Ipv6Addr>,
    pub table: u32,
    pub port: u16,
    pub group: Ipv6Addr,
    pub control_socket: PathBuf,
    pub log_level: LogLevel,
    pub announce: Vec<Prefix>,
    /// `None`: the system hostname; `Some("")`: announce none.
    pub hostname: Option<String>,
    pub interfaces: Vec<IfaceConfig>,
    /// Mesh keys (`key_file`): the first signs, all verify. Empty: none.
    pub keys: Vec<crate::auth::Key>,
    /// Originators kept at most, and neighbours per interface.
    pub max_originators: usize,
    pub max_neighbours: usize,
    pub gateway: GatewayMode,
    pub gateway_class: crate::engine::gateway::GwClass,
    /// LAN interfaces whose addresses' prefixes are announced.
    pub announce_interfaces: Vec<String>,
    /// Zero-config addressing (docs/CONFIG.md); on when `site6` and
    /// `site4` are set.
    pub zeroconf: ZeroconfSettings,
    /// The command-line values, applied again on reload (SIGHUP).
    pub overrides: Overrides,
}

/// Zero-config options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZeroconfSettings {
    pub site6: Option<Prefix>,
    pub site4: Option<Prefix>,
    /// Length of the IPv4 client LANs (`None`: 24).
    pub lan4_length: Option<u8>,
    /// Derive from this MAC instead of the interface's.
    pub mac: Option<[u8; 6]>,
    /// The interface whose MAC addresses are derived from (`None`: the
    /// first mesh interface).
    pub mac_interface: Option<String>,
    /// Where the derived originator address goes (`None`: `lo`).
    pub address_interface: Option<String>,
}

impl ZeroconfSettings {
    /// The site, when zero-config is on; the error names what is wrong.
    pub fn site(&self) -> Result<Option<crate::zeroconf::Site>, String> {
        match (self.site6, self.site4) {
            (None, None) => Ok(None),
            (Some(p6), Some(p4)) => {
                crate::zeroconf::Site::new(p6, p4, self.lan4_length.unwrap_or(24)).map(Some)
            }
            (Some(_), None) => Err("site6 is set but site4 is not: zero-config needs both".into()),
            (None, Some(_)) => Err("site4 is set but site6 is not: zero-config needs both".into()),
        }
    }

    pub fn address_interface(&self) -> &str {
        self.address_interface.as_deref().unwrap_or("lo")
    }

    fn apply(&mut self, o: &ZeroconfSettings) {
        macro_rules! take {
            ($($f:ident),*) => { $(if o.$f.is_some() { self.$f = o.$f.clone(); })* };
        }
        take!(
            site6,
            site4,
            lan4_length,
            mac,
            mac_interface,
            address_interface
        );
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            config_file: None,
            originator: None,
            table: DEFAULT_TABLE,
            port: DEFAULT_PORT,
            group: DEFAULT_GROUP,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            log_level: LogLevel::Info,
            announce: Vec::new(),
            hostname: None,
            interfaces: Vec::new(),
            keys: Vec::new(),
            max_originators: crate::engine::Params::default().max_originators,
            max_neighbours: crate::engine::Params::default().max_neighbours,
            gateway: GatewayMode::default(),
            gateway_class: Default::default(),
            announce_interfaces: Vec::new(),
            zeroconf: ZeroconfSettings::default(),
            overrides: Overrides::default(),
        }
    }
}

/// Command-line values; they override the file (lists are appended).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub interfaces: Vec<String>,
    pub announce: Vec<Prefix>,
    pub originator: Option<Ipv6Addr>,
    pub table: Option<u32>,
    pub port: Option<u16>,
    pub group: Option<Ipv6Addr>,
    pub control_socket: Option<PathBuf>,
    pub log_level: Option<LogLevel>,
    pub hostname: Option<String>,
    pub key_files: Vec<PathBuf>,
    pub max_originators: Option<usize>,
    pub max_neighbours: Option<usize>,
    pub gateway: Option<GatewayMode>,
    pub gateway_class: Option<crate::engine::gateway::GwClass>,
    pub announce_interfaces: Vec<String>,
    pub zeroconf: ZeroconfSettings,
}

/// A configuration error, already formatted as `file:line: what`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads the config file (`-c`, else [`DEFAULT_CONFIG_FILE`] if it
    /// exists) and applies the command-line overrides.
    pub fn load(ov: &Overrides) -> Result<Settings, ConfigError> {
        let path = match &ov.config_file {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let mut s = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: cannot read: {e}", p.display())))?;
                Settings::from_uci(&text, p)?
            }
            None => Settings::default(),
        };
        s.config_file = path;
        s.apply(ov)?;
        s.overrides = ov.clone();
        Ok(s)
    }

    /// Parses UCI text; `file` is only used in error messages.
    pub fn from_uci(text: &str, file: &Path) -> Result<Settings, ConfigError> {
        let f = file.display();
        let sections =
            uci::parse(text).map_err(|e| ConfigError(format!("{f}:{}: {}", e.line, e.msg)))?;
        let mut s = Settings::default();
        let mut seen_main = false;
        // The line of the first zero-config option, for errors about the set.
        let mut zc_line = None;
        for sec in &sections {
            match sec.kind.as_str() {
                "roost" => {
                    if seen_main {
                        return Err(ConfigError(format!(
                            "{f}:{}: only one 'config roost' section is allowed",
                            sec.line
                        )));
                    }
                    seen_main = true;
                    for o in &sec.options {
                        s.main_option(o)
                            .map_err(|m| ConfigError(format!("{f}:{}: {m}", o.line)))?;
                        if ZEROCONF_OPTIONS.contains(&o.key.as_str()) && zc_line.is_none() {
                            zc_line = Some((o.line, o.key.clone()));
                        }
                    }
                }
                "interface" => {
                    if let Some(i) = interface_section(sec)
                        .map_err(|(line, m)| ConfigError(format!("{f}:{line}: {m}")))?
                    {
                        if s.interfaces.iter().any(|x| x.ifname == i.ifname) {
                            return Err(ConfigError(format!(
                                "{f}:{}: interface '{}' is configured twice",
                                sec.line, i.ifname
                            )));
                        }
                        s.interfaces.push(i);
                    }
                }
                other => {
                    return Err(ConfigError(format!(
                        "{f}:{}: unknown section type '{other}' (expected roost or interface)",
                        sec.line
                    )))
                }
            }
        }
        if let Some((line, key)) = zc_line {
            s.zeroconf
                .site()
                .map_err(|e| ConfigError(format!("{f}:{line}: option '{key}': {e}")))?;
        }
        Ok(s)
    }

    fn main_option(&mut self, o: &uci::UciOption) -> Result<(), String> {
        let key = o.key.as_str();
        let v = o.value.as_str();
        let bad = |why: String| format!("option '{key}': '{v}' {why}");
        if o.is_list && !["announce", "key_file", "announce_interface"].contains(&key) {
            return Err(format!("'{key}' is not a list: use 'option {key}'"));
        }
        match key {
            "originator" => self.originator = Some(parse_originator(v).map_err(bad)?),
            "table" => self.table = parse_table(v).map_err(bad)?,
            "port" => self.port = parse_port(v).map_err(bad)?,
            "group" => self.group = parse_group(v).map_err(bad)?,
            "control_socket" => {
                if v.is_empty() {
                    return Err(bad("is not a path".into()));
                }
                self.control_socket = PathBuf::from(v);
            }
            "log_level" => {
                self.log_level = v
                    .parse()
                    .map_err(|e: String| format!("option '{key}': {e}"))?
            }
            "announce" => self.announce.push(
                v.parse::<Prefix>()
                    .map_err(|e| format!("option '{key}': {e}"))?,
            ),
            "hostname" => self.hostname = Some(check_hostname(v).map_err(bad)?),
            "max_originators" => self.max_originators = parse_cap(v).map_err(bad)?,
            "max_neighbours" => self.max_neighbours = parse_cap(v).map_err(bad)?,
            "gateway" => {
                self.gateway = v
                    .parse()
                    .map_err(|e: String| format!("option '{key}': {e}"))?
            }
            "gateway_class" => {
                self.gateway_class = v
                    .parse()
                    .map_err(|e: String| format!("option '{key}': {e}"))?
            }
            "announce_interface" => {
                check_ifname(v).map_err(bad)?;
                if !self.announce_interfaces.iter().any(|i| i == v) {
                    self.announce_interfaces.push(v.to_string());
                }
            }
            "site6" | "site4" => {
                let p = v
                    .parse::<Prefix>()
                    .map_err(|e| format!("option '{key}': {e}"))?;
                if key == "site6" {
                    self.zeroconf.site6 = Some(p);
                } else {
                    self.zeroconf.site4 = Some(p);
                }
            }
            "site4_lan_length" => {
                self.zeroconf.lan4_length = Some(parse_lan4_length(v).map_err(bad)?)
            }
            "zeroconf_mac" => {
                self.zeroconf.mac =
                    Some(crate::setup::parse_mac(v).map_err(|e| format!("option '{key}': {e}"))?)
            }
            "zeroconf_interface" => {
                check_ifname(v).map_err(bad)?;
                self.zeroconf.mac_interface = Some(v.to_string());
            }
            "zeroconf_address_interface" => {
                check_ifname(v).map_err(bad)?;
                self.zeroconf.address_interface = Some(v.to_string());
            }
            "key_file" => {
                let k = crate::auth::Key::load(Path::new(v))
                    .map_err(|e| format!("option '{key}': {e}"))?;
                if !self.keys.contains(&k) {
                    self.keys.push(k);
                }
            }
            _ => return Err(format!("unknown option '{key}' in section 'roost'")),
        }
        Ok(())
    }

    /// Applies command-line overrides and checks the result.
    pub fn apply(&mut self, ov: &Overrides) -> Result<(), ConfigError> {
        let flag = |name: &str, v: &dyn fmt::Display, e: String| {
            ConfigError(format!("--{name}: '{v}' {e}"))
        };
        if let Some(o) = ov.originator {
            check_originator(o).map_err(|e| flag("originator", &o, e))?;
            self.originator = Some(o);
        }
        if let Some(t) = ov.table {
            self.table = parse_table(&t.to_string()).map_err(|e| flag("table", &t, e))?;
        }
        if let Some(p) = ov.port {
            self.port = parse_port(&p.to_string()).map_err(|e| flag("port", &p, e))?;
        }
        if let Some(g) = ov.group {
            self.group = parse_group(&g.to_string()).map_err(|e| flag("group", &g, e))?;
        }
        if let Some(c) = &ov.control_socket {
            self.control_socket = c.clone();
        }
        if let Some(l) = ov.log_level {
            self.log_level = l;
        }
        if let Some(h) = &ov.hostname {
            self.hostname = Some(check_hostname(h).map_err(|e| flag("hostname", h, e))?);
        }
        for i in &ov.interfaces {
            check_ifname(i).map_err(|e| flag("interface", i, e))?;
            if !self.interfaces.iter().any(|x| &x.ifname == i) {
                self.interfaces.push(IfaceConfig {
                    ifname: i.clone(),
                    kind: None,
                });
            }
        }
        if let Some(n) = ov.max_originators {
            self.max_originators =
                parse_cap(&n.to_string()).map_err(|e| flag("max-originators", &n, e))?;
        }
        if let Some(n) = ov.max_neighbours {
            self.max_neighbours =
                parse_cap(&n.to_string()).map_err(|e| flag("max-neighbours", &n, e))?;
        }
        if let Some(g) = ov.gateway {
            self.gateway = g;
        }
        if let Some(c) = ov.gateway_class {
            self.gateway_class = c;
        }
        for p in &ov.key_files {
            let k =
                crate::auth::Key::load(p).map_err(|e| ConfigError(format!("--key-file: {e}")))?;
            if !self.keys.contains(&k) {
                self.keys.push(k);
            }
        }
        for a in &ov.announce {
            if !self.announce.contains(a) {
                self.announce.push(*a);
            }
        }
        for i in &ov.announce_interfaces {
            check_ifname(i).map_err(|e| flag("announce-interface", i, e))?;
            if !self.announce_interfaces.contains(i) {
                self.announce_interfaces.push(i.clone());
            }
        }
        for (name, i) in [
            ("zeroconf-interface", &ov.zeroconf.mac_interface),
            ("zeroconf-address-interface", &ov.zeroconf.address_interface),
        ] {
            if let Some(i) = i {
                check_ifname(i).map_err(|e| flag(name, i, e))?;
            }
        }
        if let Some(n) = ov.zeroconf.lan4_length {
            parse_lan4_length(&n.to_string()).map_err(|e| flag("site4-lan-length", &n, e))?;
        }
        self.zeroconf.apply(&ov.zeroconf);
        self.zeroconf
            .site()
            .map_err(|e| ConfigError(format!("zero-config (--site6/--site4): {e}")))?;
        if self.interfaces.is_empty() {
            return Err(ConfigError(
                "no mesh interface: give -i IFNAME or a 'config interface' section".into(),
            ));
        }
        Ok(())
    }

    /// The originator: explicit, else the first announced IPv6 /128, else
    /// derived from the first interface's MAC (see [`derive_originator`]).
    /// With zero-config on, the engine replaces all but an explicit one by
    /// the derived originator.
    pub fn choose_originator(
        &self,
        mac_of: impl Fn(&str) -> Option<[u8; 6]>,
    ) -> Result<Ipv6Addr, String> {
        if let Some(o) = self.originator {
            return Ok(o);
        }
        let host6 = self.announce.iter().find_map(|p| match p.addr() {
            std::net::IpAddr::V6(a) if p.is_host() => Some(a),
            _ => None,
        });
        if let Some(a) = host6 {
            return Ok(a);
        }
        let first = self
            .interfaces
            .first()
            .ok_or_else(|| "no interface to derive an originator from".to_string())?;
        let mac = mac_of(&first.ifname).ok_or_else(|| {
            format!(
                "cannot derive the originator: no MAC address for '{}' (set option originator)",
                first.ifname
            )
        })?;
        Ok(derive_originator(mac))
    }

    /// The hostname to announce, given the system's.
    pub fn effective_hostname(&self, system: impl FnOnce() -> Option<String>) -> Option<String> {
        match &self.hostname {
            Some(h) if h.is_empty() => None,
            Some(h) => Some(h.clone()),
            None => system()
                .map(|h| h.trim().to_string())
                .filter(|h| check_hostname(h).is_ok() && !h.is_empty()),
        }
    }
}

/// [`DERIVED_ORIGINATOR_PREFIX`] + modified EUI-64 of `mac`.
pub fn derive_originator(mac: [u8; 6]) -> Ipv6Addr {
    let mut b = DERIVED_ORIGINATOR_PREFIX.octets();
    b[8] = mac[0] ^ 0x02;
    b[9] = mac[1];
    b[10] = mac[2];
    b[11] = 0xff;
    b[12] = 0xfe;
    b[13] = mac[3];
    b[14] = mac[4];
    b[15] = mac[5];
    Ipv6Addr::from(b)
}

fn interface_section(sec: &uci::Section) -> Result<Option<IfaceConfig>, (usize, String)> {
    let mut ifname = sec.name.clone();
    let mut kind = None;
    let mut disabled = false;
    for o in &sec.options {
        let key = o.key.as_str();
        let v = o.value.as_str();
        let bad = |why: String| (o.line, format!("option '{key}': '{v}' {why}"));
        if o.is_list {
            return Err((o.line, format!("'{key}' is not a list: use 'option {key}'")));
        }
        match key {
            "ifname" => {
                check_ifname(v).map_err(bad)?;
                ifname = Some(v.to_string());
            }
            "type" => {
                kind = Some(
                    v.parse::<IfaceKind>()
                        .map_err(|e| (o.line, format!("option '{key}': {e}")))?,
                )
            }
            "disabled" => disabled = parse_bool(v).map_err(bad)?,
            _ => {
                return Err((
                    o.line,
                    format!("unknown option '{key}' in section 'interface'"),
                ))
            }
        }
    }
    let Some(ifname) = ifname else {
        return Err((
            sec.line,
            "interface section needs a name or option 'ifname'".into(),
        ));
    };
    check_ifname(&ifname).map_err(|e| (sec.line, format!("interface '{ifname}' {e}")))?;
    Ok((!disabled).then_some(IfaceConfig { ifname, kind }))
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "true" | "yes" | "on" | "enabled" => Ok(true),
        "0" | "false" | "no" | "off" | "disabled" => Ok(false),
        _ => Err("is not a boolean (0 or 1)".into()),
    }
}

/// The options that switch zero-config addressing on or shape it.
const ZEROCONF_OPTIONS: &[&str] = &[
    "site6",
    "site4",
    "site4_lan_length",
    "zeroconf_mac",
    "zeroconf_interface",
    "zeroconf_address_interface",
];

fn parse_lan4_length(v: &str) -> Result<u8, String> {
    match v.parse::<u8>() {
        Ok(n @ 16..=30) => Ok(n),
        _ => Err("is not an IPv4 LAN prefix length (16-30)".into()),
    }
}

fn parse_port(v: &str) -> Result<u16, String> {
    match v.parse::<u32>() {
        Ok(p @ 1..=65535) => Ok(p as u16),
        _ => Err("is not a port number (1-65535)".into()),
    }
}

fn parse_cap(v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n @ 1..=1_000_000) => Ok(n),
        _ => Err("is not a limit (1-1000000)".into()),
    }
}

fn parse_table(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(0 | 253..=255) => {
            Err("is a reserved table (0 unspec, 253 default, 254 main, 255 local)".into())
        }
        Ok(t) => Ok(t),
        Err(_) => Err("is not a table number (1-4294967295)".into()),
    }
}

fn parse_group(v: &str) -> Result<Ipv6Addr, String> {
    let g: Ipv6Addr = v
        .parse()
        .map_err(|_| "is not an IPv6 address".to_string())?;
    // Link-local scope (ffx2::/16): the protocol is one hop only.
    if g.segments()[0] & 0xff0f != 0xff02 {
        return Err("is not a link-local multicast group (ff02::/16)".into());
    }
    Ok(g)
}

fn parse_originator(v: &str) -> Result<Ipv6Addr, String> {
    let a: Ipv6Addr = match v.parse() {
        Ok(a) => a,
        Err(_) => match v.parse::<std::net::Ipv4Addr>() {
            Ok(a4) => a4.to_ipv6_mapped(),
            Err(_) => return Err("is not an IPv6 address (or ::ffff:a.b.c.d)".into()),
        },
    };
    check_originator(a)?;
    Ok(a)
}

fn check_originator(a: Ipv6Addr) -> Result<(), String> {
    if a.is_unspecified() || a.is_loopback() || a.is_multicast() {
        return Err("is not a unicast address".into());
    }
    if a.segments()[0] & 0xffc0 == 0xfe80 {
        return Err("is link-local; an originator must be routable".into());
    }
    Ok(())
}

fn check_hostname(h: &str) -> Result<String, String> {
    if h.len() > MAX_HOSTNAME || h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "is not a hostname (at most {MAX_HOSTNAME} bytes, no spaces)"
        ));
    }
    Ok(h.to_string())
}

fn check_ifname(n: &str) -> Result<(), String> {
    // IFNAMSIZ is 16 including the NUL.
    if n.is_empty() || n.len() > 15 || n.contains(['/', ':']) || n.chars().any(char::is_whitespace)
    {
        return Err("is not an interface name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
