//! The `roost` binary end to end, in two throw-away network namespaces
//! joined by a veth pair: startup, routes, status, refusal of a second
//! daemon, SIGHUP reload, SIGTERM cleanup, config errors.

mod common;
use common::{have_root, run, Netns};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roost");

/// A daemon killed (by its own pid) if the test ends early.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(ns: &Netns, args: &[&str], log: &Path) -> Daemon {
    let log = std::fs::File::create(log).unwrap();
    Daemon(
        Command::new("ip")
            .args(["netns", "exec", &ns.name, BIN, "run"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

fn roost_in(ns: &Netns, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN])
        .args(args)
        .output()
        .unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn signal(d: &Daemon, sig: &str) {
    let pid = d.0.id().to_string();
    let ok = Command::new("kill")
        .args(["-s", sig, &pid])
        .status()
        .unwrap();
    assert!(ok.success());
}

fn status_json(ns: &Netns, sock: &Path) -> serde_json::Value {
    query_json(ns, sock, "status")
}

/// `roost <cmd> --json` against the daemon behind `sock`.
fn query_json(ns: &Netns, sock: &Path, cmd: &str) -> serde_json::Value {
    let out = roost_in(
        ns,
        &[cmd, "--json", "--control-socket", sock.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A directory of the test's own (tests run in parallel; each removes its
/// directory at the end).
fn tmpdir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("roost-daemon-test-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn two_daemons() {
    if !have_root() {
        return;
    }
    let dir = tmpdir("two");
    let a = Netns::bare("da");
    let b = Netns::bare("db");
    run(&[
        "link", "add", "ra", "netns", &a.name, "type", "veth", "peer", "name", "rb", "netns",
        &b.name,
    ]);
    a.ip(&["link", "set", "ra", "up"]);
    b.ip(&["link", "set", "rb", "up"]);
    let conf = dir.join("roost-a.conf");
    let write_conf = |extra: &str| {
        std::fs::write(
            &conf,
            format!(
                "config roost 'main'\n\toption originator 'fd00:a::1'\n\tlist announce '10.77.1.0/24'\n{extra}\nconfig interface 'ra'\n"
            ),
        )
        .unwrap()
    };
    write_conf("");
    let sock_a = dir.join("a.sock");
    let sock_b = dir.join("b.sock");
    let da = spawn(
        &a,
        &[
            "-c",
            conf.to_str().unwrap(),
            "--control-socket",
            sock_a.to_str().unwrap(),
        ],
        &dir.join("a.log"),
    );
    let db = spawn(
        &b,
        &[
            "-i",
            "rb",
            "--announce",
            "10.77.2.0/24",
            "--originator",
            "10.77.2.1",
            "--control-socket",
            sock_b.to_str().unwrap(),
        ],
        &dir.join("b.log"),
    );

    // Rules, then routes learned from the other node.
    wait_for("rules in a", Duration::from_secs(10), || {
        a.ip(&["-6", "rule"])
            .contains("7600:\tfrom all lookup 76 proto 77")
    });
    wait_for(
        "route to 10.77.2.0/24 in a",
        Duration::from_secs(40),
        || {
            a.ip_lenient(&["route", "show", "table", "76", "proto", "77"])
                .contains("10.77.2.0/24 via inet6 fe80::")
        },
    );
    wait_for(
        "route to 10.77.1.0/24 in b",
        Duration::from_secs(40),
        || {
            b.ip_lenient(&["route", "show", "table", "76", "proto", "77"])
                .contains("10.77.1.0/24 via inet6 fe80::")
        },
    );

    let st = status_json(&a, &sock_a);
    assert_eq!(st["originator"], "fd00:a::1");
    assert_eq!(st["mesh_interfaces"][0]["name"], "ra");
    assert_eq!(st["mesh_interfaces"][0]["state"], "up");
    assert_eq!(st["kernel"]["table"], 76);
    let summary = roost_in(
        &a,
        &["status", "--control-socket", sock_a.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&summary.stdout).contains("originator   fd00:a::1"));

    // A second daemon on the same interface is refused and touches nothing.
    let other_sock = dir.join("a2.sock");
    let out = roost_in(
        &a,
        &[
            "run",
            "-i",
            "ra",
            "--control-socket",
            other_sock.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("UDP port 4310 is already in use on ra"));
    let out = roost_in(
        &a,
        &[
            "run",
            "-i",
            "ra",
            "--control-socket",
            sock_a.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another roost is running"));
    assert!(a.ip(&["-6", "rule"]).contains("lookup 76 proto 77"));
    assert!(a
        .ip_lenient(&["route", "show", "table", "76", "proto", "77"])
        .contains("10.77.2.0/24"));

    // SIGHUP: new announcement and hostname, routes stay; the peer learns
    // both at once (the daemon floods a new own OGM).
    write_conf("\tlist announce '10.77.9.0/24'\n\toption hostname 'renamed-a'\n");
    signal(&da, "HUP");
    wait_for("reloaded announcement", Duration::from_secs(5), || {
        status_json(&a, &sock_a)["announced"]
            .as_array()
            .is_some_and(|v| v.iter().any(|p| p == "10.77.9.0/24"))
    });
    wait_for(
        "b learns the new name and prefix",
        Duration::from_secs(5),
        || {
            let st = query_json(&b, &sock_b, "originators");
            st["originators"].as_array().is_some_and(|os| {
                os.iter().any(|o| {
                    o["hostname"] == "renamed-a"
                        && o["announced"]
                            .as_array()
                            .is_some_and(|v| v.iter().any(|p| p == "10.77.9.0/24"))
                })
            })
        },
    );
    wait_for("route to 10.77.9.0/24 in b", Duration::from_secs(5), || {
        b.ip_lenient(&["route", "show", "table", "76", "proto", "77"])
            .contains("10.77.9.0/24 via inet6 fe80::")
    });
    assert!(a
        .ip_lenient(&["route", "show", "table", "76", "proto", "77"])
        .contains("10.77.2.0/24"));

    // SIGTERM: clean exit, nothing of ours left.
    let mut da = da;
    signal(&da, "TERM");
    let code = da.0.wait().unwrap();
    assert_eq!(code.code(), Some(0));
    assert!(a
        .ip_lenient(&["route", "show", "table", "76", "proto", "77"])
        .is_empty());
    assert!(a
        .ip_lenient(&["-6", "route", "show", "table", "76", "proto", "77"])
        .is_empty());
    assert!(!a.ip(&["rule"]).contains("proto 77"));
    assert!(!a.ip(&["-6", "rule"]).contains("proto 77"));
    assert!(!sock_a.exists());
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_errors_exit_2() {
    let dir = tmpdir("cfg");
    let conf = dir.join("bad.conf");
    // A bad file names the file, line and option, and exits 2.
    let bad_file = |text: &str, msg: &str| {
        std::fs::write(&conf, text).unwrap();
        let out = Command::new(BIN)
            .args(["run", "-i", "x0", "-c", conf.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("{}:2: {msg}", conf.display());
        assert!(err.contains(&want), "{err}");
    };
    bad_file(
        "config roost 'main'\n\toption port '70000'\n",
        "option 'port': '70000' is not a port number (1-65535)",
    );
    bad_file(
        "config roost 'main'\n\toption bogus '1'\n",
        "unknown option 'bogus' in section 'roost'",
    );
    // Bad flags; nothing is started (no control socket is created).
    let sock = dir.join("never.sock");
    for (args, msg) in [
        (&["--bogus"][..], "unexpected argument '--bogus'"),
        (
            &["-i", "x0", "--port", "0"],
            "--port: '0' is not a port number",
        ),
        (
            &["-i", "x0", "--table", "254"],
            "--table: '254' is a reserved table",
        ),
        (
            &["-i", "x0", "--announce", "10.0.0.0/33"],
            "'33' is not a valid prefix length",
        ),
        (
            &["-i", "x0", "--group", "ff05::1"],
            "is not a link-local multicast group",
        ),
        (&[], "no mesh interface: give -i IFNAME"),
    ] {
        let out = Command::new(BIN)
            .arg("run")
            .args(args)
            .args(["--control-socket", sock.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!sock.exists());
    }
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("roost "));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run-time errors: exit code 1 (2 for an underivable originator) with a
/// clear message, and nothing of Roost's left in the namespace.
#[test]
fn runtime_errors() {
    if !have_root() {
        return;
    }
    let dir = tmpdir("rt");
    let ns = Netns::new("rterr");
    let sock = dir.join("r.sock");
    let sock_arg = sock.to_str().unwrap().to_string();
    let nothing_left = |ns: &Netns| {
        for fam in ["-4", "-6"] {
            let rules = ns.ip(&[fam, "rule"]);
            assert!(!rules.contains("proto 77"), "{rules}");
        }
        assert!(!sock.exists(), "control socket left behind");
    };

    // The port is taken by another program (no SO_REUSEADDR, any device).
    let taken = ns.enter(|| std::net::UdpSocket::bind("[::]:4310").expect("bind 4310"));
    let out = roost_in(
        &ns,
        &[
            "run",
            "-i",
            "d0",
            "--originator",
            "fd00::1",
            "--control-socket",
            &sock_arg,
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("roost: UDP port 4310 is already in use on d0"),
        "{err}"
    );
    nothing_left(&ns);
    drop(taken);

    // A missing interface and no way to choose an originator.
    let out = roost_in(
        &ns,
        &["run", "-i", "nosuch0", "--control-socket", &sock_arg],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(set option originator)"), "{err}");
    nothing_left(&ns);

    // The control socket cannot be created.
    let out = roost_in(
        &ns,
        &[
            "run",
            "-i",
            "d0",
            "--originator",
            "fd00::1",
            "--control-socket",
            dir.join("no/such/dir.sock").to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("control socket"), "{err}");
    nothing_left(&ns);
    let _ = std::fs::remove_dir_all(&dir);
}
