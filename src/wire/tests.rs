//! Byte-level tests: hex vectors from docs/PROTOCOL.md, emission into
//! 0xa5-filled buffers, round trips, every truncation, and random input.

use super::*;
use crate::prefix::Prefix;
use std::net::Ipv6Addr;

/// Vector 1: a bare hello (docs/PROTOCOL.md).
const HELLO: [u8; 12] = [
    0x52, 0x6f, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x0c, // magic, version, type, flags, rsvd, length
    0x12, 0x34, 0x00, 0x4b, // hello seqno 0x1234, interval 75 × 10 ms
];

/// Vector 2: IHU + OGM with a PREFIX4 and a HOSTNAME TLV, dump requested.
const FULL: [u8; 58] = [
    0x52, 0x6f, 0x01, 0x01, 0x02, 0x00, 0x00, 0x3a, // header, flags = DUMP_REQ, length 58
    0x00, 0x01, 0x00, 0x4b, // seqno 1, interval 750 ms
    0x01, 0x09, // IHU, 9 bytes
    0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x02, 0xe5, // iid, rxq 229
    0x02, 0x21, // OGM, 33 bytes
    0xfd, 0x72, 0x6f, 0x6f, 0x73, 0x74, 0x00, 0x00, // originator fd72:6f6f:7374::5
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, //
    0x00, 0x00, 0x00, 0x2a, // seqno 42
    0x32, 0xff, 0x02, // ttl 50, tq 255, flags OWN
    0x01, 0x05, 0x20, 0x0a, 0x4d, 0x00, 0x05, // PREFIX4 10.77.0.5/32
    0x04, 0x01, 0x61, // HOSTNAME "a"
];

fn orig5() -> Ipv6Addr {
    "fd72:6f6f:7374::5".parse().unwrap()
}

#[test]
fn parses_bare_hello() {
    let d = parse(&HELLO).unwrap();
    assert_eq!(
        d.header,
        HeaderRepr {
            flags: 0,
            length: 12,
            seqno: 0x1234,
            interval_ms: 750
        }
    );
    assert_eq!(d.messages.count(), 0);
    assert!(d.trailer.is_empty());
}

#[test]
fn parses_full_vector() {
    let d = parse(&FULL).unwrap();
    assert_eq!(d.header.flags, FLAG_DUMP_REQ);
    let msgs: Vec<Message> = d.messages.map(|m| m.unwrap()).collect();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].kind, MSG_IHU);
    let ihu = IhuRepr::parse(msgs[0].body).unwrap();
    let e: Vec<IhuEntry> = ihu.entries().collect();
    assert_eq!(
        e,
        vec![IhuEntry {
            iid: [0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x02],
            rxq: 229
        }]
    );
    let ogm = OgmRepr::parse(msgs[1].body).unwrap();
    assert_eq!(ogm.originator, orig5());
    assert_eq!((ogm.seqno, ogm.ttl, ogm.tq, ogm.flags), (42, 50, 255, 2));
    let tlvs: Vec<Tlv> = ogm.tlvs().map(|t| t.unwrap()).collect();
    assert_eq!(
        tlvs,
        vec![
            Tlv::Prefix("10.77.0.5/32".parse().unwrap()),
            Tlv::Hostname("a")
        ]
    );
}

fn build_full() -> Vec<u8> {
    let hdr = HeaderRepr {
        flags: FLAG_DUMP_REQ,
        length: 0,
        seqno: 1,
        interval_ms: 750,
    };
    let mut b = Builder::new(hdr, 1400);
    let entries = [IhuEntry {
        iid: [0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x02],
        rxq: 229,
    }];
    assert!(b.push(MSG_IHU, IhuRepr::buffer_len(1), |buf| IhuRepr::emit(
        &entries, buf
    )));
    let mut tlvs = Vec::new();
    Tlv::Prefix("10.77.0.5/32".parse().unwrap()).emit(&mut tlvs);
    Tlv::Hostname("a").emit(&mut tlvs);
    let ogm = OgmRepr {
        originator: orig5(),
        seqno: 42,
        ttl: 50,
        tq: 255,
        flags: 2,
        tlv_bytes: &tlvs,
    };
    assert!(b.push(MSG_OGM, ogm.buffer_len(), |buf| ogm.emit(buf)));
    b.finish()
}

#[test]
fn builder_emits_vector_exactly() {
    assert_eq!(build_full(), FULL.to_vec());
}

#[test]
fn header_emits_into_poisoned_buffer() {
    let mut buf = [0xa5u8; HEADER_LEN];
    let repr = HeaderRepr {
        flags: 0,
        length: 12,
        seqno: 0x1234,
        interval_ms: 750,
    };
    repr.emit(&mut Header::new_unchecked(&mut buf[..]));
    assert_eq!(buf, HELLO);
}

