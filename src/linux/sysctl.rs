//! Kernel settings a mesh router needs (see docs/CONFIG.md, "Kernel setup").
//! Failures are logged, not fatal: a read-only /proc (containers) should not
//! stop the daemon.

use super::log;

fn set(path: &str, value: &str) {
    let full = format!("/proc/sys/{path}");
    match std::fs::read_to_string(&full) {
        Ok(old) if old.trim() == value => return,
        _ => {}
    }
    match std::fs::write(&full, value) {
        Ok(()) => log::debug!("sysctl {path} = {value}"),
        Err(e) => log::warning!("cannot set sysctl {path} = {value}: {e}"),
    }
}

/// Forwarding on, reverse-path filtering and redirects off globally.
pub fn setup_global() {
    set("net/ipv4/ip_forward", "1");
    set("net/ipv6/conf/all/forwarding", "1");
    // rp_filter uses max(all, interface): both must be 0.
    set("net/ipv4/conf/all/rp_filter", "0");
    // send_redirects uses all OR interface.
    set("net/ipv4/conf/all/send_redirects", "0");
}

/// Per mesh interface: no reverse-path filter, no ICMP redirects.
pub fn setup_iface(ifname: &str) {
    set(&format!("net/ipv4/conf/{ifname}/rp_filter"), "0");
    set(&format!("net/ipv4/conf/{ifname}/send_redirects"), "0");
    set(&format!("net/ipv4/conf/{ifname}/accept_redirects"), "0");
    set(&format!("net/ipv6/conf/{ifname}/accept_redirects"), "0");
}
