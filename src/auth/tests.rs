//! Test vectors of docs/PROTOCOL.md §9, computed independently with
//! Python's hashlib.blake2s (the script is in the document).

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

const SRC: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const EPOCH: [u8; 8] = [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7];

fn vkey() -> Key {
    Key::new(&(0u8..32).collect::<Vec<_>>()).unwrap()
}

#[test]
fn key_id_and_file_format() {
    let k = vkey();
    assert_eq!(k.id, 0x68);
    let text = "# mesh key\n000102030405060708090a0b0c0d0e0f\n101112131415161718191A1B1C1D1E1F\n";
    assert_eq!(Key::from_text(text).unwrap(), k);
    assert!(Key::from_text("0011").is_err(), "too short");
    assert!(Key::from_text(&"00".repeat(33)).is_err(), "too long");
    assert!(Key::from_text(&"0g".repeat(16)).is_err(), "not hex");
    assert!(Key::from_text(&"0".repeat(33)).is_err(), "odd");
    assert!(!format!("{k:?}").contains("0102"), "Debug hides the key");
}

#[test]
fn vector_3_authenticated_hello() {
    let v = unhex("52 6f 01 01 01 68 00 0c 12 34 00 4b 46 3f 01 51 6c bc ee a5");
    let (signed, mac) = v.split_at(v.len() - MAC_LEN);
    assert_eq!(vkey().mac(&SRC, &EPOCH, 0, signed), mac);
    let dg = crate::wire::parse(&v).unwrap();
    assert_eq!(dg.trailer.len(), MAC_LEN);
}

#[test]
fn vector_4_sync_datagram_with_a_challenge_request() {
    let v = unhex(
        "52 6f 01 01 05 68 00 1e 12 35 00 4b 04 10 02 00 5e ff fe 00 00 02 00 01 02 03 04 05 06 07 \
         a0 a1 a2 a3 a4 a5 a6 a7 00 03 08 a1 5b 65 94 af 77 fb",
    );
    let (signed, mac) = v.split_at(v.len() - MAC_LEN);
    assert_eq!(vkey().mac(&SRC, &EPOCH, 3, signed), mac);
    let dg = crate::wire::parse(&v).unwrap();
    assert_eq!(dg.trailer.len(), SYNC_LEN + MAC_LEN);
    let m = dg.messages.flatten().next().unwrap();
    assert_eq!((m.kind, m.body.len()), (MSG_CHALLENGE_REQ, CHALLENGE_LEN));
}

#[test]
fn mac_eq_is_exact() {
    assert!(mac_eq(&[1, 2], &[1, 2]));
    assert!(!mac_eq(&[1, 2], &[1, 3]));
    assert!(!mac_eq(&[1, 2], &[1]));
}
