//! Kernel route and rule sync, checked inside throw-away network namespaces.
//!
//! Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns). Without root the
//! tests print a notice and pass, unless `CI=true`, where they fail loudly.
//! Every namespace is created by the test (unique name), and deleted when
//! the test ends, also on failure. No traffic leaves it.

use std::net::Ipv6Addr;
use std::process::Command;
use std::time::Duration;

use roost::engine::{Route, RouteChange, Time};
use roost::linux::{route::RouteSync, rules};
use roost::prefix::Prefix;

const TABLE: u32 = 76;
const SETTLE: Duration = Duration::from_secs(5);

mod common;
use common::{have_root, routes_in, Netns};

fn ifindex(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).expect("if_nametoindex")
}

fn route(dst: &str, via: &str, iface: u32, metric: u32) -> Route {
    Route {
        dst: dst.parse::<Prefix>().unwrap(),
        via: via.parse::<Ipv6Addr>().unwrap(),
        iface,
        metric,
        originator: "fd00::99".parse().unwrap(),
        tq: 200,
    }
}

#[test]
fn route_sync() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("routes");
    // Stale: ours from a "crash"; foreign: a static route in the same table.
    ns.ip(&[
        "-6",
        "route",
        "add",
        "fd99::/64",
        "via",
        "fe80::99",
        "dev",
        "d0",
        "table",
        "76",
        "proto",
        "77",
    ]);
    ns.ip(&[
        "route",
        "add",
        "10.99.0.0/16",
        "via",
        "inet6",
        "fe80::99",
        "dev",
        "d0",
        "table",
        "76",
        "proto",
        "77",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "fd55::/64",
        "via",
        "fe80::55",
        "dev",
        "d0",
        "table",
        "76",
        "proto",
        "static",
    ]);
    let nsname = ns.name.clone();
    let check = move |want: &[&str]| {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(routes_in(&nsname, &["proto", "77"]), want);
    };
    let check2 = check.clone();
    ns.enter(move || {
        let d0 = ifindex("d0");
        let now = Time(0);
        let mut rs = RouteSync::new(TABLE).expect("RouteSync::new");
        check(&[]); // stale routes removed at start

        rs.apply(vec![
            RouteChange::Set(route("fd77:1::/64", "fe80::1", d0, 20)),
            RouteChange::Set(route("10.77.1.0/24", "fe80::1", d0, 20)),
            RouteChange::Set(route("fd77::5/128", "fe80::2", d0, 30)),
        ]);
        rs.settle(now, SETTLE).unwrap();
        check(&[
            "10.77.1.0/24 via inet6 fe80::1 dev d0 metric 20",
            "fd77::5 via fe80::2 dev d0 metric 30 pref medium",
            "fd77:1::/64 via fe80::1 dev d0 metric 20 pref medium",
        ]);
        assert!(rs.summary(now).in_sync);

        // Replace: new next hop, same metric; then new metric (make before break).
        rs.apply(vec![
            RouteChange::Set(route("fd77:1::/64", "fe80::3", d0, 20)),
            RouteChange::Set(route("10.77.1.0/24", "fe80::3", d0, 40)),
        ]);
        rs.settle(now, SETTLE).unwrap();
        check(&[
            "10.77.1.0/24 via inet6 fe80::3 dev d0 metric 40",
            "fd77::5 via fe80::2 dev d0 metric 30 pref medium",
            "fd77:1::/64 via fe80::3 dev d0 metric 20 pref medium",
        ]);

        // Remove.
        rs.apply(vec![RouteChange::Remove("fd77::5/128".parse().unwrap())]);
        rs.settle(now, SETTLE).unwrap();
        check(&[
            "10.77.1.0/24 via inet6 fe80::3 dev d0 metric 40",
            "fd77:1::/64 via fe80::3 dev d0 metric 20 pref medium",
        ]);
        let s = rs.summary(now);
        assert_eq!((s.desired, s.installed, s.in_sync), (2, 2, true));
    });

    // Someone deletes a route behind our back: a resync puts it back.
    ns.ip(&["-6", "route", "del", "fd77:1::/64", "table", "76"]);
    let check = check2.clone();
    ns.enter(move || {
        let d0 = ifindex("d0");
        let now = Time(0);
        // A fresh RouteSync starts by removing everything of ours.
        let mut rs = RouteSync::new(TABLE).unwrap();
        check(&[]);
        rs.set_desired(vec![
            route("fd77:1::/64", "fe80::3", d0, 20),
            route("10.77.1.0/24", "fe80::3", d0, 40),
        ]);
        rs.settle(now, SETTLE).unwrap();
        let before = rs.summary(now);
        assert!(before.in_sync);
        let del = Command::new("ip")
            .args(["-6", "route", "del", "fd77:1::/64", "table", "76"])
            .status()
            .unwrap();
        assert!(del.success());
        rs.resync(now).unwrap();
        assert!(!rs.summary(now).in_sync);
        rs.settle(now, SETTLE).unwrap();
        assert!(rs.summary(now).in_sync);
        check(&[
            "10.77.1.0/24 via inet6 fe80::3 dev d0 metric 40",
            "fd77:1::/64 via fe80::3 dev d0 metric 20 pref medium",
        ]);

        // A route the kernel refuses (no such interface) is not assumed
        // installed, and is reported with a retry time.
        rs.apply(vec![RouteChange::Set(route(
            "fd77:9::/64",
            "fe80::9",
            9999,
            20,
        ))]);
        rs.settle(now, SETTLE).unwrap();
        let s = rs.summary(now);
        assert!(!s.in_sync);
        assert_eq!(s.failing.len(), 1);
        assert_eq!(s.failing[0].dst.to_string(), "fd77:9::/64");
        assert_eq!(s.failing[0].retry_in_ms, 1000);
        assert_eq!(rs.next_deadline(), Some(Time(1000)));
        // Not retried before the backoff ends...
        rs.flush(Time(500));
        assert!(rs.is_idle());
        // ...and after it, it fails again with a longer backoff.
        rs.settle(Time(1000), SETTLE).unwrap();
        assert_eq!(rs.summary(Time(1000)).failing[0].retry_in_ms, 2000);

        // Shutdown removes everything of ours.
        assert_eq!(rs.remove_all().unwrap(), 2);
        check(&[]);
    });
    // The static route in the same table was never touched.
    let all = ns.routes(&[]);
    assert_eq!(
        all,
        vec!["fd55::/64 via fe80::55 dev d0 proto static metric 1024 pref medium".to_string()]
    );
}

