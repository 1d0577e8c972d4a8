//! Gateway mode (`option gateway` / `--gateway`): whether this node offers
//! its uplink to the mesh, uses one of the mesh's gateways, or neither.

use std::fmt;
use std::str::FromStr;

/// Bandwidth announced by `server` and `auto` without `=DOWN/UP`, Mbit/s.
pub const DEFAULT_BANDWIDTH: (u32, u32) = (100, 20); // units of 100 kbit/s: 10/2 Mbit/s

/// What a node does about internet access.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GatewayMode {
    /// Neither offers an uplink nor installs default routes from the mesh
    /// (it still forwards other nodes' internet traffic).
    Off,
    /// Uses the best gateway of the mesh (the default).
    #[default]
    Client,
    /// Always offers its uplink: (down, up) in units of 100 kbit/s.
    Server(u32, u32),
    /// Offers its uplink while its main table has a default route via a
    /// non-mesh interface; otherwise behaves as `Client`.
    Auto(u32, u32),
}

impl GatewayMode {
    /// Whether this mode chooses a gateway while not offering one.
    pub fn selects(self) -> bool {
        matches!(self, GatewayMode::Client | GatewayMode::Auto(..))
    }
}

/// Mbit/s with up to one decimal (e.g. `0.5`), as units of 100 kbit/s.
fn mbit(s: &str) -> Option<u32> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) if f.len() == 1 => (i, f),
        Some(_) => return None,
        None => (s, "0"),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = int.parse::<u32>().ok()?.checked_mul(10)?;
    let f = frac.parse::<u32>().ok()?;
    v.checked_add(f).filter(|v| *v > 0)
}

impl FromStr for GatewayMode {
    type Err = String;
    fn from_str(s: &str) -> Result<GatewayMode, String> {
        let bad = || {
            format!(
                "'{s}' is not a gateway mode (off, client, server[=DOWN/UP], auto[=DOWN/UP]; \
                 DOWN and UP in Mbit/s, e.g. server=50/10)"
            )
        };
        let (name, bw) = match s.split_once('=') {
            Some((n, b)) => {
                let (d, u) = b.split_once('/').ok_or_else(bad)?;
                (
                    n,
                    Some((mbit(d).ok_or_else(bad)?, mbit(u).ok_or_else(bad)?)),
                )
            }
            None => (s, None),
        };
        let (down, up) = bw.unwrap_or(DEFAULT_BANDWIDTH);
        match (name, bw) {
            ("off", None) => Ok(GatewayMode::Off),
            ("client", None) => Ok(GatewayMode::Client),
            ("server", _) => Ok(GatewayMode::Server(down, up)),
            ("auto", _) => Ok(GatewayMode::Auto(down, up)),
            _ => Err(bad()),
        }
    }
}

fn show_mbit(f: &mut fmt::Formatter<'_>, v: u32) -> fmt::Result {
    if v.is_multiple_of(10) {
        write!(f, "{}", v / 10)
    } else {
        write!(f, "{}.{}", v / 10, v % 10)
    }
}

impl fmt::Display for GatewayMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, d, u) = match *self {
            GatewayMode::Off => return f.write_str("off"),
            GatewayMode::Client => return f.write_str("client"),
            GatewayMode::Server(d, u) => ("server", d, u),
            GatewayMode::Auto(d, u) => ("auto", d, u),
        };
        write!(f, "{name}=")?;
        show_mbit(f, d)?;
        f.write_str("/")?;
        show_mbit(f, u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for (s, m, shown) in [
            ("off", GatewayMode::Off, "off"),
            ("client", GatewayMode::Client, "client"),
            ("server", GatewayMode::Server(100, 20), "server=10/2"),
            (
                "server=50/10",
                GatewayMode::Server(500, 100),
                "server=50/10",
            ),
            ("auto", GatewayMode::Auto(100, 20), "auto=10/2"),
            ("auto=0.5/0.1", GatewayMode::Auto(5, 1), "auto=0.5/0.1"),
        ] {
            assert_eq!(s.parse::<GatewayMode>(), Ok(m), "{s}");
            assert_eq!(m.to_string(), shown);
            assert_eq!(shown.parse::<GatewayMode>(), Ok(m));
        }
        for bad in [
            "",
            "on",
            "server=",
            "server=10",
            "server=10/",
            "server=/2",
            "server=0/1",
            "server=1.25/1",
            "server=-1/2",
            "client=1/1",
            "off=1/1",
            "auto=x/y",
            "server=99999999999/1",
        ] {
            assert!(bad.parse::<GatewayMode>().is_err(), "{bad}");
        }
    }
}
