//! Roost: a BATMAN-style mesh routing daemon.
//!
//! Data flows one way: bytes → [`wire`] → [`engine`] (sans-IO) → executed by
//! the Linux layer ([`linux`]) or by the simulator ([`sim`]).

pub mod auth;
pub mod config;
pub mod engine;
pub mod linux;
pub mod netjson;
pub mod prefix;
pub mod setup;
pub mod wire;
pub mod zeroconf;

#[cfg(feature = "sim")]
pub mod sim;
