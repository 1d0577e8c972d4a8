//! Command-line interface: `roost run`, the query subcommands (`status`,
//! `originators`, ...), `roost metrics`, `roost setup` and `roost sim`.

use std::net::Ipv6Addr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use roost::config::{GatewayMode, LogLevel, Overrides, DEFAULT_CONTROL_SOCKET};
use roost::engine::gateway::GwClass;
use roost::prefix::Prefix;

#[derive(Parser, Debug)]
#[command(name = "roost", version, about = "BATMAN-style mesh routing daemon")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon in the foreground.
    Run(Box<RunArgs>),
    /// Version, uptime, originator address and packet counters.
    Status(QueryArgs),
    /// Every originator: best next hop, interface, TQ, last seen.
    #[command(visible_alias = "o")]
    Originators(OriginatorsArgs),
    /// Neighbours and link quality both ways, per interface.
    #[command(visible_alias = "n")]
    Neighbours(NeighboursArgs),
    /// Gateways announced in the mesh.
    #[command(visible_alias = "gwl")]
    Gateways(QueryArgs),
    /// Roost's kernel routes compared with what they should be.
    #[command(visible_alias = "r")]
    Routes(QueryArgs),
    /// Configured mesh interfaces and their state.
    #[command(visible_alias = "if")]
    Interfaces(QueryArgs),
    /// The whole mesh as the running daemon knows it.
    Topology(TopologyArgs),
    /// Counters and gauges in the Prometheus text format.
    Metrics(MetricsArgs),
    /// First-boot setup: the site file and this router's MAC -> UCI config.
    Setup(SetupArgs),
    /// Run the deterministic simulator and print one JSON summary line.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
}

#[cfg(feature = "sim")]
#[derive(Args, Debug)]
pub struct SimArgs {
    /// chain:N, ring:N, grid:RxC, rgg:N[:SEED], twopath:K or edges:N:a-b,...
    #[arg(long, value_name = "TOPO")]
    pub topo: String,
    /// Loss per direction on every link, 0..1.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Cut link A-B at T seconds (carrier stays up). Repeatable.
    #[arg(long, value_name = "A-B@T")]
    pub cut: Vec<String>,
    /// Restore link A-B at T seconds. Repeatable.
    #[arg(long, value_name = "A-B@T")]
    pub restore: Vec<String>,
    /// Simulated seconds.
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Mesh key file (hex) every simulated node uses. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub key_file: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Mesh interface (repeatable; added to those of the config file).
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interfaces: Vec<String>,
    /// Config file (UCI syntax). Default: /etc/config/roost if it exists.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Prefix to announce (repeatable; added to those of the config file).
    #[arg(long, value_name = "PREFIX")]
    pub announce: Vec<Prefix>,
    /// Originator address (IPv6, or IPv4-mapped ::ffff:a.b.c.d).
    #[arg(long, value_name = "ADDR", value_parser = parse_originator)]
    pub originator: Option<Ipv6Addr>,
    /// Kernel routing table for Roost's routes [default: 76].
    #[arg(long, value_name = "N")]
    pub table: Option<u32>,
    /// UDP port [default: 4310].
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Link-local multicast group [default: ff02::1:76].
    #[arg(long, value_name = "ADDR")]
    pub group: Option<Ipv6Addr>,
    /// Control socket path [default: /var/run/roost.sock].
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// error, warn, info or debug [default: info].
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    pub log_level: Option<LogLevel>,
    /// Hostname to announce ('' for none) [default: the system hostname].
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Mesh key file (hex): datagrams are authenticated. Repeatable: the
    /// first key signs, every key is accepted (key rotation).
    #[arg(long, value_name = "PATH")]
    pub key_file: Vec<PathBuf>,
    /// Originators kept at most [default: 4096].
    #[arg(long, value_name = "N")]
    pub max_originators: Option<usize>,
    /// Neighbours per interface kept at most [default: 256].
    #[arg(long, value_name = "N")]
    pub max_neighbours: Option<usize>,
    /// off, client, server[=DOWN/UP] or auto[=DOWN/UP] (Mbit/s)
    /// [default: client].
    #[arg(long, value_name = "MODE", value_parser = parse_gateway)]
    pub gateway: Option<GatewayMode>,
    /// How to choose a gateway: tq[=MARGIN], stable or
    /// bandwidth[=PERCENT] [default: tq=20].
    #[arg(long, value_name = "CLASS", value_parser = parse_class)]
    pub gateway_class: Option<GwClass>,
    /// Announce the prefixes of this LAN interface's addresses, following
    /// changes (repeatable; added to those of the config file).
    #[arg(long, value_name = "IF")]
    pub announce_interface: Vec<String>,
    /// Zero-config: the site's IPv6 prefix (a ULA /48; with --site4).
    #[arg(long, value_name = "PREFIX")]
    pub site6: Option<Prefix>,
    /// Zero-config: the site's IPv4 range, e.g. 10.0.0.0/8 (with --site6).
    #[arg(long, value_name = "PREFIX")]
    pub site4: Option<Prefix>,
    /// Zero-config: length of the IPv4 client LANs [default: 24].
    #[arg(long, value_name = "N")]
    pub site4_lan_length: Option<u8>,
    /// Zero-config: derive from this MAC instead of the interface's.
    #[arg(long, value_name = "MAC", value_parser = roost::setup::parse_mac)]
    pub zeroconf_mac: Option<[u8; 6]>,
    /// Zero-config: the interface whose MAC is used [default: the first
    /// mesh interface].
    #[arg(long, value_name = "IF")]
    pub zeroconf_interface: Option<String>,
    /// Zero-config: where the derived originator address goes [default: lo].
    #[arg(long, value_name = "IF")]
    pub zeroconf_address_interface: Option<String>,
}

