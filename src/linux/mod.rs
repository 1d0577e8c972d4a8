//! The Linux daemon: one single-threaded mio loop around the engine.
//!
//! Each concern has its own module: [`time`] (monotonic clock), [`socket`]
//! (per-interface UDP), [`route`] (kernel route sync), [`rules`] (ip rules),
//! [`link`] (link/address watch), [`rtnl`] (the rtnetlink codec and socket), [`gateway`] (gateway routes, pins, uplink watch), [`iftype`], [`sysctl`], [`control`]
//! (control socket), [`signals`], [`log`]; [`daemon`] ties them together.

pub mod addr;
pub mod control;
pub mod daemon;
pub mod gateway;
pub mod iftype;
pub mod link;
pub mod log;
pub mod neigh;
pub mod query;
pub mod route;
pub mod rtnl;
pub mod rules;
pub mod signals;
pub mod socket;
pub mod sysctl;
pub mod time;

use std::fmt;

use crate::config::Settings;

/// Why the daemon stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Unusable configuration (exit code 2).
    Config(String),
    /// Failure at run time (exit code 1).
    Runtime(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Config(_) => 2,
            Error::Runtime(_) => 1,
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl fmt::Display) -> impl Fn(std::io::Error) -> Error {
        move |e| Error::Runtime(format!("{context}: {e}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(s) | Error::Runtime(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Error {
        Error::Config(e.0)
    }
}

/// Runs the daemon until SIGTERM/SIGINT (then removes its routes and rules
/// and returns `Ok`) or a fatal error.
pub fn run(settings: Settings) -> Result<(), Error> {
    log::set_level(settings.log_level);
    let mut d = daemon::Daemon::start(settings)?;
    let r = d.run_loop();
    d.shutdown();
    r
}
