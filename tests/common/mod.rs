//! Helpers for tests that need root: throw-away network namespaces.
#![allow(dead_code)]

pub mod mesh;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::process::Command;

pub fn have_root() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    if !root {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("netlink tests need root (CAP_NET_ADMIN) and CI=true is set");
        }
        eprintln!("NOTICE: skipping netlink tests: not root");
    }
    root
}

/// A network namespace that is deleted on drop (also when a test panics).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A namespace with only `lo` (up).
    pub fn bare(tag: &str) -> Netns {
        let name = format!("roosttest-{}-{tag}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(std::process::Stdio::null())
            .status();
        run(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A namespace with a veth pair d0/d1 inside, both up.
    pub fn new(tag: &str) -> Netns {
        let ns = Netns::bare(tag);
        // A veth pair inside the namespace (dummy may not be available).
        ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
        ns.ip(&["link", "set", "d1", "up"]);
        ns.ip(&["link", "set", "d0", "up"]);
        ns
    }

    pub fn ip(&self, args: &[&str]) -> String {
        ip_in(&self.name, args)
    }

    /// One ping from inside the namespace, 1 s timeout.
    pub fn ping(&self, addr: &str) -> bool {
        Command::new("ip")
            .args([
                "netns", "exec", &self.name, "ping", "-n", "-q", "-c1", "-W1", addr,
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Like [`Netns::ip`], but a failure (e.g. an empty table that does
    /// not exist yet) gives an empty string.
    pub fn ip_lenient(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", self.name.as_str()])
            .args(args)
            .output()
            .expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until no address in the namespace is tentative (DAD done).
    pub fn wait_dad(&self) {
        for _ in 0..100 {
            if self
                .ip(&["-6", "addr", "show", "tentative"])
                .trim()
                .is_empty()
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "duplicate address detection did not finish in {}",
            self.name
        );
    }

    /// Runs `f` on a thread that has entered the namespace.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = File::open(&path).expect("open netns file");
            // SAFETY: a valid namespace fd; only this thread changes netns.
            let r = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    pub fn routes(&self, extra: &[&str]) -> Vec<String> {
        routes_in(&self.name, extra)
    }

    /// The link-local address of `dev`.
    pub fn link_local(&self, dev: &str) -> std::net::Ipv6Addr {
        let out = self.ip(&["-6", "-o", "addr", "show", "dev", dev, "scope", "link"]);
        let word = out
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .expect("link-local address");
        word.split('/').next().unwrap().parse().unwrap()
    }
}

/// `ip -n NS args...`, panicking on failure; returns stdout.
pub fn ip_in(ns: &str, args: &[&str]) -> String {
    let mut full = vec!["-n", ns];
    full.extend_from_slice(args);
    run(&full)
}

/// Routes of table 76 as `ip` prints them, one per line, IPv4 then IPv6.
pub fn routes_in(ns: &str, extra: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for fam in ["-4", "-6"] {
        let mut args = vec![fam, "route", "show", "table", "76"];
        args.extend_from_slice(extra);
        out.extend(
            ip_in(ns, &args)
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    out
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair: `a` in namespace `a_ns`, its peer `b` in `b_ns`.
pub fn veth(a: &str, a_ns: &str, b: &str, b_ns: &str) {
    run(&[
        "link", "add", a, "netns", a_ns, "type", "veth", "peer", "name", b, "netns", b_ns,
    ]);
}

pub fn run(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn have_tshark() -> bool {
    Command::new("tshark")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Captures Roost's datagrams on `dev` in namespace `ns` for `secs`
/// seconds into `pcap`.
pub fn tshark_capture(ns: &str, dev: &str, secs: u32, pcap: &std::path::Path) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "tshark", "-q", "-i", dev])
        .args([
            "-a",
            &format!("duration:{secs}"),
            "-f",
            "udp port 4310",
            "-w",
        ])
        .arg(pcap)
        .output();
    tshark_output(out, "capture");
}

/// Decodes `pcap` with Roost's dissector: `-T fields` with `args` added.
pub fn tshark_decode(pcap: &std::path::Path, args: &[&str]) -> String {
    let lua = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/wireshark/roost.lua");
    let out = Command::new("tshark")
        .arg("-X")
        .arg(format!("lua_script:{}", lua.display()))
        .arg("-r")
        .arg(pcap)
        .args(["-T", "fields"])
        .args(args)
        .output();
    tshark_output(out, "decode")
}

/// tshark's stdout; it must have succeeded.
fn tshark_output(out: std::io::Result<std::process::Output>, what: &str) -> String {
    let out = out.expect("run tshark");
    assert!(
        out.status.success(),
        "tshark {what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
