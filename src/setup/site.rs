//! The site file (`/etc/roost/site.conf`): one community's network, in UCI
//! syntax. The format is documented in docs/IMAGEBUILDER.md; an example is
//! imagebuilder/sites/example.conf. Unknown sections and options are
//! errors naming the file and line, as in /etc/config/roost.

use std::net::IpAddr;
use std::path::Path;

use crate::config::uci;
use crate::prefix::Prefix;
use crate::zeroconf::Site as Addressing;

/// One Wi-Fi band's settings (`config wifi '2g'`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Band {
    /// `2g`, `5g` or `6g`, as OpenWrt's `option band`.
    pub band: String,
    pub channel: u16,
    /// `None`: the radio's own htmode.
    pub htmode: Option<String>,
    /// Mesh on this band (default on).
    pub mesh: bool,
    /// Client AP on this band (default on).
    pub ap: bool,
}

/// The whole site file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteConf {
    pub name: String,
    pub code: String,
    pub country: Option<String>,
    pub addressing: Addressing,
    /// `off`, `client`, `server[=DOWN/UP]`, `auto[=DOWN/UP]`; `None`:
    /// leave /etc/config/roost's value.
    pub gateway: Option<String>,
    pub resolvers: Vec<IpAddr>,
    pub packages: Vec<String>,
    pub mesh_id: String,
    /// SAE password of the 802.11s mesh; `None`: an open mesh.
    pub mesh_key: Option<String>,
    /// Wired mesh ports: netifd interface names (`wan`) or devices.
    pub wired: Vec<String>,
    pub bands: Vec<Band>,
    pub ssid: String,
    /// WPA2 passphrase of the client AP; `None`: open.
    pub client_key: Option<String>,
    pub root_hash: Option<String>,
    pub ssh_keys: Vec<String>,
}

/// Parses `text`; `file` names it in errors (`file:line: what`).
pub fn parse(text: &str, file: &Path) -> Result<SiteConf, String> {
    let f = file.display();
    let sections = uci::parse(text).map_err(|e| format!("{f}:{}: {}", e.line, e.msg))?;
    let mut b = Builder::default();
    for sec in &sections {
        let name = sec.name.as_deref().unwrap_or("");
        let kind = sec.kind.as_str();
        if kind == "wifi" {
            if !["2g", "5g", "6g"].contains(&name) {
                return Err(format!(
                    "{f}:{}: config wifi needs a band as its name: '2g', '5g' or '6g'",
                    sec.line
                ));
            }
            if b.bands.iter().any(|x| x.band == name) {
                return Err(format!("{f}:{}: band '{name}' given twice", sec.line));
            }
            b.bands.push(Band {
                band: name.to_string(),
                channel: 0,
                htmode: None,
                mesh: true,
                ap: true,
            });
        } else if !["site", "mesh", "client", "access"].contains(&kind) {
            return Err(format!(
                "{f}:{}: unknown section type '{kind}' (expected site, mesh, wifi, client or access)",
                sec.line
            ));
        }
        for o in &sec.options {
            b.option(kind, o)
                .map_err(|m| format!("{f}:{}: option '{}': {m}", o.line, o.key))?;
        }
        if let Some(band) = b.bands.last().filter(|x| kind == "wifi" && x.channel == 0) {
            return Err(format!(
                "{f}:{}: wifi '{}' needs option channel (a fixed channel: mesh peers must share it)",
                sec.line, band.band
            ));
        }
    }
    b.finish().map_err(|m| format!("{f}: {m}"))
}

/// Reads and parses the site file.
pub fn load(path: &Path) -> Result<SiteConf, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    parse(&text, path)
}

#[derive(Default)]
struct Builder {
    name: Option<String>,
    code: Option<String>,
    country: Option<String>,
    prefix6: Option<Prefix>,
    prefix4: Option<Prefix>,
    lan4_len: Option<u8>,
    gateway: Option<String>,
    resolvers: Vec<IpAddr>,
    packages: Vec<String>,
    mesh_id: Option<String>,
    mesh_key: Option<String>,
    wired: Vec<String>,
    bands: Vec<Band>,
    ssid: Option<String>,
    client_key: Option<String>,
    root_hash: Option<String>,
    ssh_keys: Vec<String>,
}

