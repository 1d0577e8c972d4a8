//! Command-line interface: `roost run`, the query subcommands (`status`,
//! `originators`, ...), `roost metrics`, `roost setup` and `roost sim`.

use std::net::Ipv6Addr;
use std::path::PathBuf;

use crate::argv::{flag, parsed, val, vals, Matches, Opt, Program, Stop, Sub};
use roost::config::{GatewayMode, LogLevel, Overrides, DEFAULT_CONTROL_SOCKET};
use roost::engine::gateway::GwClass;

/// What `roost` was asked to do.
#[derive(Debug)]
pub enum Command {
    Run(Box<Overrides>),
    Status(QueryArgs),
    Originators(OriginatorsArgs),
    Neighbours(NeighboursArgs),
    Gateways(QueryArgs),
    Routes(QueryArgs),
    Interfaces(QueryArgs),
    Topology(TopologyArgs),
    Metrics(MetricsArgs),
    Setup(SetupArgs),
    #[cfg(feature = "sim")]
    Sim(SimArgs),
}

const SOCKET: Opt =
    val("control-socket", '\0', "PATH", "Control socket path").or(DEFAULT_CONTROL_SOCKET);
const JSON: Opt = flag(
    "json",
    '\0',
    "Print the daemon's JSON reply (schema: docs/CLI.md)",
);
const QUERY: &[Opt] = &[SOCKET, JSON];

const RUN: &[Opt] = &[
    vals("interface", 'i', "IF", "Mesh interface (repeatable; added to those of the config file)"),
    val("config", 'c', "FILE", "Config file (UCI syntax). Default: /etc/config/roost if it exists"),
    vals("announce", '\0', "PREFIX", "Prefix to announce (repeatable; added to those of the config file)"),
    val("originator", '\0', "ADDR", "Originator address (IPv6, or IPv4-mapped ::ffff:a.b.c.d)"),
    val("table", '\0', "N", "Kernel routing table for Roost's routes [default: 76]"),
    val("port", '\0', "N", "UDP port [default: 4310]"),
    val("group", '\0', "ADDR", "Link-local multicast group [default: ff02::1:76]"),
    // Not SOCKET: the run options' defaults come from the config file, so
    // an option not given must stay unset here (the defaults in the help
    // are the config's).
    val("control-socket", '\0', "PATH", "Control socket path [default: /var/run/roost.sock]"),
    val("log-level", '\0', "LEVEL", "error, warn, info or debug [default: info]"),
    val("hostname", '\0', "NAME", "Hostname to announce ('' for none) [default: the system hostname]"),
    vals("key-file", '\0', "PATH", "Mesh key file (hex): datagrams are authenticated. Repeatable: the first key signs, every key is accepted (key rotation)"),
    val("max-originators", '\0', "N", "Originators kept at most [default: 4096]"),
    val("max-neighbours", '\0', "N", "Neighbours per interface kept at most [default: 256]"),
    val("gateway", '\0', "MODE", "off, client, server[=DOWN/UP] or auto[=DOWN/UP] (Mbit/s) [default: client]"),
    val("gateway-class", '\0', "CLASS", "How to choose a gateway: tq[=MARGIN], stable or bandwidth[=PERCENT] [default: tq=20]"),
    vals("announce-interface", '\0', "IF", "Announce the prefixes of this LAN interface's addresses, following changes (repeatable; added to those of the config file)"),
    val("site6", '\0', "PREFIX", "Zero-config: the site's IPv6 prefix (a ULA /48; with --site4)"),
    val("site4", '\0', "PREFIX", "Zero-config: the site's IPv4 range, e.g. 10.0.0.0/8 (with --site6)"),
    val("site4-lan-length", '\0', "N", "Zero-config: length of the IPv4 client LANs [default: 24]"),
    val("zeroconf-mac", '\0', "MAC", "Zero-config: derive from this MAC instead of the interface's"),
    val("zeroconf-interface", '\0', "IF", "Zero-config: the interface whose MAC is used [default: the first mesh interface]"),
    val("zeroconf-address-interface", '\0', "IF", "Zero-config: where the derived originator address goes [default: lo]"),
];

