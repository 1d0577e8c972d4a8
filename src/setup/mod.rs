//! `roost setup`: first-boot configuration of a router from the site file
//! and the router's MAC address (docs/IMAGEBUILDER.md).
//!
//! It edits `/etc/config/{network,wireless,firewall,dhcp,system,roost}`
//! (and writes fw4's include `/etc/nftables.d/20-roost-transit.nft`)
//! in place with the round-tripping document model of [`doc`]: options it
//! does not own are left as they are, comments stay, and a second run
//! changes nothing. The addresses and the hostname come from
//! [`crate::zeroconf`], the same derivation the daemon uses.

pub mod doc;
pub mod site;

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::prefix::Prefix;
use crate::zeroconf::{self, Derived};
use doc::{Doc, Section};
use site::SiteConf;

/// An error and the exit code it gives (2: the site file or a config file
/// is wrong, 1: anything else).
#[derive(Debug)]
pub struct Error {
    pub exit: u8,
    pub msg: String,
}

fn config_err(msg: String) -> Error {
    Error { exit: 2, msg }
}

fn io_err(msg: String) -> Error {
    Error { exit: 1, msg }
}

/// What `roost setup` was given.
#[derive(Clone, Debug)]
pub struct Options {
    pub site: PathBuf,
    /// The UCI directory; `/etc/shadow` and `/etc/dropbear` are its
    /// siblings (`DIR/../shadow`).
    pub config_dir: PathBuf,
    /// The interface whose MAC identifies the router (when `mac` is None).
    pub interface: String,
    pub mac: Option<[u8; 6]>,
    /// Where interfaces are looked up: `/sys/class/net`.
    pub sys_class_net: PathBuf,
}

/// The UCI packages `roost setup` edits.
pub const PACKAGES: [&str; 6] = ["network", "wireless", "firewall", "dhcp", "system", "roost"];

/// Reads everything, edits, writes the files that changed; returns the
/// summary printed by the CLI.
pub fn run(o: &Options) -> Result<String, Error> {
    let site = site::load(&o.site).map_err(config_err)?;
    let mac = match o.mac {
        Some(m) => m,
        None => router_mac(&o.sys_class_net, &o.interface).map_err(io_err)?,
    };
    let mut docs = BTreeMap::new();
    let mut originals = BTreeMap::new();
    for p in PACKAGES {
        let path = o.config_dir.join(p);
        let text = match fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err(format!("{}: cannot read: {e}", path.display()))),
        };
        let d = match &text {
            Some(t) => Doc::parse(t)
                .map_err(|e| config_err(format!("{}:{}: {}", path.display(), e.line, e.msg)))?,
            None => Doc::default(),
        };
        docs.insert(p, d);
        originals.insert(p, text);
    }
    let d = site.addressing.derive(mac, 0);
    let hostname = zeroconf::hostname(&site.code, mac);
    let meshes = configure(&mut docs, &site, &d, &hostname).map_err(config_err)?;

    let mut changed = Vec::new();
    for p in PACKAGES {
        let text = docs[p].serialize();
        // A missing file the edit left empty (e.g. no wireless on x86)
        // stays missing.
        if originals[p].as_deref().unwrap_or("") != text {
            write_file(&o.config_dir.join(p), &text, 0o644)?;
            changed.push(p.to_string());
        }
    }
    let etc = o.config_dir.join("..");
    if transit_rule(&etc.join(TRANSIT_NFT), &meshes)? {
        changed.push(TRANSIT_NFT.into());
    }
    if let Some(h) = &site.root_hash {
        if set_root_hash(&etc.join("shadow"), h)? {
            changed.push("shadow".into());
        }
    }
    if !site.ssh_keys.is_empty()
        && add_ssh_keys(&etc.join("dropbear/authorized_keys"), &site.ssh_keys)?
    {
        changed.push("dropbear/authorized_keys".into());
    }
    let macs = mac.map(|b| format!("{b:02x}")).join(":");
    Ok(format!(
        "roost setup: {hostname} (MAC {macs}): originator {}, LAN {} and {}, mesh on {}; {}",
        d.originator,
        d.lan4,
        d.lan6,
        if meshes.is_empty() {
            "nothing".to_string()
        } else {
            meshes.join(", ")
        },
        if changed.is_empty() {
            "nothing changed".to_string()
        } else {
            format!("changed {}", changed.join(", "))
        }
    ))
}

