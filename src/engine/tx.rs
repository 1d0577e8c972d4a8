//! Outgoing aggregation per interface: queued OGM entries and seqno requests
//! are packed, with the IHU list when due, into datagrams that never exceed
//! the interface's payload limit.

use std::net::Ipv6Addr;

use crate::wire::{self, Builder, HeaderRepr, IhuEntry, IhuRepr, OgmRepr, MSG_IHU, MSG_OGM};

/// Message type of a seqno request (see docs/PROTOCOL.md).
pub const MSG_SEQREQ: u8 = 3;
pub const SEQREQ_LEN: usize = 29;

/// An OGM waiting to be sent on one interface.
#[derive(Debug, Clone)]
pub struct QueuedOgm {
    pub originator: Ipv6Addr,
    pub seqno: u32,
    pub ttl: u8,
    pub tq: u8,
    pub flags: u8,
    pub tlvs: Vec<u8>,
    /// Send again with the next datagrams this many times (retractions).
    pub repeat: u8,
}

/// A seqno request: ask the originator for a seqno of at least `seqno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqReq {
    pub originator: Ipv6Addr,
    pub seqno: u32,
    pub hop_limit: u8,
    /// Interface id of the neighbour that should act on it; zero: any.
    pub target: [u8; 8],
}

impl SeqReq {
    pub fn parse(body: &[u8]) -> Result<SeqReq, wire::Error> {
        if body.len() < SEQREQ_LEN {
            return Err(wire::Error::Truncated);
        }
        let mut o = [0u8; 16];
        o.copy_from_slice(&body[..16]);
        let mut target = [0u8; 8];
        target.copy_from_slice(&body[21..29]);
        Ok(SeqReq {
            originator: Ipv6Addr::from(o),
            seqno: u32::from_be_bytes([body[16], body[17], body[18], body[19]]),
            hop_limit: body[20],
            target,
        })
    }

    pub fn emit(&self, out: &mut [u8]) {
        out[..16].copy_from_slice(&self.originator.octets());
        out[16..20].copy_from_slice(&self.seqno.to_be_bytes());
        out[20] = self.hop_limit;
        out[21..29].copy_from_slice(&self.target);
    }
}

/// The queue of one interface.
#[derive(Debug, Default)]
pub struct TxQueue {
    ogms: Vec<QueuedOgm>,
    reqs: Vec<SeqReq>,
    /// Ready-made messages (kind, body) sent right after the IHU.
    raw: Vec<(u8, Vec<u8>)>,
}

impl TxQueue {
    /// Queues an OGM, merging with one already queued for the same
    /// originator: the newer seqno wins; a flood copy stays a flood copy.
    pub fn push_ogm(&mut self, o: QueuedOgm) {
        use crate::wire::OGM_FLAG_UPDATE;
        // Two nodes claiming one address (zero-config duplicates) are two
        // originators here: never merge one's OGM into the other's.
        let id = super::zeroconf::node_id_of(&o.tlvs);
        let same = |q: &QueuedOgm| {
            q.originator == o.originator
                && match (id, super::zeroconf::node_id_of(&q.tlvs)) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        };
        if let Some(q) = self.ogms.iter_mut().find(|q| same(q)) {
            let d = crate::engine::seqno::diff(o.seqno, q.seqno);
            if d > 0 {
                *q = o;
            } else if d == 0 {
                let flood = (q.flags & OGM_FLAG_UPDATE == 0) || (o.flags & OGM_FLAG_UPDATE == 0);
                let keep_ttl = q.ttl.max(o.ttl);
                let tlvs = if o.tlvs.is_empty() {
                    std::mem::take(&mut q.tlvs)
                } else {
                    o.tlvs
                };
                *q = QueuedOgm {
                    tlvs,
                    ttl: keep_ttl,
                    ..o
                };
                if flood {
                    q.flags &= !OGM_FLAG_UPDATE;
                }
            }
            return;
        }
        self.ogms.push(o);
    }

    pub fn push_raw(&mut self, kind: u8, body: Vec<u8>) {
        self.raw.push((kind, body));
    }

    pub fn push_req(&mut self, r: SeqReq) {
        // One per originator; wildcard requests (originator `::`) one per
        // target.
        let dup = |q: &SeqReq| {
            q.originator == r.originator && (!r.originator.is_unspecified() || q.target == r.target)
        };
        if !self.reqs.iter().any(dup) {
            self.reqs.push(r);
        }
    }

    /// Packs everything into datagrams. `next_header` gives the header of
    /// each successive datagram (it advances the hello seqno). The IHU goes
    /// whole into the first datagram; OGMs precede seqno requests. Returns the datagrams and the OGMs sent.
    pub fn drain(
        &mut self,
        ihu: Option<&[IhuEntry]>,
        limit: usize,
        mut next_header: impl FnMut() -> HeaderRepr,
    ) -> (Vec<Vec<u8>>, Vec<QueuedOgm>) {
        let mut out = Vec::new();
        let mut b = Builder::new(next_header(), limit);
        if let Some(entries) = ihu {
            // 28 entries per message; the whole list stays in this datagram.
            for chunk in entries.chunks(255 / wire::IHU_ENTRY_LEN) {
                let len = IhuRepr::buffer_len(chunk.len());
                if !b.push(MSG_IHU, len, |buf| IhuRepr::emit(chunk, buf)) {
                    break;
                }
            }
        }
        for (kind, body) in self.raw.drain(..) {
            b.push(kind, body.len(), |buf| buf.copy_from_slice(&body));
        }
        let sent = std::mem::take(&mut self.ogms);
        for q in &sent {
            let repr = OgmRepr {
                originator: q.originator,
                seqno: q.seqno,
                ttl: q.ttl,
                tq: q.tq,
                flags: q.flags,
                tlv_bytes: &q.tlvs,
            };
            let len = repr.buffer_len();
            if !b.push(MSG_OGM, len, |buf| repr.emit(buf)) {
                if !b.is_empty() {
                    out.push(
                        std::mem::replace(&mut b, Builder::new(next_header(), limit)).finish(),
                    );
                }
                // An entry too large for any datagram is dropped by push.
                b.push(MSG_OGM, len, |buf| repr.emit(buf));
            }
        }
        // Requests go after the OGMs: a receiver should see a retraction
        // (and switch away from us) before it decides where to forward our
        // request.
        for r in self.reqs.drain(..) {
            if !b.push(MSG_SEQREQ, SEQREQ_LEN, |buf| r.emit(buf)) {
                out.push(std::mem::replace(&mut b, Builder::new(next_header(), limit)).finish());
                b.push(MSG_SEQREQ, SEQREQ_LEN, |buf| r.emit(buf));
            }
        }
        out.push(b.finish());
        for q in &sent {
            if q.repeat > 0 {
                self.ogms.push(QueuedOgm {
                    repeat: q.repeat - 1,
                    ..q.clone()
                });
            }
        }
        (out, sent)
    }
}
