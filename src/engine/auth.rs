//! Datagram authentication and replay protection (docs/PROTOCOL.md §9).
//!
//! Every authenticated datagram ends in a MAC over the datagram, the
//! sender's link-local address, and two values the receiver keeps instead
//! of reading them from the wire: the sender's *epoch* (8 random bytes per
//! interface and start) and the high half of its 32-bit packet counter (the
//! low half is the hello seqno). A receiver accepts a datagram only with a
//! counter above the last one accepted from that sender. A sender it has no
//! state for (new, or restarted with a new epoch) must first answer a
//! challenge: the receiver sends a fresh nonce, the sender echoes it in a
//! datagram that carries its epoch and counter in the clear (`FLAG_SYNC`).
//! Nothing is accepted in between, so there is no replay window, no clock
//! and no stored state (RFC 8967's index + PC + challenge, in fewer bytes).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use super::api::{IfaceId, Time};
use super::fxhash::FxHashMap;
use super::rng::Rng;
use crate::auth::{
    mac_eq, Key, CHALLENGE_LEN, FLAG_SYNC, KEY_ID_OFFSET, MAC_LEN, MSG_CHALLENGE_REPLY,
    MSG_CHALLENGE_REQ, SYNC_LEN,
};
use crate::wire::{self, Datagram, IhuEntry, FLAG_AUTH};

/// Senders whose counters are kept at most (only key holders get here).
const MAX_PEERS: usize = 1024;
/// Outstanding challenges at most, and how often one sender is challenged.
const MAX_CHALLENGES: usize = 64;
const CHALLENGE_SPACING_MS: u64 = 1000;
/// A nonce is good for this long.
const CHALLENGE_LIFETIME_MS: u64 = 5000;
/// Challenge messages queued per interface at most.
const MAX_OUTBOX: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Peer {
    epoch: [u8; 8],
    /// Last accepted counter: high half implicit, low half the hello seqno.
    pc: u32,
    last_ok: Time,
}

#[derive(Debug, Clone, Copy)]
struct Challenge {
    nonce: [u8; 8],
    sent: Time,
}

/// Our own counter per interface.
#[derive(Debug, Clone, Copy)]
struct TxPc {
    epoch: [u8; 8],
    last_seq: u16,
    roc: u16,
}

pub struct Auth {
    /// The first key signs; every key verifies (rotation).
    keys: Vec<Key>,
    rng: Rng,
    tx: BTreeMap<IfaceId, TxPc>,
    peers: FxHashMap<(IfaceId, Ipv6Addr), Peer>,
    challenges: FxHashMap<(IfaceId, Ipv6Addr), Challenge>,
    outbox: BTreeMap<IfaceId, Vec<(u8, [u8; CHALLENGE_LEN])>>,
    /// Interfaces where we answered a challenge since the engine last asked.
    answered: BTreeSet<IfaceId>,
}

fn split_iid_nonce(body: &[u8]) -> Option<([u8; 8], [u8; 8])> {
    let b: &[u8; CHALLENGE_LEN] = body.get(..CHALLENGE_LEN)?.try_into().ok()?;
    let mut t = [0u8; 8];
    let mut n = [0u8; 8];
    t.copy_from_slice(&b[..8]);
    n.copy_from_slice(&b[8..]);
    Some((t, n))
}

impl Auth {
    pub fn new(keys: Vec<Key>, seed: u64) -> Auth {
        Auth {
            keys,
            rng: Rng::new(seed),
            tx: BTreeMap::new(),
            peers: FxHashMap::default(),
            challenges: FxHashMap::default(),
            outbox: BTreeMap::new(),
            answered: BTreeSet::new(),
        }
    }

    pub fn set_keys(&mut self, keys: Vec<Key>) {
        self.keys = keys;
    }

    pub fn key_ids(&self) -> Vec<u8> {
        self.keys.iter().map(|k| k.id).collect()
    }

    fn random8(&mut self) -> [u8; 8] {
        self.rng.next_u64().to_be_bytes()
    }