/// fw4 includes every `/etc/nftables.d/*.nft` inside its `inet fw4` table.
pub const TRANSIT_NFT: &str = "nftables.d/20-roost-transit.nft";

/// The fw4 include that keeps mesh transit out of conntrack: traffic that
/// arrives on a mesh interface and is routed out of one. At a gateway, a
/// client's packet relayed that way once (while pins settle after a
/// gateway change) would otherwise leave a conntrack entry without NAT
/// that the rest of the flow follows out of the uplink (docs/CONFIG.md,
/// NAT at the gateway). Also saves conntrack memory on relaying nodes.
pub fn transit_nft(ifnames: &[String]) -> String {
    let set = ifnames
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "# Written by `roost setup`: mesh transit is not connection-tracked\n\
         # (docs/CONFIG.md, \"NAT at the gateway\"). Included by fw4.\n\
         chain roost_transit {{\n\
         \ttype filter hook prerouting priority raw; policy accept;\n\
         \tiifname {{ {set} }} fib daddr oifname {{ {set} }} notrack\n\
         }}\n"
    )
}

/// Writes (or, without mesh interfaces, removes) the transit include;
/// returns whether the file changed.
fn transit_rule(path: &Path, ifnames: &[String]) -> Result<bool, Error> {
    let have = fs::read_to_string(path).ok();
    if ifnames.is_empty() {
        if have.is_none() {
            return Ok(false);
        }
        fs::remove_file(path)
            .map_err(|e| io_err(format!("{}: cannot remove: {e}", path.display())))?;
        return Ok(true);
    }
    let want = transit_nft(ifnames);
    if have.as_deref() == Some(want.as_str()) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|e| io_err(format!("{}: cannot create: {e}", dir.display())))?;
    }
    write_file(path, &want, 0o644)?;
    Ok(true)
}

/// The MAC of `ifname`, else of the first interface (by name, not `lo`)
/// with a non-zero one.
fn router_mac(sys: &Path, ifname: &str) -> Result<[u8; 6], String> {
    let read = |name: &str| {
        fs::read_to_string(sys.join(name).join("address"))
            .ok()
            .and_then(|t| parse_mac(t.trim()).ok())
            .filter(|m| m.iter().any(|&b| b != 0))
    };
    if let Some(m) = read(ifname) {
        return Ok(m);
    }
    let mut names: Vec<String> = fs::read_dir(sys)
        .map_err(|e| format!("{}: {e}", sys.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "lo")
        .collect();
    names.sort_unstable();
    names.iter().find_map(|n| read(n)).ok_or_else(|| {
        format!(
            "no MAC address: {ifname} has none and no interface in {} has one (give --mac)",
            sys.display()
        )
    })
}

/// `02:11:22:33:44:55` (or with `-`).
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    let mut m = [0u8; 6];
    if parts.len() != 6 {
        return Err(format!("'{s}' is not a MAC address"));
    }
    for (b, p) in m.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16)
            .ok()
            .filter(|_| p.len() == 2)
            .ok_or_else(|| format!("'{s}' is not a MAC address"))?;
    }
    Ok(m)
}

/// Writes atomically (temporary file + rename), keeping the mode of an
/// existing file.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let e = |what: &str, err: std::io::Error| io_err(format!("{}: {what}: {err}", path.display()));
    let mode = fs::metadata(path).map_or(mode, |m| m.permissions().mode() & 0o7777);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".roost-setup");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).map_err(|x| e("cannot write", x))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode)).map_err(|x| e("chmod", x))?;
    fs::rename(&tmp, path).map_err(|x| e("cannot replace", x))
}

/// Sets root's password hash in `shadow`; true if it changed.
fn set_root_hash(shadow: &Path, hash: &str) -> Result<bool, Error> {
    let text = fs::read_to_string(shadow)
        .map_err(|e| io_err(format!("{}: cannot read: {e}", shadow.display())))?;
    let mut found = false;
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let mut f: Vec<&str> = l.split(':').collect();
            if f.len() >= 2 && f[0] == "root" && !found {
                found = true;
                f[1] = hash;
                return f.join(":");
            }
            l.to_string()
        })
        .collect();
    if !found {
        return Err(io_err(format!("{}: no line for root", shadow.display())));
    }
    let new = lines.join("\n");
    if new == text {
        return Ok(false);
    }
    write_file(shadow, &new, 0o600)?;
    Ok(true)
}