const SUBS: &[Sub] = &[
    Sub { name: "run", alias: "", about: "Run the daemon in the foreground", opts: RUN },
    Sub { name: "status", alias: "", about: "Version, uptime, originator address and packet counters", opts: QUERY },
    Sub {
        name: "originators",
        alias: "o",
        about: "Every originator: best next hop, interface, TQ, last seen",
        opts: &[
            SOCKET,
            JSON,
            flag("alternatives", 'a', "Show the alternative next hops too"),
            val("originator", '\0', "X", "Only this originator (address or hostname)"),
        ],
    },
    Sub {
        name: "neighbours",
        alias: "n",
        about: "Neighbours and link quality both ways, per interface",
        opts: &[SOCKET, JSON, val("interface", 'i', "IF", "Only neighbours on this interface")],
    },
    Sub { name: "gateways", alias: "gwl", about: "Gateways announced in the mesh", opts: QUERY },
    Sub { name: "routes", alias: "r", about: "Roost's kernel routes compared with what they should be", opts: QUERY },
    Sub { name: "interfaces", alias: "if", about: "Configured mesh interfaces and their state", opts: QUERY },
    Sub {
        name: "topology",
        alias: "",
        about: "The whole mesh as the running daemon knows it",
        opts: &[
            SOCKET,
            flag("netjson", '\0', "Print a NetJSON NetworkGraph (for maps)"),
            flag("json", '\0', "Print the daemon's JSON reply"),
        ],
    },
    Sub {
        name: "metrics",
        alias: "",
        about: "Counters and gauges in the Prometheus text format",
        opts: &[
            SOCKET,
            val("output", 'o', "FILE", "Write to FILE atomically (for a node_exporter textfile collector) instead of stdout"),
        ],
    },
    Sub {
        name: "setup",
        alias: "",
        about: "First-boot setup: the site file and this router's MAC -> UCI config",
        opts: &[
            val("site", '\0', "FILE", "Site file (docs/IMAGEBUILDER.md)").or("/etc/roost/site.conf"),
            val("config-dir", '\0', "DIR", "UCI directory to edit; /etc/shadow and /etc/dropbear are its siblings").or("/etc/config"),
            val("interface", '\0', "IF", "Interface whose MAC identifies the router (fallback: the first interface with one)").or("eth0"),
            val("mac", '\0', "MAC", "Use this MAC instead of reading one"),
        ],
    },
    #[cfg(feature = "sim")]
    Sub {
        name: "sim",
        alias: "",
        about: "Run the deterministic simulator and print one JSON summary line",
        opts: &[
            val("topo", '\0', "TOPO", "chain:N, ring:N, grid:RxC, rgg:N[:SEED], twopath:K or edges:N:a-b,... (required)"),
            val("loss", '\0', "LOSS", "Loss per direction on every link, 0..1").or("0"),
            vals("cut", '\0', "A-B@T", "Cut link A-B at T seconds (carrier stays up). Repeatable"),
            vals("restore", '\0', "A-B@T", "Restore link A-B at T seconds. Repeatable"),
            val("duration", '\0', "DURATION", "Simulated seconds").or("60"),
            val("seed", '\0', "SEED", "Seed of every random choice").or("1"),
            vals("key-file", '\0', "PATH", "Mesh key file (hex) every simulated node uses. Repeatable"),
        ],
    },
];

pub const PROGRAM: Program = Program {
    name: "roost",
    version: env!("CARGO_PKG_VERSION"),
    about: "BATMAN-style mesh routing daemon",
    subs: SUBS,
};

/// The command line (without the program name) as a [`Command`].
pub fn parse(args: Vec<String>) -> Result<Command, Stop> {
    let m = PROGRAM.parse(args)?;
    let path = |s: &str| -> Result<PathBuf, String> { Ok(PathBuf::from(s)) };
    let socket = |m: &Matches| m.value("control-socket", path);
    let query = |m: &Matches| -> Result<QueryArgs, Stop> {
        Ok(QueryArgs {
            control_socket: socket(m)?,
            json: m.flag("json"),
        })
    };
    Ok(match m.sub.name {
        "run" => Command::Run(Box::new(run_overrides(&m)?)),
        "status" => Command::Status(query(&m)?),
        "originators" => Command::Originators(OriginatorsArgs {
            q: query(&m)?,
            alternatives: m.flag("alternatives"),
            originator: m.string("originator"),
        }),
        "neighbours" => Command::Neighbours(NeighboursArgs {
            q: query(&m)?,
            interface: m.string("interface"),
        }),
        "gateways" => Command::Gateways(query(&m)?),
        "routes" => Command::Routes(query(&m)?),
        "interfaces" => Command::Interfaces(query(&m)?),
        "topology" => {
            if m.flag("json") && m.flag("netjson") {
                return Err(m.conflict("json", "netjson"));
            }
            Command::Topology(TopologyArgs {
                control_socket: socket(&m)?,
                netjson: m.flag("netjson"),
                json: m.flag("json"),
            })
        }
        "metrics" => Command::Metrics(MetricsArgs {
            control_socket: socket(&m)?,
            output: m.one("output", path)?,
        }),
        "setup" => Command::Setup(SetupArgs {
            site: m.value("site", path)?,
            config_dir: m.value("config-dir", path)?,
            interface: m.value("interface", parsed)?,
            mac: m.one("mac", roost::setup::parse_mac)?,
        }),
        #[cfg(feature = "sim")]
        "sim" => Command::Sim(SimArgs {
            topo: m.value("topo", parsed)?,
            loss: m.value("loss", parsed)?,
            cut: m.all("cut", parsed)?,
            restore: m.all("restore", parsed)?,
            duration: m.value("duration", parsed)?,
            seed: m.value("seed", parsed)?,
            key_file: m.all("key-file", path)?,
        }),
        other => unreachable!("subcommand {other} has no arguments"),
    })
}

