//! Messages inside a datagram: `type u8, length u8, body[length]`.
//! Unknown types are skipped by their length.

use super::Error;

pub const MSG_HEADER_LEN: usize = 2;
/// "I heard you": per-neighbour receive quality.
pub const MSG_IHU: u8 = 1;
/// Originator message.
pub const MSG_OGM: u8 = 2;

/// One message: its type and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u8,
    pub body: &'a [u8],
}

/// Iterator over the messages of a datagram body. Yields `Err(Truncated)`
/// once (then stops) if a message claims more bytes than remain.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    pub fn new(body: &'a [u8]) -> Messages<'a> {
        Messages { rest: body }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        next_tl(&mut self.rest).map(|r| r.map(|(kind, body)| Message { kind, body }))
    }
}

/// Takes one `type u8, length u8, body` element off the front of `rest`.
/// On a truncated element returns `Err(Truncated)` and empties `rest`, so
/// iterators built on it stop after one error.
pub(crate) fn next_tl<'a>(rest: &mut &'a [u8]) -> Option<Result<(u8, &'a [u8]), Error>> {
    let bytes: &'a [u8] = rest;
    let (kind, len) = match bytes {
        [] => return None,
        [k, l, ..] => (*k, usize::from(*l)),
        [_] => {
            *rest = &[];
            return Some(Err(Error::Truncated));
        }
    };
    match bytes.get(MSG_HEADER_LEN..MSG_HEADER_LEN + len) {
        Some(body) => {
            *rest = &bytes[MSG_HEADER_LEN + len..];
            Some(Ok((kind, body)))
        }
        None => {
            *rest = &[];
            Some(Err(Error::Truncated))
        }
    }
}
