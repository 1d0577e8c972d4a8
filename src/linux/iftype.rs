//! Interface type detection from sysfs (a config `option type` overrides it).

use std::path::Path;

use crate::engine::IfaceKind;

/// ARPHRD values of layer-3 tunnels: none (tun, wireguard), ipip, tunnel6,
/// sit, ipgre, ip6gre, ppp.
const TUNNEL_ARPHRD: [u32; 7] = [65534, 768, 769, 776, 778, 823, 512];
/// `DEVTYPE=` values in uevent of Ethernet-like tunnels.
const TUNNEL_DEVTYPES: [&str; 5] = ["wireguard", "gretap", "ip6gretap", "vxlan", "geneve"];

/// Detects the kind of `ifname` from `/sys/class/net`.
pub fn detect(ifname: &str) -> IfaceKind {
    detect_in(Path::new("/sys/class/net"), ifname)
}

/// As [`detect`], with the sysfs directory given (for tests).
pub fn detect_in(sys_class_net: &Path, ifname: &str) -> IfaceKind {
    let dir = sys_class_net.join(ifname);
    if dir.join("wireless").exists() || dir.join("phy80211").exists() {
        return IfaceKind::Wireless;
    }
    if dir.join("tun_flags").exists() {
        return IfaceKind::Tunnel;
    }
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let arphrd = read("type").trim().parse::<u32>().ok();
    if arphrd.is_some_and(|t| TUNNEL_ARPHRD.contains(&t)) {
        return IfaceKind::Tunnel;
    }
    let uevent = read("uevent");
    let devtype = uevent.lines().find_map(|l| l.strip_prefix("DEVTYPE="));
    match devtype {
        Some("wlan") => IfaceKind::Wireless,
        Some(t) if TUNNEL_DEVTYPES.contains(&t) => IfaceKind::Tunnel,
        _ => IfaceKind::Wired,
    }
}

/// The interface's MAC address from sysfs.
pub fn mac_address(ifname: &str) -> Option<[u8; 6]> {
    let s =
        std::fs::read_to_string(Path::new("/sys/class/net").join(ifname).join("address")).ok()?;
    parse_mac(s.trim())
}

pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    if parts.next().is_some() || out == [0; 6] {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_fake_sysfs() {
        let root = std::env::temp_dir().join(format!("roost-iftype-{}", std::process::id()));
        let mk = |name: &str, files: &[(&str, &str)]| {
            let d = root.join(name);
            std::fs::create_dir_all(&d).unwrap();
            for (f, c) in files {
                std::fs::write(d.join(f), c).unwrap();
            }
        };
        mk("wlan0", &[("type", "1\n"), ("phy80211", "")]);
        mk("tun0", &[("type", "65534\n"), ("tun_flags", "0x1002\n")]);
        mk("wg0", &[("type", "65534\n")]);
        mk(
            "gt0",
            &[
                ("type", "1\n"),
                ("uevent", "DEVTYPE=gretap\nINTERFACE=gt0\n"),
            ],
        );
        mk("eth0", &[("type", "1\n"), ("uevent", "INTERFACE=eth0\n")]);
        assert_eq!(detect_in(&root, "wlan0"), IfaceKind::Wireless);
        assert_eq!(detect_in(&root, "tun0"), IfaceKind::Tunnel);
        assert_eq!(detect_in(&root, "wg0"), IfaceKind::Tunnel);
        assert_eq!(detect_in(&root, "gt0"), IfaceKind::Tunnel);
        assert_eq!(detect_in(&root, "eth0"), IfaceKind::Wired);
        assert_eq!(detect_in(&root, "missing"), IfaceKind::Wired);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:11:22:33:44:ff"),
            Some([2, 0x11, 0x22, 0x33, 0x44, 0xff])
        );
        assert_eq!(parse_mac("00:00:00:00:00:00"), None);
        assert_eq!(parse_mac("02:11:22:33:44"), None);
        assert_eq!(parse_mac("02:11:22:33:44:55:66"), None);
    }
}