#[test]
fn ogm_and_ihu_emit_into_poisoned_buffers() {
    let tlv = [0x01, 0x05, 0x20, 0x0a, 0x4d, 0x00, 0x05, 0x04, 0x01, 0x61];
    let ogm = OgmRepr {
        originator: orig5(),
        seqno: 42,
        ttl: 50,
        tq: 255,
        flags: 2,
        tlv_bytes: &tlv,
    };
    let mut buf = vec![0xa5u8; ogm.buffer_len()];
    ogm.emit(&mut buf);
    assert_eq!(&buf[..], &FULL[25..]);
    let mut ibuf = [0xa5u8; IHU_ENTRY_LEN];
    IhuRepr::emit(
        &[IhuEntry {
            iid: [0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x00, 0x02],
            rxq: 229,
        }],
        &mut ibuf,
    );
    assert_eq!(&ibuf[..], &FULL[14..23]);
}

#[test]
fn round_trips_every_tlv_kind() {
    let tlvs = [
        Tlv::Prefix("10.77.3.0/24".parse().unwrap()),
        Tlv::Prefix("0.0.0.0/0".parse().unwrap()),
        Tlv::Prefix("fd77:1:2::/48".parse().unwrap()),
        Tlv::Prefix("fd77::5/128".parse().unwrap()),
        Tlv::Gateway { down: 500, up: 100 },
        Tlv::Hostname("node-ä"),
        Tlv::GatewayChoice(Some("fd77::9".parse().unwrap())),
        Tlv::GatewayChoice(None),
        Tlv::NodeId([1, 2, 3, 4, 5, 6, 7, 8]),
        Tlv::Neighbours(
            NeighbourList::new(&[0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 240])
                .unwrap(),
        ),
        Tlv::Unknown {
            kind: 200,
            body: &[1, 2, 3],
        },
    ];
    let mut bytes = Vec::new();
    for t in &tlvs {
        let before = bytes.len();
        t.emit(&mut bytes);
        assert_eq!(bytes.len() - before, t.buffer_len());
    }
    let back: Vec<Tlv> = Tlvs::new(&bytes).map(|t| t.unwrap()).collect();
    assert_eq!(back, tlvs.to_vec());
}

#[test]
fn long_hostname_is_cut_on_a_char_boundary() {
    let name = "é".repeat(40); // 80 bytes
    let mut bytes = Vec::new();
    Tlv::Hostname(&name).emit(&mut bytes);
    assert_eq!(bytes[1], 62);
    let back: Vec<Tlv> = Tlvs::new(&bytes).map(|t| t.unwrap()).collect();
    assert_eq!(back, vec![Tlv::Hostname(&name[..62])]);
}

#[test]
fn every_truncation_is_rejected() {
    for n in 0..FULL.len() {
        assert!(parse(&FULL[..n]).is_err(), "accepted {n} bytes");
    }
    for n in 0..HELLO.len() {
        assert_eq!(parse(&HELLO[..n]).unwrap_err(), Error::Truncated);
    }
}

#[test]
fn typed_errors() {
    let mut b = HELLO;
    b[0] = 0;
    assert_eq!(parse(&b).unwrap_err(), Error::BadMagic);
    let mut b = HELLO;
    b[2] = 2;
    assert_eq!(parse(&b).unwrap_err(), Error::BadVersion);
    let mut b = HELLO;
    b[3] = 9;
    assert_eq!(parse(&b).unwrap_err(), Error::BadType);
    let mut b = HELLO;
    b[7] = 4;
    assert_eq!(parse(&b).unwrap_err(), Error::BadLength);
    let mut long = HELLO.to_vec();
    long.push(0);
    assert_eq!(parse(&long).unwrap_err(), Error::TrailingBytes);
    long[4] = FLAG_AUTH;
    assert_eq!(parse(&long).unwrap().trailer, &[0]);
    // IHU body not a multiple of 9
    let mut b = FULL;
    b[13] = 8;
    assert!(parse(&b).is_err());
    // prefix length 33 in a PREFIX4
    let mut b = FULL;
    b[50] = 33;
    assert_eq!(parse(&b).unwrap_err(), Error::BadPrefix);
    // a NEIGHBOURS body that is not whole entries
    let mut bad = Vec::new();
    bad.extend_from_slice(&[TLV_NEIGHBOURS, 16]);
    bad.extend_from_slice(&[0u8; 16]);
    assert_eq!(Tlvs::new(&bad).next(), Some(Err(Error::BadTlvLength)));
    // hostname not UTF-8
    let mut b = FULL;
    b[57] = 0xff;
    assert_eq!(parse(&b).unwrap_err(), Error::BadHostname);
}