/// `roost run`'s options as [`Overrides`]. Every field is assigned on its
/// own (rather than one struct literal of 22 fallible fields) for the code
/// size of the error paths.
#[allow(clippy::field_reassign_with_default)]
fn run_overrides(m: &Matches) -> Result<Overrides, Stop> {
    let path = |s: &str| -> Result<PathBuf, String> { Ok(PathBuf::from(s)) };
    let mut o = Overrides::default();
    o.interfaces = m.all("interface", parsed)?;
    o.config_file = m.one("config", path)?;
    o.announce = m.all("announce", parsed)?;
    o.originator = m.one("originator", parse_originator)?;
    o.table = m.one("table", parsed)?;
    o.port = m.one("port", parsed)?;
    o.group = m.one("group", parsed)?;
    o.control_socket = m.one("control-socket", path)?;
    o.log_level = m.one("log-level", parse_level)?;
    o.hostname = m.string("hostname");
    o.key_files = m.all("key-file", path)?;
    o.max_originators = m.one("max-originators", parsed)?;
    o.max_neighbours = m.one("max-neighbours", parsed)?;
    o.gateway = m.one("gateway", parse_gateway)?;
    o.gateway_class = m.one("gateway-class", parse_class)?;
    o.announce_interfaces = m.all("announce-interface", parsed)?;
    let z = &mut o.zeroconf;
    z.site6 = m.one("site6", parsed)?;
    z.site4 = m.one("site4", parsed)?;
    z.lan4_length = m.one("site4-lan-length", parsed)?;
    z.mac = m.one("zeroconf-mac", roost::setup::parse_mac)?;
    z.mac_interface = m.string("zeroconf-interface");
    z.address_interface = m.string("zeroconf-address-interface");
    Ok(o)
}

/// The options, as parsed; their help is in the tables above.
#[cfg(feature = "sim")]
#[derive(Debug)]
pub struct SimArgs {
    pub topo: String,
    pub loss: f64,
    pub cut: Vec<String>,
    pub restore: Vec<String>,
    pub duration: f64,
    pub seed: u64,
    pub key_file: Vec<PathBuf>,
}

/// What every query subcommand takes.
#[derive(Debug)]
pub struct QueryArgs {
    pub control_socket: PathBuf,
    pub json: bool,
}

#[derive(Debug)]
pub struct OriginatorsArgs {
    pub q: QueryArgs,
    pub alternatives: bool,
    pub originator: Option<String>,
}

#[derive(Debug)]
pub struct NeighboursArgs {
    pub q: QueryArgs,
    pub interface: Option<String>,
}

#[derive(Debug)]
pub struct MetricsArgs {
    pub control_socket: PathBuf,
    pub output: Option<PathBuf>,
}

#[derive(Debug)]
pub struct SetupArgs {
    pub site: PathBuf,
    pub config_dir: PathBuf,
    pub interface: String,
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

#[derive(Debug)]
pub struct TopologyArgs {
    pub control_socket: PathBuf,
    pub netjson: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand's code reads only options its table has (a wrong
    /// name would panic here), and the defaults are the documented ones.
    #[test]
    fn every_subcommand_parses_with_defaults() {
        for sub in SUBS {
            let mut args = vec![sub.name.to_string()];
            if sub.name == "sim" {
                args.extend(["--topo".into(), "chain:2".into()]);
            }
            assert!(parse(args).is_ok(), "{}", sub.name);
        }
        let Ok(Command::Setup(s)) = parse(vec!["setup".into()]) else {
            panic!()
        };
        assert_eq!(s.site, PathBuf::from("/etc/roost/site.conf"));
        assert_eq!(s.config_dir, PathBuf::from("/etc/config"));
        assert_eq!(s.interface, "eth0");
        let Ok(Command::Originators(o)) = parse(vec!["o".into(), "-a".into(), "--json".into()])
        else {
            panic!()
        };
        assert!(o.alternatives && o.q.json);
        assert_eq!(o.q.control_socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
    }

    #[test]
    fn run_options() {
        let args = "run -i m0 -i m1 -c /tmp/x --announce 10.0.0.0/24 --originator 10.0.0.1 --port 4311 --gateway server=10/2 --log-level debug --site4-lan-length 26";
        let Ok(Command::Run(r)) = parse(args.split(' ').map(String::from).collect()) else {
            panic!()
        };
        assert_eq!(r.interfaces, ["m0", "m1"]);
        assert_eq!(r.config_file, Some(PathBuf::from("/tmp/x")));
        assert_eq!(r.announce.len(), 1);
        assert_eq!(r.originator, Some("::ffff:10.0.0.1".parse().unwrap()));
        assert_eq!(r.port, Some(4311));
        assert!(r.gateway.is_some() && r.log_level.is_some());
        assert_eq!(r.zeroconf.lan4_length, Some(26));
        assert_eq!(r.table, None);
        // Options not given stay unset: the config file may set them.
        assert!(RUN.iter().all(|o| o.default.is_empty()));
        assert_eq!(r.control_socket, None);
        assert_eq!(r.group, None);
    }
}