fn word(v: &str) -> Result<String, String> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("'{v}' must be one word"));
    }
    Ok(v.to_string())
}

fn line(v: &str) -> Result<String, String> {
    if v.chars().any(|c| c.is_control()) {
        return Err("must be one line of text".into());
    }
    Ok(v.to_string())
}

/// `off`, `client`, `server[=DOWN/UP]`, `auto[=DOWN/UP]` (Mbit/s).
pub fn check_gateway(v: &str) -> Result<String, String> {
    let bad =
        || format!("'{v}' is not a gateway policy (off, client, server[=DOWN/UP], auto[=DOWN/UP])");
    let (mode, bw) = match v.split_once('=') {
        Some((m, bw)) => (m, Some(bw)),
        None => (v, None),
    };
    match (mode, bw) {
        ("off" | "client", None) | ("server" | "auto", None) => {}
        // The daemon parses the value it becomes in /etc/config/roost.
        ("server" | "auto", Some(_)) => {
            v.parse::<crate::config::GatewayMode>().map_err(|_| bad())?;
        }
        _ => return Err(bad()),
    }
    Ok(v.to_string())
}

impl Builder {
    fn option(&mut self, kind: &str, o: &uci::UciOption) -> Result<(), String> {
        let v = o.value.as_str();
        let lists = ["resolver", "package", "wired", "ssh_key"];
        if o.is_list != lists.contains(&o.key.as_str()) {
            return Err(if o.is_list {
                "is not a list: use option".into()
            } else {
                "is a list: use list".into()
            });
        }
        match (kind, o.key.as_str()) {
            ("site", "name") => self.name = Some(line(v)?),
            ("site", "code") => self.code = Some(word(v)?),
            ("site", "country") => {
                if v.len() != 2 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(format!("'{v}' is not a two-letter country code"));
                }
                self.country = Some(v.to_ascii_uppercase());
            }
            ("site", "prefix6") => self.prefix6 = Some(v.parse().map_err(|e| format!("{e}"))?),
            ("site", "prefix4") => self.prefix4 = Some(v.parse().map_err(|e| format!("{e}"))?),
            ("site", "lan4_len") => {
                self.lan4_len = Some(v.parse().map_err(|_| format!("'{v}' is not a length"))?)
            }
            ("site", "gateway") => self.gateway = Some(check_gateway(v)?),
            ("site", "resolver") => self.resolvers.push(
                v.parse()
                    .map_err(|_| format!("'{v}' is not an IP address"))?,
            ),
            ("site", "package") => self.packages.push(word(v)?),
            ("mesh", "id") => {
                if v.is_empty() || v.len() > 32 {
                    return Err("a mesh id has 1 to 32 bytes".into());
                }
                self.mesh_id = Some(line(v)?);
            }
            ("mesh", "key") if v.is_empty() => self.mesh_key = None,
            ("mesh", "key") => {
                if v.len() < 8 {
                    return Err("an SAE key has at least 8 characters".into());
                }
                self.mesh_key = Some(line(v)?);
            }
            ("mesh", "wired") => self.wired.push(word(v)?),
            ("wifi", key) => {
                let band = self
                    .bands
                    .last_mut()
                    .ok_or_else(|| "outside of a wifi section".to_string())?;
                match key {
                    "channel" => {
                        band.channel = match v.parse::<u16>() {
                            Ok(c @ 1..=233) => c,
                            _ => return Err(format!("'{v}' is not a channel number (no 'auto': mesh peers must share one channel)")),
                        }
                    }
                    "htmode" => band.htmode = Some(word(v)?),
                    "mesh" => band.mesh = parse_bool(v)?,
                    "ap" => band.ap = parse_bool(v)?,
                    _ => return Err("unknown in section 'wifi' (channel, htmode, mesh, ap)".into()),
                }
            }
            ("client", "ssid") => {
                if v.is_empty() || v.len() > 32 {
                    return Err("an SSID has 1 to 32 bytes".into());
                }
                self.ssid = Some(line(v)?);
            }
            ("client", "key") if v.is_empty() => self.client_key = None,
            ("client", "key") => {
                if !(8..=63).contains(&v.len()) {
                    return Err("a WPA2 passphrase has 8 to 63 characters".into());
                }
                self.client_key = Some(line(v)?);
            }
            ("access", "root_hash") => {
                if !v.starts_with('$') || v.contains(':') {
                    return Err("expected a crypt(3) hash such as '$6$...' or '$1$...'".into());
                }
                self.root_hash = Some(word(v)?);
            }
            ("access", "ssh_key") => self.ssh_keys.push(line(v)?),
            (k, _) => return Err(format!("unknown in section '{k}' (docs/IMAGEBUILDER.md)")),
        }
        Ok(())
    }

    fn finish(self) -> Result<SiteConf, String> {
        let need = |x: Option<String>, what: &str| x.ok_or_else(|| format!("{what} is missing"));
        let code = need(self.code, "site.code")?;
        let prefix6 = self.prefix6.ok_or("site.prefix6 is missing")?;
        let prefix4 = self.prefix4.ok_or("site.prefix4 is missing")?;
        let addressing = Addressing::new(prefix6, prefix4, self.lan4_len.unwrap_or(24))?;
        let wifi = !self.bands.is_empty();
        if wifi && self.country.is_none() {
            return Err("site.country is missing (the regulatory domain for the radios)".into());
        }
        let mesh_id = match self.mesh_id {
            Some(m) => m,
            None if self.bands.iter().any(|b| b.mesh) => return Err("mesh.id is missing".into()),
            None => String::new(),
        };
        let ssid = match self.ssid {
            Some(s) => s,
            None if self.bands.iter().any(|b| b.ap) => return Err("client.ssid is missing".into()),
            None => String::new(),
        };
        Ok(SiteConf {
            name: self.name.unwrap_or_else(|| code.clone()),
            code,
            country: self.country,
            addressing,
            gateway: self.gateway,
            resolvers: self.resolvers,
            packages: self.packages,
            mesh_id,
            mesh_key: self.mesh_key,
            wired: self.wired,
            bands: self.bands,
            ssid,
            client_key: self.client_key,
            root_hash: self.root_hash,
            ssh_keys: self.ssh_keys,
        })
    }
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("'{v}' is not a boolean (0 or 1)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "config site\n\toption code 'ffx'\n\toption prefix6 'fd77:1234:5678::/48'\n\toption prefix4 '10.0.0.0/8'\n\toption country 'de'\n\toption gateway 'auto=100/20'\n\nconfig mesh\n\toption id 'm'\n\nconfig wifi '2g'\n\toption channel '1'\n\nconfig client\n\toption ssid 'x'\n";

    #[test]
    fn parses_and_checks() {
        let p = Path::new("site.conf");
        let s = parse(SITE, p).unwrap();
        assert_eq!(s.country.as_deref(), Some("DE"));
        assert_eq!(s.addressing.lan4_len, 24);
        assert_eq!(s.bands[0].channel, 1);
        assert_eq!(s.name, "ffx");
        let e = parse(&SITE.replace("'1'", "'auto'"), p).unwrap_err();
        assert!(e.starts_with("site.conf:12: option 'channel'"), "{e}");
        let e = parse(&SITE.replace("auto=100/20", "auto=fast"), p).unwrap_err();
        assert!(e.contains("site.conf:6:"), "{e}");
        let e = parse(&SITE.replace("\toption id 'm'\n", ""), p).unwrap_err();
        assert_eq!(e, "site.conf: mesh.id is missing");
        let e = parse(&format!("{SITE}config foo\n"), p).unwrap_err();
        assert!(
            e.contains("site.conf:16: unknown section type 'foo'"),
            "{e}"
        );
        assert!(parse(&SITE.replace("option code", "list code"), p).is_err());
        for g in ["off", "client", "server", "server=1.5/0.5", "auto"] {
            assert!(check_gateway(g).is_ok(), "{g}");
        }
        for g in [
            "on",
            "server=1",
            "auto=0/1",
            "client=1/1",
            "",
            "server=1.25/1",
        ] {
            assert!(check_gateway(g).is_err(), "{g}");
        }
    }
}