/// Appends the keys `authorized_keys` lacks; true if it changed.
fn add_ssh_keys(path: &Path, keys: &[String]) -> Result<bool, Error> {
    use std::os::unix::fs::PermissionsExt;
    let old = fs::read_to_string(path).unwrap_or_default();
    let mut new = old.clone();
    for k in keys {
        if !old.lines().any(|l| l.trim() == k.trim()) {
            if !new.is_empty() && !new.ends_with('\n') {
                new.push('\n');
            }
            new.push_str(k.trim());
            new.push('\n');
        }
    }
    if new == old {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700)))
            .map_err(|e| io_err(format!("{}: {e}", dir.display())))?;
    }
    write_file(path, &new, 0o600)?;
    Ok(true)
}

/// One mesh link the setup creates: the netifd interface (also the name
/// of its roost and wifi-iface sections) and the kernel device.
struct Mesh {
    name: String,
    ifname: String,
    wired: bool,
}

/// Every edit of the UCI documents; returns the mesh interfaces.
fn configure(
    docs: &mut BTreeMap<&'static str, Doc>,
    site: &SiteConf,
    d: &Derived,
    hostname: &str,
) -> Result<Vec<String>, String> {
    let mut meshes = wireless(docs.entry("wireless").or_default(), site);
    let net = docs.entry("network").or_default();
    meshes.extend(wired(net, site)?);
    let old_lan = lan4_prefix(net);
    network(net, d, &meshes)?;
    firewall(docs.entry("firewall").or_default(), &meshes);
    dhcp(docs.entry("dhcp").or_default(), site, d);
    let sys = docs.entry("system").or_default();
    let i = match sys.find(|s| s.kind == "system") {
        Some(i) => i,
        None => sys.push("system", None),
    };
    sys.sections[i].set("hostname", hostname);
    roost(docs.entry("roost").or_default(), site, d, old_lan, &meshes);
    Ok(meshes.into_iter().map(|m| m.ifname).collect())
}

/// The band of a `wifi-device`: `option band`, else the older `hwmode`.
fn radio_band(s: &Section) -> Option<String> {
    if let Some(b) = s.get("band") {
        return Some(b.to_string());
    }
    match s.get("hwmode") {
        Some("11a") => Some("5g".into()),
        Some("11g" | "11b" | "11n") => Some("2g".into()),
        _ => None,
    }
}

fn wireless(w: &mut Doc, site: &SiteConf) -> Vec<Mesh> {
    let mut meshes = Vec::new();
    for (n, band) in ["2g", "5g", "6g"].iter().enumerate() {
        let Some(b) = site.bands.iter().find(|b| b.band == *band) else {
            continue;
        };
        // The first radio of the band; a second one (tri-band) is left alone.
        let Some(r) = w.find(|s| s.kind == "wifi-device" && radio_band(s).as_deref() == Some(band))
        else {
            continue;
        };
        let Some(radio) = w.sections[r].name.clone() else {
            continue;
        };
        let dev = &mut w.sections[r];
        dev.set("channel", &b.channel.to_string());
        if let Some(c) = &site.country {
            dev.set("country", c);
        }
        if let Some(h) = &b.htmode {
            dev.set("htmode", h);
        }
        dev.set("disabled", "0");
        if b.mesh {
            // A fixed name: 24.10 would call it phy0-mesh0, per radio order.
            let name = format!("mesh{n}");
            let m = w.ensure_named("wifi-iface", &name);
            m.set("device", &radio)
                .set("mode", "mesh")
                .set("mesh_id", &site.mesh_id)
                .set("mesh_fwding", "0")
                .set("network", &name)
                .set("ifname", &name);
            // SAE with CCMP forced and management frame protection
            // required, as LuCI writes "WPA3-SAE, Force CCMP (AES)".
            match &site.mesh_key {
                Some(k) => m
                    .set("encryption", "sae+ccmp")
                    .set("key", k)
                    .set("ieee80211w", "2"),
                None => m.set("encryption", "none").del("key").del("ieee80211w"),
            };
            meshes.push(Mesh {
                ifname: name.clone(),
                name,
                wired: false,
            });
        }
        if b.ap {
            let existing = w.find(|s| {
                s.kind == "wifi-iface"
                    && s.get("device") == Some(&radio)
                    && s.get("mode") == Some("ap")
                    && s.get("network")
                        .is_some_and(|n| n.split(' ').any(|x| x == "lan"))
            });
            let i = match existing {
                Some(i) => i,
                None => w.ensure("wifi-iface", &format!("client_{radio}")),
            };
            let ap = &mut w.sections[i];
            ap.set("device", &radio)
                .set("network", "lan")
                .set("mode", "ap")
                .set("ssid", &site.ssid);
            match &site.client_key {
                Some(k) => ap.set("encryption", "psk2+ccmp").set("key", k),
                None => ap.set("encryption", "none").del("key"),
            };
        }
    }
    meshes
}