#[test]
fn unknown_messages_and_tlvs_are_skipped() {
    let hdr = HeaderRepr {
        flags: 0,
        length: 0,
        seqno: 7,
        interval_ms: 1000,
    };
    let mut b = Builder::new(hdr, 1400);
    assert!(b.push(0xee, 3, |buf| buf.copy_from_slice(&[9, 9, 9])));
    let tlvs = [0xcc, 0x02, 0x00, 0x00];
    let ogm = OgmRepr {
        originator: orig5(),
        seqno: 1,
        ttl: 5,
        tq: 100,
        flags: 0,
        tlv_bytes: &tlvs,
    };
    assert!(b.push(MSG_OGM, ogm.buffer_len(), |buf| ogm.emit(buf)));
    let bytes = b.finish();
    let d = parse(&bytes).unwrap();
    let kinds: Vec<u8> = d.messages.map(|m| m.unwrap().kind).collect();
    assert_eq!(kinds, vec![0xee, MSG_OGM]);
}

#[test]
fn builder_respects_its_limit() {
    let hdr = HeaderRepr {
        flags: 0,
        length: 0,
        seqno: 0,
        interval_ms: 750,
    };
    let mut b = Builder::new(hdr, 100);
    let mut pushed = 0;
    while b.push(MSG_OGM, 23, |buf| buf.fill(0)) {
        pushed += 1;
    }
    assert_eq!(pushed, 3); // 12 + 3 × 25 = 87; a fourth would make 112
    assert!(b.finish().len() <= 100);
    assert!(!Builder::new(hdr, 1400).push(MSG_OGM, 256, |_| {}));
}

#[test]
fn prefix_tlv_clears_host_bits() {
    let bytes = [0x01, 0x04, 0x18, 0x0a, 0x4d, 0x03]; // 10.77.3.0/24
    let t: Vec<Tlv> = Tlvs::new(&bytes).map(|t| t.unwrap()).collect();
    assert_eq!(
        t,
        vec![Tlv::Prefix("10.77.3.0/24".parse::<Prefix>().unwrap())]
    );
    let bytes = [0x01, 0x02, 0x04, 0xff]; // 240.0.0.0/4 (bits beyond /4 cleared)
    let t: Vec<Tlv> = Tlvs::new(&bytes).map(|t| t.unwrap()).collect();
    assert_eq!(
        t,
        vec![Tlv::Prefix("240.0.0.0/4".parse::<Prefix>().unwrap())]
    );
}

/// Property test without extra crates: random and mutated inputs never panic,
/// and whatever parses re-walks cleanly.
#[test]
fn arbitrary_bytes_never_panic() {
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds = [HELLO.to_vec(), FULL.to_vec()];
    for i in 0..200_000 {
        let mut buf = if i % 2 == 0 {
            let len = (next() % 300) as usize;
            (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
        } else {
            let mut b = seeds[i % seeds.len()].clone();
            for _ in 0..(next() % 4 + 1) {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            b
        };
        if i % 3 == 0 && buf.len() >= 2 {
            buf[0] = b'R';
            buf[1] = b'o';
        }
        if let Ok(d) = parse(&buf) {
            for m in d.messages {
                let m = m.unwrap();
                if m.kind == MSG_OGM {
                    let o = OgmRepr::parse(m.body).unwrap();
                    for t in o.tlvs() {
                        t.unwrap();
                    }
                }
            }
        }
    }
}

#[test]
fn gateway_choice_bytes_and_bad_lengths() {
    let mut bytes = vec![0xa5];
    Tlv::GatewayChoice(Some("fd77::9".parse().unwrap())).emit(&mut bytes);
    let mut want = vec![0xa5, 6, 16, 0xfd, 0x77];
    want.extend_from_slice(&[0; 12]);
    want.extend_from_slice(&[0, 9]);
    assert_eq!(bytes, want);
    // Any body but 16 bytes is refused.
    for n in [0usize, 15, 17] {
        let mut b = vec![6, n as u8];
        b.extend(std::iter::repeat_n(1u8, n));
        assert_eq!(
            Tlvs::new(&b).next(),
            Some(Err(Error::BadTlvLength)),
            "length {n}"
        );
    }
}

#[test]
fn node_id_bytes_and_bad_lengths() {
    // Emitted into a poisoned buffer: every byte is written.
    let mut bytes = vec![0xa5];
    Tlv::NodeId([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]).emit(&mut bytes);
    assert_eq!(
        bytes,
        [0xa5, 7, 8, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]
    );
    assert_eq!(
        Tlvs::new(&bytes[1..]).next(),
        Some(Ok(Tlv::NodeId([
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0
        ])))
    );
    // Any body but 8 bytes is refused.
    for n in [0usize, 7, 9, 16] {
        let mut b = vec![7, n as u8];
        b.extend(std::iter::repeat_n(0xa5u8, n));
        assert_eq!(
            Tlvs::new(&b).next(),
            Some(Err(Error::BadTlvLength)),
            "length {n}"
        );
    }
}
