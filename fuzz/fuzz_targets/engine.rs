//! One engine fed an arbitrary sequence of inputs: datagrams from four
//! neighbours on two interfaces, time steps, interface flaps, with and
//! without a mesh key. Never panics; the caps hold.
//!
//! Input: byte 0 selects the key (odd: keyed) and small caps; then records
//! `op, len, bytes[len]`: op & 3 == 0: a datagram (source and interface
//! from the high bits); 1: time passes (len × 37 ms); 2: interface down
//! and up again; 3: a timer.
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
        params,
    };
    let mut e = Engine::new(cfg, u64::from(mode), Time(0));
    if mode & 1 == 1 {
        e.set_keys(vec![roost::auth::Key::new(&[mode; 32]).unwrap()]);
    }
    let mut now = Time(0);
    e.handle_input(now, up(1));
    e.handle_input(now, up(2));
    while let [op, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(n);
        rest = next;
        let input = match op & 3 {
            0 => Input::Packet {
                iface: 1 + u32::from(op >> 7),
                src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10 + u16::from((op >> 2) & 3)),
                bytes: body.to_vec(),
            },
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
        loop {
            match e.poll_output() {
                Output::Timeout(_) => break,
                Output::Transmit { bytes, .. } => {
                    assert!(bytes.len() <= 1452);
                }
                _ => {}
            }
        }
    }
    let st = e.status(now);
    assert!(st.originators.len() <= 64);
    assert!(st.neighbours.len() <= 6);
});
