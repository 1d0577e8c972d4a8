//! The Linux daemon.