/// A netifd interface name for a wired mesh port (`[A-Za-z0-9_]`, ≤ 15).
fn wired_name(port: &str) -> String {
    let s: String = port
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("mesh_{s}").chars().take(15).collect()
}

/// Wired mesh ports: a netifd interface (`wan`) gives its device, and it
/// and the interfaces on the same device are no longer started
/// (`auto '0'`); a device is taken out of the bridges it is a port of.
fn wired(net: &mut Doc, site: &SiteConf) -> Result<Vec<Mesh>, String> {
    let mut meshes = Vec::new();
    for port in &site.wired {
        let name = wired_name(port);
        let as_iface = net
            .find(|s| s.kind == "interface" && s.name.as_deref() == Some(port.as_str()))
            .and_then(|i| net.sections[i].get("device").map(str::to_string));
        let dev = match as_iface {
            Some(dev) => {
                let alias = format!("@{port}");
                for s in net.sections.iter_mut().filter(|s| {
                    s.kind == "interface"
                        && s.name.as_deref() != Some(name.as_str())
                        && (s.name.as_deref() == Some(port.as_str())
                            || s.get("device").is_some_and(|d| d == dev || d == alias))
                }) {
                    s.set("auto", "0");
                }
                dev
            }
            None => {
                for s in net.sections.iter_mut().filter(|s| s.kind == "device") {
                    s.del_list("ports", port);
                }
                port.clone()
            }
        };
        if dev.is_empty() || dev.len() > 15 {
            return Err(format!("wired mesh port '{port}': no usable device"));
        }
        net.ensure_named("interface", &name)
            .set("device", &dev)
            .set("proto", "none");
        meshes.push(Mesh {
            name,
            ifname: dev,
            wired: true,
        });
    }
    Ok(meshes)
}

fn netmask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0))
}

/// The LAN's IPv4 prefix as configured (`ipaddr` + `netmask`, or CIDR).
fn lan4_prefix(net: &Doc) -> Option<Prefix> {
    let lan =
        &net.sections[net.find(|s| s.kind == "interface" && s.name.as_deref() == Some("lan"))?];
    let ip = lan.get("ipaddr")?;
    let (addr, len) = match ip.split_once('/') {
        Some((a, l)) => (a.parse::<Ipv4Addr>().ok()?, l.parse::<u8>().ok()?),
        None => {
            let mask = u32::from(lan.get("netmask")?.parse::<Ipv4Addr>().ok()?);
            (ip.parse::<Ipv4Addr>().ok()?, mask.count_ones() as u8)
        }
    };
    Prefix::new(addr.into(), len)
}

fn network(net: &mut Doc, d: &Derived, meshes: &[Mesh]) -> Result<(), String> {
    let lan = net
        .find(|s| s.kind == "interface" && s.name.as_deref() == Some("lan"))
        .ok_or("network: no interface 'lan' to put the clients on")?;
    let lan = &mut net.sections[lan];
    lan.set("proto", "static")
        .set("ipaddr", &d.router4.to_string())
        .set("netmask", &netmask(d.lan4.len()).to_string())
        .set("ip6addr", &format!("{}/64", d.router6))
        // The node's /64 only: a ULA or delegated prefix from ip6assign is
        // not routed by the mesh.
        .del("ip6assign");
    for m in meshes.iter().filter(|m| !m.wired) {
        // Link-local addresses only: Roost speaks over fe80::/64.
        net.ensure_named("interface", &m.name).set("proto", "none");
    }
    Ok(())
}

