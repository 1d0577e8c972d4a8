//! A mesh of `roost run` daemons in throw-away network namespaces joined
//! by veth pairs, for acceptance tests.
//!
//! Each test creates its own namespaces (named `roosttest-<pid>-<test>-<node>`)
//! and interfaces (inside those namespaces only, so names cannot clash
//! between tests), runs daemons with their own control sockets in a
//! temporary directory, and tears everything down on drop, also when it
//! fails: the processes it started (by pid), then the namespaces. No
//! traffic leaves the namespaces.
#![allow(dead_code)]

use super::{veth, Netns};

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_roost");

/// A process this test started; killed by its pid on drop.
pub struct Proc(pub Child);

impl Proc {
    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.0.id() as i32)
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), sig).expect("kill");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("roost-acc-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One node: namespace `roosttest-<pid>-<test>-n<N>` with 10.77.0.N/32 and
/// fd77::N/128 on `lo`, and (when running) its daemon.
pub struct Node {
    // Declared first: the daemon is killed before its namespace goes.
    pub daemon: Option<Proc>,
    pub ns: Netns,
    pub n: u8,
    pub ifaces: Vec<String>,
    pub sock: PathBuf,
    pub log: PathBuf,
    /// Extra `roost run` arguments (e.g. `--key-file`) and environment.
    pub extra: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Node {
    pub fn v4(&self) -> String {
        format!("10.77.0.{}", self.n)
    }

    pub fn v6(&self) -> String {
        format!("fd77::{}", self.n)
    }

    pub fn start(&mut self) {
        assert!(self.daemon.is_none(), "node {} already running", self.n);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns.name, BIN, "run"]);
        for i in &self.ifaces {
            cmd.args(["-i", i]);
        }
        cmd.args(["--announce", &format!("{}/32", self.v4())])
            .args(["--announce", &format!("{}/128", self.v6())])
            .args(["--control-socket", self.sock.to_str().unwrap()])
            .args(["--hostname", &format!("node{}", self.n)])
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // `ip netns exec` execs the daemon: the child's pid is the daemon's.
        self.daemon = Some(Proc(cmd.spawn().expect("spawn roost")));
    }

    /// Sends `sig` and waits for the daemon to exit; returns its exit code.
    pub fn stop(&mut self, sig: nix::sys::signal::Signal) -> Option<i32> {
        let mut d = self.daemon.take().expect("daemon running");
        d.signal(sig);
        let status = d.0.wait().unwrap();
        status.code()
    }

    /// Roost's routes in table 76 (IPv4 then IPv6), whitespace-normalised.
    pub fn routes(&self) -> Vec<String> {
        let mut out = Vec::new();
        for fam in ["-4", "-6"] {
            let o = self
                .ns
                .ip_lenient(&[fam, "route", "show", "table", "76", "proto", "77"]);
            out.extend(
                o.lines()
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty()),
            );
        }
        out
    }

    pub fn ping(&self, addr: &str) -> bool {
        self.ns.ping(addr)
    }

    pub fn nft(&self, ruleset: &str) {
        let mut c = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("nft");
        c.stdin
            .take()
            .unwrap()
            .write_all(ruleset.as_bytes())
            .unwrap();
        assert!(
            c.wait().unwrap().success(),
            "nft -f failed in {}",
            self.ns.name
        );
    }

    /// `roost status --json`, once.
    pub fn try_status(&self) -> Option<serde_json::Value> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, BIN, "status", "--json"])
            .args(["--control-socket", self.sock.to_str().unwrap()])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// `roost status --json`, retried for 5 s (the daemon may be starting).
    /// `roost topology --netjson`, parsed.
    pub fn netjson(&self) -> serde_json::Value {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, BIN, "topology", "--netjson"])
            .args(["--control-socket", self.sock.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "roost topology: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn status_json(&self) -> serde_json::Value {
        let t0 = Instant::now();
        loop {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.ns.name, BIN, "status", "--json"])
                .args(["--control-socket", self.sock.to_str().unwrap()])
                .output()
                .unwrap();
            if out.status.success() {
                return serde_json::from_slice(&out.stdout).unwrap();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "roost status: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Nodes 1..=n of one test; links are veth pairs named `m<peer>` on each
/// side (node 1's end of the 1–2 link is `m2`, node 2's end is `m1`).
pub struct Mesh {
    pub nodes: Vec<Node>,
    pub test: &'static str,
    pub dir: TempDir,
}

impl Mesh {
    pub fn new(test: &'static str, n: u8) -> Mesh {
        for tool in ["ping", "nft"] {
            let ok = Command::new(tool)
                .arg("-V")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "`{tool}` is missing: apt-get install iputils-ping nftables"
            );
        }
        let dir = TempDir::new(test);
        let nodes = (1..=n)
            .map(|i| {
                let ns = Netns::bare(&format!("{test}-n{i}"));
                ns.ip(&["addr", "add", &format!("10.77.0.{i}/32"), "dev", "lo"]);
                ns.ip(&["addr", "add", &format!("fd77::{i}/128"), "dev", "lo"]);
                Node {
                    daemon: None,
                    ns,
                    n: i,
                    ifaces: Vec::new(),
                    sock: dir.0.join(format!("n{i}.sock")),
                    log: dir.0.join(format!("n{i}.log")),
                    extra: Vec::new(),
                    env: Vec::new(),
                }
            })
            .collect();
        Mesh { nodes, test, dir }
    }

    pub fn node(&self, n: u8) -> &Node {
        &self.nodes[usize::from(n - 1)]
    }

    pub fn node_mut(&mut self, n: u8) -> &mut Node {
        &mut self.nodes[usize::from(n - 1)]
    }

    /// Configures the interfaces of link a–b on both daemons (the link
    /// itself is made by [`Mesh::link`]).
    pub fn plan_link(&mut self, a: u8, b: u8) {
        self.node_mut(a).ifaces.push(format!("m{b}"));
        self.node_mut(b).ifaces.push(format!("m{a}"));
    }

    /// Creates the veth pair of link a–b, straight inside the namespaces.
    pub fn link(&self, a: u8, b: u8) {
        let (na, nb) = (self.node(a), self.node(b));
        let (ia, ib) = (format!("m{b}"), format!("m{a}"));
        veth(&ia, &na.ns.name, &ib, &nb.ns.name);
        na.ns.ip(&["link", "set", &ia, "up"]);
        nb.ns.ip(&["link", "set", &ib, "up"]);
    }

    pub fn connect(&mut self, a: u8, b: u8) {
        self.plan_link(a, b);
        self.link(a, b);
    }

    pub fn start_all(&mut self) {
        for n in &mut self.nodes {
            n.start();
        }
    }

    /// Destinations node `n` should have in table 76: every other node's
    /// addresses, as `ip route` prints them.
    pub fn expected(&self, n: u8) -> BTreeSet<String> {
        self.nodes
            .iter()
            .filter(|o| o.n != n)
            .flat_map(|o| [o.v4(), o.v6()])
            .collect()
    }

    /// Exactly one route per expected destination, nothing else.
    pub fn routes_exact(&self, n: u8) -> Result<(), String> {
        let routes = self.node(n).routes();
        let dsts: Vec<String> = routes
            .iter()
            .map(|l| l.split(' ').next().unwrap_or("").to_string())
            .collect();
        let set: BTreeSet<String> = dsts.iter().cloned().collect();
        if set == self.expected(n) && dsts.len() == set.len() {
            Ok(())
        } else {
            Err(format!("node {n} table 76:\n  {}", routes.join("\n  ")))
        }
    }

    pub fn all_routes_exact(&self) -> Result<(), String> {
        for n in &self.nodes {
            self.routes_exact(n.n)?;
        }
        Ok(())
    }

    /// Waits until every node has exactly its expected routes.
    pub fn wait_converged(&self, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let mut last = Ok(());
        while t0.elapsed() < timeout {
            last = self.all_routes_exact();
            if last.is_ok() {
                return t0.elapsed();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{}: no convergence in {timeout:?}: {}",
            self.test,
            last.unwrap_err()
        );
    }

    /// Waits until node `n`'s routes have stayed the same for `quiet` (a
    /// converged mesh may still be moving a route to a better next hop:
    /// the IPv4 and IPv6 routes of one originator change one after the
    /// other) and returns them.
    pub fn wait_routes_stable(&self, n: u8, quiet: Duration, timeout: Duration) -> Vec<String> {
        let t0 = Instant::now();
        let mut last = self.node(n).routes();
        let mut since = Instant::now();
        while t0.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.node(n).routes();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return last;
            }
        }
        panic!(
            "{}: node {n}'s routes still changing after {timeout:?}: {last:?}",
            self.test
        );
    }

    /// Pings every other node's IPv4 and IPv6 address from every node,
    /// retrying failures until `deadline`; returns the failing pairs.
    pub fn ping_all(&self, deadline: Instant) -> Vec<String> {
        let mut todo: Vec<(u8, String)> = Vec::new();
        for a in &self.nodes {
            for b in self.nodes.iter().filter(|b| b.n != a.n) {
                todo.push((a.n, b.v4()));
                todo.push((a.n, b.v6()));
            }
        }
        loop {
            todo.retain(|(a, addr)| !self.node(*a).ping(addr));
            if todo.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        todo.iter()
            .map(|(a, addr)| format!("node{a} -> {addr}"))
            .collect()
    }

    pub fn logs(&self) -> String {
        // ROOST_TEST_LOG_LINES: how much of each log a failure shows.
        let keep = std::env::var("ROOST_TEST_LOG_LINES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(40);
        let mut s = String::new();
        for n in &self.nodes {
            let log = std::fs::read_to_string(&n.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(keep)..];
            s += &format!(
                "--- node{} ({}) log tail:\n{}\n",
                n.n,
                n.ns.name,
                tail.join("\n")
            );
        }
        s
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}: failed; daemon logs:\n{}", self.test, self.logs());
        }
    }
}

pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if f() {
            return t0.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A continuous `ping -D -i 0.05` from a node, its output going to a file.
pub struct Probe {
    pub proc: Proc,
    pub out: PathBuf,
    pub started: f64,
}

impl Probe {
    pub fn start(node: &Node, addr: &str, out: PathBuf) -> Probe {
        let f = File::create(&out).unwrap();
        let started = unix_now();
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &node.ns.name,
                "ping",
                "-n",
                "-D",
                "-i",
                "0.05",
                addr,
            ])
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ping");
        Probe {
            proc: Proc(child),
            out,
            started,
        }
    }

    /// Stops the probe (SIGINT, so it flushes its output) and returns the
    /// reply timestamps and the stop time.
    pub fn finish(mut self) -> (Vec<f64>, f64) {
        let stopped = unix_now();
        self.proc.signal(nix::sys::signal::Signal::SIGINT);
        let _ = self.proc.0.wait();
        let text = std::fs::read_to_string(&self.out).unwrap();
        let replies = text
            .lines()
            .filter(|l| l.contains("bytes from"))
            .filter_map(|l| {
                let ts = l.strip_prefix('[')?.split(']').next()?;
                ts.parse::<f64>().ok()
            })
            .collect();
        (replies, stopped)
    }
}

/// The longest time without a reply between `from` and `to` (reply
/// timestamps; the window's ends count as replies).
pub fn longest_gap(replies: &[f64], from: f64, to: f64) -> f64 {
    let mut ts: Vec<f64> = vec![from];
    ts.extend(replies.iter().copied().filter(|&t| t > from && t < to));
    ts.push(to);
    ts.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}