/// What every query subcommand takes.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Control socket path.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub control_socket: PathBuf,
    /// Print the daemon's JSON reply (schema: docs/CLI.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct OriginatorsArgs {
    #[command(flatten)]
    pub q: QueryArgs,
    /// Show the alternative next hops too.
    #[arg(short = 'a', long = "alternatives")]
    pub alternatives: bool,
    /// Only this originator (address or hostname).
    #[arg(long, value_name = "X")]
    pub originator: Option<String>,
}

#[derive(Args, Debug)]
pub struct NeighboursArgs {
    #[command(flatten)]
    pub q: QueryArgs,
    /// Only neighbours on this interface.
    #[arg(short = 'i', long = "interface", value_name = "IF")]
    pub interface: Option<String>,
}

#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// Control socket path.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub control_socket: PathBuf,
    /// Write to FILE atomically (for a node_exporter textfile collector)
    /// instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Site file (docs/IMAGEBUILDER.md).
    #[arg(long, value_name = "FILE", default_value = "/etc/roost/site.conf")]
    pub site: PathBuf,
    /// UCI directory to edit; /etc/shadow and /etc/dropbear are its siblings.
    #[arg(long, value_name = "DIR", default_value = "/etc/config")]
    pub config_dir: PathBuf,
    /// Interface whose MAC identifies the router (fallback: the first
    /// interface with one).
    #[arg(long, value_name = "IF", default_value = "eth0")]
    pub interface: String,
    /// Use this MAC instead of reading one.
    #[arg(long, value_name = "MAC", value_parser = roost::setup::parse_mac)]
    pub mac: Option<[u8; 6]>,
}

impl SetupArgs {
    pub fn options(&self) -> roost::setup::Options {
        roost::setup::Options {
            site: self.site.clone(),
            config_dir: self.config_dir.clone(),
            interface: self.interface.clone(),
            mac: self.mac,
            sys_class_net: PathBuf::from("/sys/class/net"),
        }
    }
}

#[derive(Args, Debug)]
pub struct TopologyArgs {
    /// Control socket path.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONTROL_SOCKET)]
    pub control_socket: PathBuf,
    /// Print a NetJSON NetworkGraph (for maps).
    #[arg(long, conflicts_with = "json")]
    pub netjson: bool,
    /// Print the daemon's JSON reply.
    #[arg(long)]
    pub json: bool,
}

fn parse_level(s: &str) -> Result<LogLevel, String> {
    s.parse()
}

fn parse_gateway(s: &str) -> Result<GatewayMode, String> {
    s.parse()
}

fn parse_class(s: &str) -> Result<GwClass, String> {
    s.parse()
}

fn parse_originator(s: &str) -> Result<Ipv6Addr, String> {
    s.parse::<Ipv6Addr>()
        .or_else(|_| s.parse::<std::net::Ipv4Addr>().map(|a| a.to_ipv6_mapped()))
        .map_err(|_| format!("'{s}' is not an IPv6 address (or ::ffff:a.b.c.d)"))
}

impl RunArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            interfaces: self.interfaces.clone(),
            announce: self.announce.clone(),
            originator: self.originator,
            table: self.table,
            port: self.port,
            group: self.group,
            control_socket: self.control_socket.clone(),
            log_level: self.log_level,
            hostname: self.hostname.clone(),
            key_files: self.key_file.clone(),
            max_originators: self.max_originators,
            max_neighbours: self.max_neighbours,
            gateway: self.gateway,
            gateway_class: self.gateway_class,
            announce_interfaces: self.announce_interface.clone(),
            zeroconf: roost::config::ZeroconfSettings {
                site6: self.site6,
                site4: self.site4,
                lan4_length: self.site4_lan_length,
                mac: self.zeroconf_mac,
                mac_interface: self.zeroconf_interface.clone(),
                address_interface: self.zeroconf_address_interface.clone(),
            },
        }
    }
}
