//! The packet parser on arbitrary bytes: never panics, and everything it
//! accepts can be walked without errors (what the engine relies on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::wire::{self, IhuRepr, OgmRepr, MSG_IHU, MSG_OGM};

fuzz_target!(|data: &[u8]| {
    if let Ok(dg) = wire::parse(data) {
        assert!(usize::from(dg.header.length) <= data.len());
        for m in dg.messages {
            let m = m.expect("parse validated every message");
            match m.kind {
                MSG_IHU => {
                    let ihu = IhuRepr::parse(m.body).expect("validated IHU");
                    for _ in ihu.entries() {}
                }
                MSG_OGM => {
                    let ogm = OgmRepr::parse(m.body).expect("validated OGM");
                    for t in ogm.tlvs() {
                        t.expect("validated TLV");
                    }
                }
                _ => {}
            }
        }
    }
    let _ = roost::engine::SeqReq::parse(data);
    let _ = roost::auth::Key::from_text(&String::from_utf8_lossy(data));
});
