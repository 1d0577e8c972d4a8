//! Mesh UDP sockets inside a throw-away network namespace: multicast between
//! the two ends of a veth pair, link-local source, port-in-use detection.

mod common;
use common::{have_root, Netns};

use std::os::fd::AsRawFd;
use std::time::Duration;

use roost::config::{DEFAULT_GROUP, DEFAULT_PORT};
use roost::linux::rtnl::wait_readable;
use roost::linux::socket::{MeshSocket, OpenError, Received};

#[test]
fn multicast_between_veth_ends() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("sock");
    ns.wait_dad();
    let ll0 = ns.link_local("d0");
    ns.enter(move || {
        let i0 = nix::net::if_::if_nametoindex("d0").unwrap();
        let i1 = nix::net::if_::if_nametoindex("d1").unwrap();
        let a = MeshSocket::open("d0", i0, DEFAULT_GROUP, DEFAULT_PORT).unwrap();
        // Same port on another interface is fine...
        let b = MeshSocket::open("d1", i1, DEFAULT_GROUP, DEFAULT_PORT).unwrap();
        // ...the same interface twice is not.
        assert!(matches!(
            MeshSocket::open("d0", i0, DEFAULT_GROUP, DEFAULT_PORT),
            Err(OpenError::InUse)
        ));

        a.send(b"hello mesh", ll0).unwrap();
        assert!(wait_readable(b.as_raw_fd(), Duration::from_secs(2)));
        let mut buf = [0u8; 2048];
        assert_eq!(
            b.recv(&mut buf).unwrap(),
            Some(Received::Packet { src: ll0, len: 10 })
        );
        assert_eq!(&buf[..10], b"hello mesh");
        // No multicast loopback to the sender.
        assert!(!wait_readable(a.as_raw_fd(), Duration::from_millis(200)));
        assert_eq!(a.recv(&mut buf).unwrap(), None);
    });
}