#[test]
fn rule_layout() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("rules");
    ns.ip(&["-4", "rule", "add", "priority", "7000", "lookup", "100"]);
    ns.ip(&["-6", "rule", "add", "priority", "7000", "lookup", "100"]);
    let before4 = ns.ip(&["-4", "rule"]);
    let before6 = ns.ip(&["-6", "rule"]);
    ns.enter(|| {
        rules::install(TABLE, 77).unwrap();
        // Idempotent.
        rules::install(TABLE, 77).unwrap();
        // Gateway pins: a source selector per family, added twice (fine)
        // and removed once more than they exist (fine).
        let pin = |src: &str| rules::Rule {
            v4: src.contains('.'),
            priority: 7700,
            table: 7701,
            suppress_prefixlen: None,
            src: Some(src.parse().unwrap()),
        };
        let pins = [pin("10.77.3.0/24"), pin("fd77:3::/64"), pin("fd77::9/128")];
        rules::change(&pins, &[]).unwrap();
        rules::change(&pins[..1], &[]).unwrap();
        rules::change(&[], &pins[2..]).unwrap();
        rules::change(&[], &pins[2..]).unwrap();
    });
    let norm = |s: String| -> Vec<String> {
        s.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    for fam in ["-4", "-6"] {
        let r = norm(ns.ip(&[fam, "rule"]));
        assert!(
            r.contains(&"7500: from all lookup main suppress_prefixlength 0 proto 77".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"7600: from all lookup 76 proto 77".to_string()),
            "{r:?}"
        );
        assert!(
            r.contains(&"32800: from all lookup 77 proto 77".to_string()),
            "{r:?}"
        );
        let pin = if fam == "-4" {
            "7700: from 10.77.3.0/24 lookup 7701 proto 77"
        } else {
            "7700: from fd77:3::/64 lookup 7701 proto 77"
        };
        assert!(r.contains(&pin.to_string()), "{r:?}");
        assert_eq!(r.iter().filter(|l| l.contains("proto 77")).count(), 4);
        assert!(
            r.contains(&"7000: from all lookup 100".to_string()),
            "{r:?}"
        );
    }
    let removed = ns.enter(|| rules::remove_all().unwrap());
    assert_eq!(removed, 8);
    assert_eq!(ns.ip(&["-4", "rule"]), before4);
    assert_eq!(ns.ip(&["-6", "rule"]), before6);
}
