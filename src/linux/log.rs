//! A tiny leveled logger to stderr (procd/syslog add timestamps on routers).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::config::LogLevel;

static LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);

pub fn set_level(level: LogLevel) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn enabled(level: LogLevel) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Writes one line; errors writing to stderr are ignored.
pub fn write(level: LogLevel, args: std::fmt::Arguments<'_>) {
    if enabled(level) {
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "roost: {}: {}", level.as_str(), args);
    }
}

macro_rules! error {
    ($($t:tt)*) => { $crate::linux::log::write($crate::config::LogLevel::Error, format_args!($($t)*)) };
}
macro_rules! warning {
    ($($t:tt)*) => { $crate::linux::log::write($crate::config::LogLevel::Warn, format_args!($($t)*)) };
}
macro_rules! info {
    ($($t:tt)*) => { $crate::linux::log::write($crate::config::LogLevel::Info, format_args!($($t)*)) };
}
macro_rules! debug {
    ($($t:tt)*) => { $crate::linux::log::write($crate::config::LogLevel::Debug, format_args!($($t)*)) };
}
#[allow(unused_imports)]
pub(crate) use {debug, error, info, warning};