    fn verify(&self, kid: u8, src: &Ipv6Addr, epoch: &[u8; 8], roc: u16, dg: &[u8]) -> bool {
        let Some(split) = dg.len().checked_sub(MAC_LEN) else {
            return false;
        };
        let (signed, mac) = dg.split_at(split);
        self.keys
            .iter()
            .filter(|k| k.id == kid)
            .any(|k| mac_eq(&k.mac(src, epoch, roc, signed), mac))
    }

    /// Checks a parsed datagram. `Ok` means: process it; `Err` names the
    /// drop reason. Challenge messages in it are handled here.
    pub fn open(
        &mut self,
        now: Time,
        iface: IfaceId,
        src: Ipv6Addr,
        me: [u8; 8],
        bytes: &[u8],
        dg: &Datagram<'_>,
    ) -> Result<(), &'static str> {
        let flags = dg.header.flags;
        if flags & FLAG_AUTH == 0 {
            return Err("auth_missing");
        }
        let kid = bytes.get(KEY_ID_OFFSET).copied().unwrap_or(0);
        if !self.keys.iter().any(|k| k.id == kid) {
            return Err("auth_unknown_key");
        }
        let key = (iface, src);
        let seq = dg.header.seqno;
        if flags & FLAG_SYNC != 0 {
            if dg.trailer.len() != SYNC_LEN + MAC_LEN {
                return Err("auth_bad_trailer");
            }
            let mut epoch = [0u8; 8];
            epoch.copy_from_slice(&dg.trailer[..8]);
            let roc = u16::from_be_bytes([dg.trailer[8], dg.trailer[9]]);
            if !self.verify(kid, &src, &epoch, roc, bytes) {
                return Err("auth_bad_mac");
            }
            let pc = u32::from(roc) << 16 | u32::from(seq);
            // Authentic, but perhaps an old copy: answer its challenges
            // (harmless if stale: a reply only echoes a nonce), and see
            // whether it answers ours.
            let mut proven = false;
            for m in dg.messages.flatten() {
                let Some((target, nonce)) = split_iid_nonce(m.body) else {
                    continue;
                };
                if target != me {
                    continue;
                }
                match m.kind {
                    MSG_CHALLENGE_REQ => {
                        self.queue(iface, MSG_CHALLENGE_REPLY, src, nonce);
                        self.answered.insert(iface);
                    }
                    MSG_CHALLENGE_REPLY => {
                        proven |= self.challenges.get(&key).is_some_and(|c| {
                            mac_eq(&c.nonce, &nonce) && now.since(c.sent) <= CHALLENGE_LIFETIME_MS
                        });
                    }
                    _ => {}
                }
            }
            if proven {
                self.challenges.remove(&key);
                self.install(key, epoch, pc, now);
                return Ok(());
            }
            return match self.peers.get_mut(&key) {
                Some(p) if p.epoch == epoch && pc > p.pc => {
                    p.pc = pc;
                    p.last_ok = now;
                    Ok(())
                }
                Some(p) if p.epoch == epoch => Err("auth_replay"),
                _ => {
                    self.challenge(now, iface, src);
                    Err("auth_unverified")
                }
            };
        }
        if dg.trailer.len() != MAC_LEN {
            return Err("auth_bad_trailer");
        }
        let Some(p) = self.peers.get(&key).copied() else {
            self.challenge(now, iface, src);
            return Err("auth_unverified");
        };
        let low = p.pc as u16;
        let roc = (p.pc >> 16) as u16;
        let cand_roc = if seq > low {
            Some(roc)
        } else {
            roc.checked_add(1)
        };
        if let Some(r) = cand_roc {
            if self.verify(kid, &src, &p.epoch, r, bytes) {
                if let Some(p) = self.peers.get_mut(&key) {
                    p.pc = u32::from(r) << 16 | u32::from(seq);
                    p.last_ok = now;
                }
                return Ok(());
            }
        }
        if seq <= low && self.verify(kid, &src, &p.epoch, roc, bytes) {
            return Err("auth_replay");
        }
        // Forged, or the sender restarted (new epoch): ask it to prove itself.
        self.challenge(now, iface, src);
        Err("auth_bad_mac")
    }

    fn install(&mut self, key: (IfaceId, Ipv6Addr), epoch: [u8; 8], pc: u32, now: Time) {
        if !self.peers.contains_key(&key) && self.peers.len() >= MAX_PEERS {
            // Forget the sender heard from least recently.
            if let Some(old) = self
                .peers
                .iter()
                .min_by_key(|(_, p)| p.last_ok)
                .map(|(k, _)| *k)
            {
                self.peers.remove(&old);
            }
        }
        self.peers.insert(
            key,
            Peer {
                epoch,
                pc,
                last_ok: now,
            },
        );
    }

    fn challenge(&mut self, now: Time, iface: IfaceId, src: Ipv6Addr) {
        let key = (iface, src);
        if let Some(c) = self.challenges.get(&key) {
            if now.since(c.sent) < CHALLENGE_SPACING_MS {
                return;
            }
        }
        if self.challenges.len() >= MAX_CHALLENGES && !self.challenges.contains_key(&key) {
            self.challenges
                .retain(|_, c| now.since(c.sent) <= CHALLENGE_LIFETIME_MS);
            if self.challenges.len() >= MAX_CHALLENGES {
                return;
            }
        }
        let nonce = self.random8();
        self.challenges.insert(key, Challenge { nonce, sent: now });
        self.queue(iface, MSG_CHALLENGE_REQ, src, nonce);
    }

    fn queue(&mut self, iface: IfaceId, kind: u8, to: Ipv6Addr, nonce: [u8; 8]) {
        let target = IhuEntry::iid_of(&to);
        let q = self.outbox.entry(iface).or_default();
        // One message per (kind, target): the newest nonce wins.
        q.retain(|(k, b)| !(*k == kind && b[..8] == target));
        if q.len() >= MAX_OUTBOX {
            return;
        }
        let mut body = [0u8; CHALLENGE_LEN];
        body[..8].copy_from_slice(&target);
        body[8..].copy_from_slice(&nonce);
        q.push((kind, body));
    }

    /// Whether we answered a challenge on `iface` since the last call: the
    /// challenger dropped everything we sent before, our last dump included.
    pub fn take_answered(&mut self, iface: IfaceId) -> bool {
        self.answered.remove(&iface)
    }

    pub fn has_outbox(&self, iface: IfaceId) -> bool {
        self.outbox.get(&iface).is_some_and(|q| !q.is_empty())
    }

    /// Challenge messages to put into the next datagram on `iface`.
    pub fn take_outbox(&mut self, iface: IfaceId) -> Vec<(u8, Vec<u8>)> {
        self.outbox
            .remove(&iface)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, b)| (k, b.to_vec()))
            .collect()
    }

    /// Appends the trailer to a finished datagram sent on `iface` from `src`.
    pub fn seal(&mut self, iface: IfaceId, src: Ipv6Addr, dg: &mut Vec<u8>) {
        let Some(key) = self.keys.first().cloned() else {
            return;
        };
        if dg.len() < wire::HEADER_LEN {
            return;
        }
        let seq = u16::from_be_bytes([dg[8], dg[9]]);
        let fresh_epoch = self.random8();
        let tx = self.tx.entry(iface).or_insert(TxPc {
            epoch: fresh_epoch,
            last_seq: seq.wrapping_sub(1),
            roc: 0,
        });
        if seq <= tx.last_seq {
            match tx.roc.checked_add(1) {
                Some(r) => tx.roc = r,
                None => {
                    // 2^32 datagrams: start a new epoch (receivers re-sync).
                    tx.epoch = fresh_epoch;
                    tx.roc = 0;
                }
            }
        }
        tx.last_seq = seq;
        let (epoch, roc) = (tx.epoch, tx.roc);
        let sync = wire::Messages::new(dg.get(wire::HEADER_LEN..).unwrap_or(&[]))
            .flatten()
            .any(|m| m.kind == MSG_CHALLENGE_REQ || m.kind == MSG_CHALLENGE_REPLY);
        dg[4] |= FLAG_AUTH | if sync { FLAG_SYNC } else { 0 };
        dg[KEY_ID_OFFSET] = key.id;
        if sync {
            dg.extend_from_slice(&epoch);
            dg.extend_from_slice(&roc.to_be_bytes());
        }
        let mac = key.mac(&src, &epoch, roc, dg);
        dg.extend_from_slice(&mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Builder, HeaderRepr};

    const A: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xa);
    const B: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xb);

    fn datagram(seq: u16, extra: Vec<(u8, Vec<u8>)>) -> Vec<u8> {
        let h = HeaderRepr {
            flags: 0,
            length: 0,
            seqno: seq,
            interval_ms: 750,
        };
        let mut b = Builder::new(h, 1400);
        for (k, body) in extra {
            b.push(k, body.len(), |buf| buf.copy_from_slice(&body));
        }
        b.finish()
    }

    fn deliver(to: &mut Auth, from: Ipv6Addr, me: Ipv6Addr, d: &[u8]) -> Result<(), &'static str> {
        let dg = wire::parse(d).unwrap();
        to.open(Time(0), 1, from, IhuEntry::iid_of(&me), d, &dg)
    }

    /// A sends datagram `seq` (with whatever it has queued) to B.
    fn send(a: &mut Auth, b: &mut Auth, seq: u16) -> Result<(), &'static str> {
        let mut d = datagram(seq, a.take_outbox(1));
        a.seal(1, A, &mut d);
        deliver(b, A, B, &d)
    }

    fn pair() -> (Auth, Auth, u16) {
        let k = Key::new(&[9; 32]).unwrap();
        let mut a = Auth::new(vec![k.clone()], 1);
        let mut b = Auth::new(vec![k], 2);
        // B does not know A: it challenges; A answers; B accepts.
        assert_eq!(send(&mut a, &mut b, 100), Err("auth_unverified"));
        let mut d = datagram(7, b.take_outbox(1));
        b.seal(1, B, &mut d);
        assert_eq!(deliver(&mut a, B, A, &d), Err("auth_unverified"));
        assert!(a.has_outbox(1) && a.take_answered(1));
        assert_eq!(send(&mut a, &mut b, 101), Ok(()));
        (a, b, 101)
    }

    #[test]
    fn counters_survive_wraps_and_gaps() {
        let (mut a, mut b, mut seq) = pair();
        // 200 000 datagrams: three wraps of the 16-bit seqno, with gaps of
        // up to 30 000 lost datagrams, one of them across a wrap.
        let mut sent = 0u32;
        while sent < 200_000 {
            let step: u16 = if sent % 50_000 == 49_999 { 30_000 } else { 1 };
            for _ in 1..step {
                seq = seq.wrapping_add(1);
                let mut d = datagram(seq, vec![]);
                a.seal(1, A, &mut d); // sent but lost
            }
            seq = seq.wrapping_add(1);
            assert_eq!(send(&mut a, &mut b, seq), Ok(()), "datagram {sent}");
            sent += u32::from(step);
        }
        // Any earlier datagram is refused now.
        let mut old = datagram(seq.wrapping_sub(5), vec![]);
        let mut a2 = Auth::new(vec![Key::new(&[9; 32]).unwrap()], 1);
        a2.seal(1, A, &mut old);
        assert!(deliver(&mut b, A, B, &old).is_err());
    }

    #[test]
    fn a_lower_hello_seqno_after_an_interface_flap_is_a_wrap_not_a_replay() {
        let (mut a, mut b, seq) = pair();
        // The interface came back with a fresh random hello seqno, lower
        // than before: the sender counts it as a wrap.
        let low = seq - 50;
        assert_eq!(send(&mut a, &mut b, low), Ok(()));
        let mut d = datagram(low + 1, vec![]);
        a.seal(1, A, &mut d);
        assert_eq!(deliver(&mut b, A, B, &d), Ok(()));
        assert_eq!(deliver(&mut b, A, B, &d), Err("auth_replay"));
    }

    #[test]
    fn state_is_bounded() {
        let k = Key::new(&[9; 32]).unwrap();
        let mut b = Auth::new(vec![k.clone()], 2);
        for i in 0..10_000u32 {
            let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, (i >> 16) as u16, i as u16);
            let mut a = Auth::new(vec![k.clone()], u64::from(i));
            let mut d = datagram(1, vec![]);
            a.seal(1, src, &mut d);
            let _ = deliver(&mut b, src, B, &d);
        }
        assert!(b.challenges.len() <= MAX_CHALLENGES);
        assert!(b.outbox.values().all(|q| q.len() <= MAX_OUTBOX));
        assert!(b.peers.len() <= MAX_PEERS);
    }
}