fn firewall(fw: &mut Doc, meshes: &[Mesh]) {
    let i = match fw.with_option("zone", "name", "mesh") {
        Some(i) => i,
        None => fw.push("zone", Some("mesh")),
    };
    let names: Vec<&str> = meshes.iter().map(|m| m.name.as_str()).collect();
    fw.sections[i]
        .set("name", "mesh")
        .set("input", "ACCEPT")
        .set("output", "ACCEPT")
        // Relaying between mesh interfaces is forwarding within the zone.
        .set("forward", "ACCEPT")
        .set_list("network", &names);
    // The mesh may reach the LAN and the uplink, the LAN the mesh; the
    // WAN zone keeps input and forward REJECT and gets no forwarding.
    for (src, dest) in [("mesh", "lan"), ("mesh", "wan"), ("lan", "mesh")] {
        let found = fw.find(|s| {
            s.kind == "forwarding" && s.get("src") == Some(src) && s.get("dest") == Some(dest)
        });
        if found.is_none() {
            let name = format!("{src}_{dest}");
            fw.ensure_named("forwarding", &name)
                .set("src", src)
                .set("dest", dest);
        }
    }
}

fn dhcp(dh: &mut Doc, site: &SiteConf, d: &Derived) {
    if !site.resolvers.is_empty() {
        let i = match dh.find(|s| s.kind == "dnsmasq") {
            Some(i) => i,
            None => dh.push("dnsmasq", None),
        };
        let s = &mut dh.sections[i];
        // Per-domain servers (`/domain/addr`) of the user stay.
        let mut servers: Vec<String> = s
            .list("server")
            .into_iter()
            .filter(|v| v.contains('/'))
            .map(str::to_string)
            .collect();
        servers.extend(site.resolvers.iter().map(|r| r.to_string()));
        s.set_list("server", &servers).set("noresolv", "1");
    }
    let i = match dh.find(|s| s.kind == "dhcp" && s.get("interface") == Some("lan")) {
        Some(i) => i,
        None => {
            let i = dh.push("dhcp", Some("lan"));
            dh.sections[i]
                .set("interface", "lan")
                .set("start", "100")
                .set("limit", "150")
                .set("leasetime", "12h");
            i
        }
    };
    let s = &mut dh.sections[i];
    s.del("ignore")
        .set("dhcpv4", "server")
        .set("dhcpv6", "server")
        .set("ra", "server")
        // Announce this node as IPv6 router even without a default route
        // of its own: the mesh routes.
        .set("ra_default", "1");
    // The pool must fit the node's LAN (hosts 2 .. broadcast-1).
    let hosts = (1u32 << (32 - u32::from(d.lan4.len()))).saturating_sub(2);
    let start: u32 = s.get("start").and_then(|v| v.parse().ok()).unwrap_or(100);
    let limit: u32 = s.get("limit").and_then(|v| v.parse().ok()).unwrap_or(150);
    if start < 2 || start.saturating_add(limit).saturating_sub(1) > hosts {
        let start = (hosts / 4).max(2);
        s.set("start", &start.to_string())
            .set("limit", &(hosts + 1 - start).to_string());
    }
}

fn roost(r: &mut Doc, site: &SiteConf, d: &Derived, old_lan: Option<Prefix>, meshes: &[Mesh]) {
    let i = match r.find(|s| s.kind == "roost") {
        Some(i) => i,
        None => r.push("roost", Some("main")),
    };
    let main = &mut r.sections[i];
    // The node's LAN prefixes first; then what the user announces besides,
    // without the renumbered LAN and older derived prefixes of the site.
    let a = &site.addressing;
    let mut announce = vec![d.lan6.to_string(), d.lan4.to_string()];
    for v in main.list("announce") {
        let ours = v.parse::<Prefix>().is_ok_and(|p| {
            Some(p) == old_lan || a.prefix6.contains(p.addr()) || a.prefix4.contains(p.addr())
        });
        if !ours && !announce.iter().any(|x| x == v) {
            announce.push(v.to_string());
        }
    }
    main.set("originator", &d.originator.to_string())
        .set_list("announce", &announce);
    if let Some(g) = &site.gateway {
        main.set("gateway", g);
    }
    for m in meshes {
        r.ensure_named("interface", &m.name)
            .set("ifname", &m.ifname)
            .set("type", if m.wired { "wired" } else { "wireless" })
            .set("disabled", "0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_masks() {
        assert_eq!(
            parse_mac("02:11:22:33:44:5f").unwrap(),
            [2, 0x11, 0x22, 0x33, 0x44, 0x5f]
        );
        assert!(parse_mac("02:11:22:33:44").is_err());
        assert!(parse_mac("02:11:22:33:44:5").is_err());
        assert_eq!(netmask(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(netmask(26), Ipv4Addr::new(255, 255, 255, 192));
        assert_eq!(wired_name("eth0.2"), "mesh_eth0_2");
        assert_eq!(wired_name("a-very-long-port"), "mesh_a_very_lon");
    }
}
