//! Authenticated engines: convergence, forged, replayed and wrong-key
//! datagrams, restarts, key rotation.

use super::*;
use crate::auth::Key;

fn key(b: u8) -> Key {
    Key::new(&[b; 32]).unwrap()
}

fn keyed(i: u16, keys: &[Key]) -> Node {
    let mut n = node(i, &[]);
    n.e.set_keys(keys.to_vec());
    n
}

/// Node `i` (re)started at `now` with its own seed, as a rebooted daemon.
fn restarted(i: u16, keys: &[Key], seed: u64, now: u64) -> Node {
    let mut n = node_at(i, &[], seed, now);
    n.e.set_keys(keys.to_vec());
    drain(&mut n);
    n
}

/// First time (ms) at which both have a route to each other, running to `until`.
fn converge(a: &mut Node, b: &mut Node, until: u64) -> Option<u64> {
    let mut t = 0;
    while t <= until {
        t += 10;
        run(a, b, t, true);
        if !a.routes.is_empty() && !b.routes.is_empty() {
            return Some(t);
        }
    }
    None
}

#[test]
fn keyed_engines_converge_fast() {
    let mut a = keyed(1, &[key(1)]);
    let mut b = keyed(2, &[key(1)]);
    drain(&mut a);
    drain(&mut b);
    let t = converge(&mut a, &mut b, 3000);
    eprintln!(
        "converged at {t:?} ms; a {:?}; b {:?}",
        a.e.counters().dropped,
        b.e.counters().dropped
    );
    assert!(t.is_some_and(|t| t < 1000));
}

fn feed(n: &mut Node, now: u64, src: u16, bytes: &[u8]) {
    n.e.handle_input(
        Time(now),
        Input::Packet {
            iface: 1,
            src: ll(src),
            bytes: bytes.to_vec(),
        },
    );
    drain(n);
}

fn dropped(n: &Node, reason: &str) -> u64 {
    n.e.counters().dropped.get(reason).copied().unwrap_or(0)
}

#[test]
fn wrong_key_and_unauthenticated_senders_get_nothing_in() {
    let mut a = keyed(1, &[key(1)]);
    let mut c = keyed(3, &[key(2)]);
    drain(&mut a);
    drain(&mut c);
    assert_eq!(converge(&mut a, &mut c, 3000), None);
    assert!(a.routes.is_empty() && c.routes.is_empty());
    assert!(dropped(&a, "auth_unknown_key") > 0);
    // A key with the same id but other bytes: the MAC fails.
    let mut a = keyed(1, &[key(1)]);
    drain(&mut a);
    let mut forged = key(2);
    forged.id = key(1).id;
    let mut f = keyed(4, &[forged]);
    drain(&mut f);
    assert_eq!(converge(&mut a, &mut f, 3000), None);
    assert!(dropped(&a, "auth_bad_mac") > 0);
    // An engine without a key.
    let mut a = keyed(1, &[key(1)]);
    drain(&mut a);
    let mut u = node(5, &["10.0.0.5/32"]);
    drain(&mut u);
    assert_eq!(converge(&mut a, &mut u, 3000), None);
    assert!(dropped(&a, "auth_missing") > 0);
    assert!(dropped(&u, "auth_unsupported") > 0);
    assert!(a.routes.is_empty());
}

/// Runs a and b until `until`, recording what a sends.
fn run_capture(a: &mut Node, b: &mut Node, until: u64, log: &mut Vec<Vec<u8>>) {
    run_tapped(a, b, until, true, &mut |d| log.push(d.to_vec()));
}

#[test]
fn replays_are_dropped_also_across_a_restart() {
    let mut a = keyed(1, &[key(1)]);
    let mut b = keyed(2, &[key(1)]);
    drain(&mut a);
    drain(&mut b);
    let mut log = Vec::new();
    run_capture(&mut a, &mut b, 5000, &mut log);
    assert!(!b.routes.is_empty());
    let accepted = b.e.counters().rx_packets - b.e.counters().dropped_total();
    // Every captured datagram again, in order and reversed.
    for bytes in log.iter().chain(log.iter().rev()) {
        feed(&mut b, 5001, 1, bytes);
    }
    assert_eq!(
        b.e.counters().rx_packets - b.e.counters().dropped_total(),
        accepted,
        "no replay accepted: {:?}",
        b.e.counters().dropped
    );
    assert!(dropped(&b, "auth_replay") > 0);
    // A restarts (new epoch, new seqnos) and is let in again after a challenge.
    let routes_before = b.routes.len();
    a = restarted(1, &[key(1)], 99, 6000);
    let mut log2 = Vec::new();
    run_capture(&mut a, &mut b, 9000, &mut log2);
    assert_eq!(b.routes.len(), routes_before);
    assert!(b
        .e
        .status(Time(9000))
        .neighbours
        .iter()
        .any(|n| n.addr == ll(1) && n.bidirectional));
    // The old incarnation's datagrams are replays now, whatever their counters.
    let before = b.e.counters().rx_packets - b.e.counters().dropped_total();
    for bytes in &log {
        feed(&mut b, 9001, 1, bytes);
    }
    assert_eq!(
        b.e.counters().rx_packets - b.e.counters().dropped_total(),
        before
    );
}

#[test]
fn tampered_datagrams_are_dropped() {
    let mut a = keyed(1, &[key(1)]);
    let mut b = keyed(2, &[key(1)]);
    drain(&mut a);
    drain(&mut b);
    let mut log = Vec::new();
    run_capture(&mut a, &mut b, 3000, &mut log);
    // Take A's next datagram, flip one bit anywhere: always dropped.
    a.e.handle_input(Time(3750), Input::Timer);
    let next = drain(&mut a).pop().unwrap();
    for i in 0..next.len() {
        let mut t = next.clone();
        t[i] ^= 0x10;
        let before = b.e.counters().dropped_total();
        feed(&mut b, 3751, 1, &t);
        assert_eq!(
            b.e.counters().dropped_total(),
            before + 1,
            "bit in byte {i}"
        );
    }
    // Truncated trailers and a trailer without the flag, too.
    for cut in 1..=9 {
        let before = b.e.counters().dropped_total();
        feed(&mut b, 3752, 1, &next[..next.len() - cut]);
        assert_eq!(b.e.counters().dropped_total(), before + 1);
    }
    // The genuine one is still accepted afterwards.
    let before = b.e.counters().dropped_total();
    feed(&mut b, 3753, 1, &next);
    assert_eq!(b.e.counters().dropped_total(), before);
}

#[test]
fn key_rotation_accepts_old_and_new_keys() {
    // A already signs with the new key, B still with the old; both accept both.
    let mut a = keyed(1, &[key(2), key(1)]);
    let mut b = keyed(2, &[key(1), key(2)]);
    drain(&mut a);
    drain(&mut b);
    assert!(converge(&mut a, &mut b, 3000).is_some());
    // B drops the old key: A still signs with the new one and stays in.
    b.e.set_keys(vec![key(2)]);
    let mut log = Vec::new();
    run_capture(&mut a, &mut b, 8000, &mut log);
    assert!(!b.routes.is_empty());
    // A with only the old key is now refused by B.
    a.e.set_keys(vec![key(1)]);
    run_capture(&mut a, &mut b, 14000, &mut log);
    assert!(b.routes.is_empty(), "{:?}", b.routes);
}
