//! SIGTERM/SIGINT (stop) and SIGHUP (reload) through a signalfd, so they
//! arrive as ordinary events in the mio loop.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sig {
    Stop,
    Reload,
}

pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks the signals for normal delivery and opens the signalfd.
    pub fn new() -> io::Result<Signals> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGINT);
        set.add(Signal::SIGHUP);
        set.thread_block().map_err(io::Error::from)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(io::Error::from)?;
        Ok(Signals { fd })
    }

    /// Drains pending signals; `Stop` wins over `Reload`.
    pub fn read(&mut self) -> io::Result<Option<Sig>> {
        let mut out = None;
        loop {
            match self.fd.read_signal() {
                Ok(Some(info)) => {
                    let sig = i32::try_from(info.ssi_signo).unwrap_or(0);
                    if sig == libc::SIGHUP {
                        out = out.or(Some(Sig::Reload));
                    } else if sig == libc::SIGTERM || sig == libc::SIGINT {
                        out = Some(Sig::Stop);
                    }
                }
                Ok(None) => return Ok(out),
                Err(nix::Error::EINTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
    }
}

impl AsRawFd for Signals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
