//! One engine fed an arbitrary sequence of inputs: datagrams from four
//! neighbours on two interfaces, time steps, interface flaps, with and
//! without a mesh key. Never panics; the caps hold.
//!
//! Input: byte 0 selects the key (odd: keyed) and small caps; then records
//! `op, len, bytes[len]`: op & 3 == 0: a datagram (source and interface
//! from the high bits; with bit 6 set and a key, the harness appends a
//! valid MAC, so the replay and challenge logic is reached); 1: time
//! passes (len × 37 ms); 2: interface down and up again; 3: a timer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::engine::{Engine, EngineConfig, IfaceKind, Input, Output, Params, Time};
use std::net::Ipv6Addr;

fn up(iface: u32) -> Input {
    Input::InterfaceUp {
        iface,
        name: format!("m{iface}"),
        kind: if iface == 1 {
            IfaceKind::Wireless
        } else {
            IfaceKind::Wired
        },
        max_payload: 1452,
        link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, iface as u16),
    }
}

/// Marks a datagram authenticated with `key` and appends its MAC: epoch
/// and counter high half from a SYNC trailer the input carries, else the
/// fixed epoch the harness answers challenges with, and 0.
fn seal(key: &roost::auth::Key, src: &Ipv6Addr, bytes: &mut Vec<u8>) {
    let (mut epoch, mut roc) = ([0x55; 8], 0);
    let n = bytes.len();
    if n >= 12 {
        bytes[4] |= roost::wire::FLAG_AUTH;
        bytes[roost::auth::KEY_ID_OFFSET] = key.id;
    }
    if n >= 22 && bytes[4] & roost::auth::FLAG_SYNC != 0 {
        epoch.copy_from_slice(&bytes[n - 10..n - 2]);
        roc = u16::from_be_bytes([bytes[n - 2], bytes[n - 1]]);
    }
    let mac = key.mac(src, &epoch, roc, bytes);
    bytes.extend_from_slice(&mac);
}

/// Plays the fuzzed neighbours' part in the challenge exchange: every
/// challenge the engine sends to one of them is answered at once (epoch
/// 0x55.., counter high half 0, hello seqno 0), so sealed datagrams from
/// the fuzzer can get past authentication.
fn answer_challenges(key: &roost::auth::Key, iface: u32, sent: &[u8], out: &mut Vec<Input>) {
    use roost::auth::{MSG_CHALLENGE_REPLY, MSG_CHALLENGE_REQ};
    use roost::wire::{Builder, HeaderRepr, IhuEntry, FLAG_AUTH};
    let Ok(dg) = roost::wire::parse(sent) else {
        return;
    };
    let me = IhuEntry::iid_of(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, iface as u16));
    for m in dg.messages.flatten() {
        if m.kind != MSG_CHALLENGE_REQ || m.body.len() != 16 {
            continue;
        }
        let src = Ipv6Addr::from(
            [
                [0xfe, 0x80, 0, 0, 0, 0, 0, 0],
                <[u8; 8]>::try_from(&m.body[..8]).unwrap(),
            ]
            .concat()
            .try_into()
            .unwrap_or([0; 16]),
        );
        let h = HeaderRepr {
            flags: 0,
            length: 0,
            seqno: 0,
            interval_ms: 750,
        };
        let mut b = Builder::new(h, 1400);
        let mut body = me.to_vec();
        body.extend_from_slice(&m.body[8..]);
        b.push(MSG_CHALLENGE_REPLY, 16, |buf| buf.copy_from_slice(&body));
        let mut bytes = b.finish();
        bytes[4] |= FLAG_AUTH | roost::auth::FLAG_SYNC;
        bytes[roost::auth::KEY_ID_OFFSET] = key.id;
        bytes.extend_from_slice(&[0x55; 8]);
        bytes.extend_from_slice(&[0, 0]);
        seal(key, &src, &mut bytes);
        out.push(Input::Packet { iface, src, bytes });
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let params = Params {
        max_originators: 64,
        max_neighbours: 3,
        ..Params::default()
    };
    let cfg = EngineConfig {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1),
        announce: vec!["10.77.0.1/32".parse().unwrap()],
        hostname: Some("fuzz".into()),
        gateway_offer: None,
        gateway_class: Some(Default::default()),
        zeroconf: None,
        params,
    };
    let mut e = Engine::new(cfg, u64::from(mode), Time(0));
    let key = roost::auth::Key::new(&[mode; 32]).unwrap();
    if mode & 1 == 1 {
        e.set_keys(vec![key.clone()]);
    }
    let mut now = Time(0);
    e.handle_input(now, up(1));
    e.handle_input(now, up(2));
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        let input = match op & 3 {
            0 => {
                let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10 + u16::from((op >> 2) & 3));
                let mut bytes = body.to_vec();
                if op & 0x40 != 0 {
                    seal(&key, &src, &mut bytes);
                }
                Input::Packet {
                    iface: 1 + u32::from(op >> 7),
                    src,
                    bytes,
                }
            }
            1 => {
                now = now.plus(u64::from(*len) * 37);
                Input::Timer
            }
            2 => {
                e.handle_input(now, Input::InterfaceDown { iface: 2 });
                up(2)
            }
            _ => Input::Timer,
        };
        e.handle_input(now, input);
        let mut replies = Vec::new();
        loop {
            match e.poll_output() {
                Output::Timeout(_) => break,
                Output::Transmit { iface, bytes } => {
                    assert!(bytes.len() <= 1452);
                    if mode & 1 == 1 {
                        answer_challenges(&key, iface, &bytes, &mut replies);
                    }
                }
                _ => {}
            }
        }
        for r in replies {
            e.handle_input(now, r);
            while !matches!(e.poll_output(), Output::Timeout(_)) {}
        }
    }
    let st = e.status(now);
    if std::env::var_os("ROOST_FUZZ_DEBUG").is_some() {
        eprintln!(
            "counters: {:?}; {} neighbours",
            st.counters,
            st.neighbours.len()
        );
    }
    assert!(st.originators.len() <= 64);
    assert!(st.neighbours.len() <= 6);
});
