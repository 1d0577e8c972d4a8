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
        if self.rest.is_empty() {
            return None;
        }
        let (kind, len) = match self.rest {
            [k, l, ..] => (*k, usize::from(*l)),
            _ => {
                self.rest = &[];
                return Some(Err(Error::Truncated));
            }
        };
        match self.rest.get(MSG_HEADER_LEN..MSG_HEADER_LEN + len) {
            Some(body) => {
                self.rest = &self.rest[MSG_HEADER_LEN + len..];
                Some(Ok(Message { kind, body }))
            }
            None => {
                self.rest = &[];
                Some(Err(Error::Truncated))
            }
        }
    }
}
