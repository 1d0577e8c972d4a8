//! `roost setup` on fixture copies of a fresh OpenWrt 24.10's
//! /etc/config (tests/fixtures/openwrt/, two devices), and the golden
//! output of `imagebuilder/build.sh --dry-run`.
//!
//! * The result parses with an independent UCI parser, netjsonconfig's
//!   OpenWrtParser, and converts to NetJSON (validated against
//!   netjsonconfig's schema), showing the mesh interfaces, the APs and the
//!   LAN with the node's derived addresses (tests/py/uci_netjson.py, run
//!   with the venv of `scripts/setup.sh`: target/py-venv or
//!   $ROOST_PYTHON). Without netjsonconfig that part prints a notice and
//!   is skipped, unless `CI=true`, where the test fails.
//! * A second run changes no byte.
//! * Every option the user had changed before, and every comment, is
//!   still there.
//! * `imagebuilder/build.sh --dry-run` for two releases and two profiles
//!   prints tests/golden/imagebuilder-*.txt. To accept a new output:
//!   `ROOST_UPDATE_GOLDEN=1 cargo test --test setup golden`, then review
//!   the diff.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use roost::config::uci;
use roost::config::Settings;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_roost");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MAC: &str = "02:11:22:33:44:55";
const MAC_BYTES: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
const PACKAGES: [&str; 6] = ["network", "wireless", "firewall", "dhcp", "system", "roost"];

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A directory removed on drop (also when the test panics).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("roost-setup-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `<tmp>/etc/config` holding the device's fresh configs, the common ones
/// and the roost package's; `<tmp>/etc/shadow`.
fn fresh_router(tmp: &Path, device: &str) -> PathBuf {
    let fx = Path::new(ROOT).join("tests/fixtures/openwrt");
    let etc = tmp.join("etc");
    let cfg = etc.join("config");
    fs::create_dir_all(&cfg).unwrap();
    for f in ["firewall", "dhcp"] {
        fs::copy(fx.join("common").join(f), cfg.join(f)).unwrap();
    }
    for f in ["network", "wireless", "system"] {
        fs::copy(fx.join(device).join(f), cfg.join(f)).unwrap();
    }
    fs::copy(
        Path::new(ROOT).join("openwrt-feed/net/roost/files/roost.config"),
        cfg.join("roost"),
    )
    .unwrap();
    fs::copy(fx.join("common/shadow"), etc.join("shadow")).unwrap();
    cfg
}

fn setup(site: &Path, cfg: &Path) -> Output {
    Command::new(BIN)
        .args(["setup", "--site"])
        .arg(site)
        .arg("--config-dir")
        .arg(cfg)
        .args(["--mac", MAC])
        .output()
        .unwrap()
}

fn setup_ok(site: &Path, cfg: &Path) -> String {
    let out = setup(site, cfg);
    assert!(
        out.status.success(),
        "roost setup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir`, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                m.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    m
}

/// A second run changes nothing.
fn assert_idempotent(site: &Path, cfg: &Path) {
    let etc = cfg.parent().unwrap();
    let before = snapshot(etc);
    let out = setup_ok(site, cfg);
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(before, snapshot(etc), "a second roost setup changed files");
}

/// The venv python with netjsonconfig, if set up.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("ROOST_PYTHON").map_or_else(
        || Path::new(ROOT).join("target/py-venv/bin/python3"),
        PathBuf::from,
    );
    let ok = Command::new(&p)
        .args(["-c", "import netjsonconfig"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !ci(),
            "netjsonconfig missing ({}) and CI=true: run scripts/setup.sh's roost_test_tools",
            p.display()
        );
        eprintln!(
            "NOTICE: netjsonconfig missing at {}: skipping the independent parse (scripts/setup.sh)",
            p.display()
        );
    }
    ok.then_some(p)
}

/// tests/py/uci_netjson.py on `cfg`: {"uci": ..., "netjson": ...}.
fn netjson(py: &Path, cfg: &Path) -> Value {
    let out = Command::new(py)
        .arg(Path::new(ROOT).join("tests/py/uci_netjson.py"))
        .arg(cfg)
        .args(PACKAGES)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "netjsonconfig rejects {}: {}",
        cfg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The NetJSON interface named `name`.
fn iface<'a>(nj: &'a Value, name: &str) -> &'a Value {
    nj["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no interface {name} in {nj:#}"))
}

/// The block named `name` of a package in netjsonconfig's parse.
fn block<'a>(parsed: &'a Value, package: &str, name: &str) -> &'a Value {
    parsed["uci"][package]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b[".name"] == name)
        .unwrap_or_else(|| panic!("no {package}.{name}"))
}

fn blocks<'a>(parsed: &'a Value, package: &str, kind: &str) -> Vec<&'a Value> {
    parsed["uci"][package]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b[".type"] == kind)
        .collect()
}

/// What every node derives: pinned values (src/zeroconf.rs's test) and
/// the library's derivation agree.
struct Expect {
    router4: &'static str,
    router6: &'static str,
    lan4: &'static str,
    lan6: &'static str,
    originator: &'static str,
    hostname: &'static str,
}

fn expect(prefix4: &str) -> Expect {
    let site = roost::zeroconf::Site::new(
        "fd77:1234:5678::/48".parse().unwrap(),
        prefix4.parse().unwrap(),
        24,
    )
    .unwrap();
    let d = site.derive(MAC_BYTES, 0);
    let e = Expect {
        router4: "10.3.214.1",
        router6: "fd77:1234:5678:3d6::1",
        lan4: "10.3.214.0/24",
        lan6: "fd77:1234:5678:3d6::/64",
        originator: "fd77:1234:5678:0:11:22ff:fe33:4455",
        hostname: "ffex-334455",
    };
    assert_eq!(d.router4.to_string(), e.router4);
    assert_eq!(d.router6.to_string(), e.router6);
    assert_eq!(d.originator.to_string(), e.originator);
    assert_eq!(roost::zeroconf::hostname("ffex", MAC_BYTES), e.hostname);
    e
}

/// The roost config parses with the daemon's own parser (without
/// `option gateway` while this branch's daemon lacks it) and holds the
/// derived values.
fn check_roost_config(cfg: &Path, e: &Expect, ifaces: &[(&str, &str)]) {
    let text = fs::read_to_string(cfg.join("roost")).unwrap();
    let file = cfg.join("roost");
    let s = Settings::from_uci(&text, &file).or_else(|err| {
        assert!(err.0.contains("'gateway'"), "{err}");
        let without: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("option gateway "))
            .map(|l| format!("{l}\n"))
            .collect();
        Settings::from_uci(&without, &file)
    });
    let s = s.unwrap_or_else(|err| panic!("/etc/config/roost: {err}"));
    assert_eq!(s.originator.unwrap().to_string(), e.originator);
    let ann: Vec<String> = s.announce.iter().map(|p| p.to_string()).collect();
    assert_eq!(ann[..2], [e.lan6, e.lan4]);
    // The renumbered LAN of the fresh install is no longer announced.
    assert!(!ann.iter().any(|a| a == "192.168.1.0/24"), "{ann:?}");
    let got: Vec<(String, String)> = s
        .interfaces
        .iter()
        .map(|i| {
            (
                i.ifname.clone(),
                format!("{:?}", i.kind.unwrap()).to_lowercase(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = ifaces
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// The checks common to both devices on netjsonconfig's view.
fn check_netjson(
    parsed: &Value,
    e: &Expect,
    meshes: &[(&str, &str)],
    zone: &[&str],
    key: Option<&str>,
) {
    let nj = &parsed["netjson"];
    assert_eq!(nj["general"]["hostname"], e.hostname);
    // The LAN bridge with the node's own prefixes, nothing else.
    let lan = iface(nj, "br-lan");
    assert_eq!(lan["network"], "lan");
    let addrs: Vec<String> = lan["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}", a["address"].as_str().unwrap(), a["mask"]))
        .collect();
    assert_eq!(
        addrs,
        [format!("{}/24", e.router4), format!("{}/64", e.router6)]
    );
    // 802.11s on each band's radio; the mesh network has no address.
    for (name, radio) in meshes {
        let m = iface(nj, name);
        assert!(m.get("addresses").is_none(), "{m:#}");
        let w = &m["wireless"];
        assert_eq!(w["mode"], "802.11s", "{m:#}");
        assert_eq!(w["mesh_id"], "ffex-mesh");
        assert_eq!(w["mesh_fwding"], "0");
        assert_eq!(w["radio"], *radio);
        match key {
            Some(k) => {
                assert_eq!(w["encryption"]["protocol"], "wpa3_personal");
                assert_eq!(w["encryption"]["key"], k);
            }
            None => assert_eq!(w["encryption"]["protocol"], "none"),
        }
    }
    // The client APs, on the LAN.
    let aps: Vec<&Value> = nj["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["wireless"]["mode"] == "access_point")
        .collect();
    assert_eq!(aps.len(), 2);
    for ap in aps {
        assert_eq!(ap["wireless"]["ssid"], "example-mesh.net");
        assert_eq!(ap["wireless"]["network"], serde_json::json!(["lan"]));
    }
    for r in nj["radios"].as_array().unwrap() {
        assert_eq!(r["country"], "DE");
        assert_eq!(r["disabled"], false);
        let want = if r["band"] == "2g" { 1 } else { 36 };
        assert_eq!(r["channel"], want);
    }
    // The firewall: the mesh zone routes to LAN and WAN, the LAN to the
    // mesh; nothing forwards from the WAN.
    let mesh_zone = blocks(parsed, "firewall", "zone")
        .into_iter()
        .find(|z| z["name"] == "mesh")
        .unwrap();
    assert_eq!(mesh_zone["network"], serde_json::json!(zone));
    assert_eq!(mesh_zone["forward"], "ACCEPT");
    let mut fwd: Vec<(String, String)> = blocks(parsed, "firewall", "forwarding")
        .iter()
        .map(|f| {
            (
                f["src"].as_str().unwrap().into(),
                f["dest"].as_str().unwrap().into(),
            )
        })
        .collect();
    fwd.sort();
    let want = [
        ("lan", "mesh"),
        ("lan", "wan"),
        ("mesh", "lan"),
        ("mesh", "wan"),
    ];
    assert_eq!(fwd, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let wan = blocks(parsed, "firewall", "zone")
        .into_iter()
        .find(|z| z["name"] == "wan")
        .unwrap();
    assert_eq!(wan["input"], "REJECT");
    assert_eq!(wan["forward"], "REJECT");
    // DNS over the mesh, DHCPv4 and RA on the LAN.
    let dns = blocks(parsed, "dhcp", "dnsmasq")[0];
    assert_eq!(dns["noresolv"], "1");
    let servers = dns["server"].as_array().unwrap();
    assert!(servers.contains(&"9.9.9.9".into()) && servers.contains(&"2620:fe::fe".into()));
    let lan_dhcp = block(parsed, "dhcp", "lan");
    assert_eq!(lan_dhcp["dhcpv4"], "server");
    assert_eq!(lan_dhcp["ra"], "server");
    let main = block(parsed, "roost", "main");
    assert_eq!(main["originator"], e.originator);
    assert_eq!(main["announce"][0], e.lan6);
    assert_eq!(main["announce"][1], e.lan4);
}

#[test]
fn archer_c7_fresh_install() {
    let tmp = TempDir::new("c7");
    let cfg = fresh_router(&tmp.0, "archer-c7-v5");
    let site = Path::new(ROOT).join("imagebuilder/sites/example.conf");
    let e = expect("10.0.0.0/8");
    let py = python();
    if let Some(py) = &py {
        // The fixtures themselves are what netjsonconfig expects.
        netjson(py, &cfg);
    }
    let out = setup_ok(&site, &cfg);
    assert!(
        out.contains(e.originator) && out.contains("mesh on mesh0, mesh1"),
        "{out}"
    );
    // radio1 is the 2.4 GHz radio of the C7 v5: mesh0 is 2.4 GHz.
    if let Some(py) = &py {
        let parsed = netjson(py, &cfg);
        check_netjson(
            &parsed,
            &e,
            &[("mesh0", "radio1"), ("mesh1", "radio0")],
            &["mesh0", "mesh1"],
            Some("change-me-mesh-password"),
        );
        assert_eq!(block(&parsed, "wireless", "mesh0")["ifname"], "mesh0");
    }
    check_roost_config(&cfg, &e, &[("mesh0", "wireless"), ("mesh1", "wireless")]);
    check_transit_include(&tmp.0, "\"mesh0\", \"mesh1\"");
    let keys = fs::read_to_string(tmp.0.join("etc/dropbear/authorized_keys")).unwrap();
    assert!(keys.starts_with("ssh-ed25519 AAAA") && keys.ends_with("admin@example\n"));
    let mode = fs::metadata(tmp.0.join("etc/dropbear/authorized_keys"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // No root_hash in the example: the password stays unset.
    assert!(fs::read_to_string(tmp.0.join("etc/shadow"))
        .unwrap()
        .starts_with("root:::0:"));
    assert_idempotent(&site, &cfg);
}

/// The fw4 include keeping mesh transit out of conntrack names the mesh
/// devices, and nft accepts it inside a table (as fw4 includes it).
fn check_transit_include(root: &Path, set: &str) {
    let path = root.join("etc/nftables.d/20-roost-transit.nft");
    let text = fs::read_to_string(&path).unwrap();
    let rule = format!("iifname {{ {set} }} fib daddr oifname {{ {set} }} notrack");
    assert!(text.contains(&rule), "{text}");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(!ci(), "CI=true: root needed to check the nft include");
        eprintln!("not root: the nft include is not checked with nft -c");
        return;
    }
    let wrapper = root.join("fw4-wrapper.nft");
    fs::write(
        &wrapper,
        format!("table inet fw4 {{\n\tinclude \"{}\"\n}}\n", path.display()),
    )
    .unwrap();
    let out = Command::new("nft")
        .args(["-c", "-f"])
        .arg(&wrapper)
        .output()
        .expect("nft (package nftables) runs");
    assert!(
        out.status.success(),
        "nft -c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (package, section type, option) that `roost setup` owns; everything
/// else the user set must survive.
fn owned(package: &str, kind: &str, key: &str) -> bool {
    let keys: &[&str] = match (package, kind) {
        ("network", "interface") => &["proto", "ipaddr", "netmask", "ip6addr", "ip6assign", "auto"],
        ("wireless", "wifi-device") => &["channel", "country", "htmode", "disabled"],
        ("wireless", "wifi-iface") => &["device", "network", "mode", "ssid", "encryption", "key"],
        ("system", "system") => &["hostname"],
        ("dhcp", "dnsmasq") => &["server", "noresolv"],
        ("dhcp", "dhcp") => &[
            "ignore",
            "dhcpv4",
            "dhcpv6",
            "ra",
            "ra_default",
            "start",
            "limit",
        ],
        ("roost", "roost") => &["originator", "gateway"],
        ("roost", "interface") => &["ifname", "type", "disabled"],
        _ => &[],
    };
    keys.contains(&key)
}

/// package -> section id (name, or `@type[i]`) -> key -> values, read
/// with the daemon's UCI parser (not the editing model under test).
type Options = BTreeMap<String, BTreeMap<String, BTreeMap<String, (String, Vec<String>)>>>;

fn options(cfg: &Path) -> Options {
    let mut all = Options::new();
    for p in PACKAGES {
        let text = fs::read_to_string(cfg.join(p)).unwrap();
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        let pkg = all.entry(p.to_string()).or_default();
        for s in uci::parse(&text).unwrap() {
            let i = count.entry(s.kind.clone()).or_default();
            let id = s
                .name
                .clone()
                .unwrap_or_else(|| format!("@{}[{i}]", s.kind));
            *i += 1;
            let sec = pkg.entry(id).or_default();
            for o in s.options {
                let e = sec
                    .entry(o.key)
                    .or_insert_with(|| (s.kind.clone(), Vec::new()));
                if !o.is_list {
                    e.1.clear();
                }
                e.1.push(o.value);
            }
        }
    }
    all
}

/// The user's changes to a fresh install before `roost setup` runs.
fn customise(cfg: &Path) {
    let edit = |f: &str, from: &str, to: &str| {
        let p = cfg.join(f);
        let t = fs::read_to_string(&p).unwrap();
        assert!(t.contains(from), "{f}: {from}");
        fs::write(&p, t.replacen(from, to, 1)).unwrap();
    };
    edit(
        "system",
        "\toption timezone 'UTC'\n",
        "\toption timezone 'CET-1CEST,M3.5.0,M10.5.0/3'\n\toption zonename 'Europe/Berlin'\n",
    );
    edit(
        "network",
        "\toption ip6assign '60'\n",
        "\toption ip6assign '60'\n\toption delegate '0'\n\toption mtu '1480'\n",
    );
    edit(
        "network",
        "config interface 'wan'\n",
        "# a route to the office, by hand\nconfig route 'office'\n\toption interface 'lan'\n\toption target '172.16.0.0/12'\n\toption gateway '10.3.214.254'\n\nconfig interface 'wan'\n",
    );
    edit(
        "dhcp",
        "\toption cachesize '1000'\n",
        "\toption cachesize '2000'\n\tlist server '/corp.example/10.9.9.9'\n",
    );
    edit(
        "dhcp",
        "\toption leasetime '12h'\n",
        "\toption leasetime '1h'\n",
    );
    edit(
        "wireless",
        "\toption cell_density '0'\n",
        "\toption cell_density '0'\n\toption txpower '17'\n",
    );
    edit(
        "wireless",
        "\toption encryption 'none'\n",
        "\toption encryption 'none'\n\toption disassoc_low_ack '0'\n",
    );
    edit(
        "roost",
        "\toption log_level 'info'\n",
        "\toption log_level 'debug'\n\tlist announce '198.51.100.0/24'\n",
    );
    let fw = cfg.join("firewall");
    let mut t = fs::read_to_string(&fw).unwrap();
    t.push_str("\n# user: SSH from the office only\nconfig rule\n\toption name\t\tAllow-SSH-Office\n\toption src\t\twan\n\toption src_ip\t\t198.51.100.0/24\n\toption proto\t\ttcp\n\toption dest_port\t22\n\toption target\t\tACCEPT\n");
    fs::write(&fw, t).unwrap();
}

/// The example site with a wired mesh port, an open mesh, a client
/// passphrase and a root password.
fn variant_site(dir: &Path) -> PathBuf {
    let t = fs::read_to_string(Path::new(ROOT).join("imagebuilder/sites/example.conf")).unwrap();
    let t = t
        .replace("\t#list wired 'wan'\n", "\tlist wired 'wan'\n")
        .replace("\toption key 'change-me-mesh-password'\n", "")
        .replace(
            "\t#option key 'change-me-too'\n",
            "\toption key 'client-passphrase'\n",
        )
        .replace(
            "\t#option root_hash '$6$salt$hash'\n",
            "\toption root_hash '$6$roostsalt$Qm2r3vVQ0p1l0l3m0n4d3.X1'\n",
        );
    let p = dir.join("site.conf");
    fs::write(&p, t).unwrap();
    p
}

#[test]
fn mi4a_user_changes_survive() {
    let tmp = TempDir::new("mi4a");
    let cfg = fresh_router(&tmp.0, "mi-router-4a-gigabit");
    customise(&cfg);
    let site = variant_site(&tmp.0);
    let e = expect("10.0.0.0/8");
    let before = options(&cfg);
    let comments: Vec<(String, String)> = PACKAGES
        .iter()
        .flat_map(|p| {
            fs::read_to_string(cfg.join(p))
                .unwrap()
                .lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .map(|l| (p.to_string(), l.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    let out = setup_ok(&site, &cfg);
    assert!(out.contains("mesh on mesh0, mesh1, wan"), "{out}");

    // Every option the user had (that setup does not own) is unchanged.
    let after = options(&cfg);
    let mut kept = 0;
    for (p, secs) in &before {
        for (id, opts) in secs {
            for (key, (kind, values)) in opts {
                if owned(p, kind, key) {
                    continue;
                }
                let got = after[p].get(id).and_then(|s| s.get(key));
                // Lists setup adds to: dnsmasq's servers (the user's
                // per-domain one stays) and Roost's announcements (the
                // user's own stays, the renumbered LAN goes).
                if [("dhcp", "server"), ("roost", "announce")].contains(&(p.as_str(), key.as_str()))
                {
                    let got = &got.unwrap().1;
                    let user = values.last().unwrap();
                    assert!(got.contains(user), "{p}.{id}.{key}: {user} lost: {got:?}");
                    continue;
                }
                assert_eq!(got.map(|g| &g.1), Some(values), "{p}.{id}.{key} changed");
                kept += 1;
            }
        }
    }
    assert!(kept > 140, "only {kept} options compared");
    for (p, c) in &comments {
        let text = fs::read_to_string(cfg.join(p)).unwrap();
        assert!(text.lines().any(|l| l == c), "{p}: comment lost: {c}");
    }
    let user = |p: &str, id: &str, key: &str| after[p][id][key].1.join(" ");
    assert_eq!(user("system", "@system[0]", "zonename"), "Europe/Berlin");
    assert_eq!(user("network", "lan", "delegate"), "0");
    assert_eq!(user("dhcp", "lan", "leasetime"), "1h");
    assert_eq!(user("roost", "main", "log_level"), "debug");
    assert_eq!(user("firewall", "@rule[9]", "name"), "Allow-SSH-Office");

    // The WAN port became a wired mesh port.
    assert_eq!(user("network", "mesh_wan", "device"), "wan");
    assert_eq!(user("network", "mesh_wan", "proto"), "none");
    assert_eq!(user("network", "wan", "auto"), "0");
    assert_eq!(user("network", "wan6", "auto"), "0");
    assert_eq!(user("roost", "main", "gateway"), "auto=100/20");
    assert_eq!(
        user("wireless", "default_radio0", "encryption"),
        "psk2+ccmp"
    );
    assert_eq!(
        user("wireless", "default_radio0", "key"),
        "client-passphrase"
    );
    check_roost_config(
        &cfg,
        &e,
        &[
            ("mesh0", "wireless"),
            ("mesh1", "wireless"),
            ("wan", "wired"),
        ],
    );
    let shadow = fs::read_to_string(tmp.0.join("etc/shadow")).unwrap();
    assert!(
        shadow.starts_with("root:$6$roostsalt$Qm2r3vVQ0p1l0l3m0n4d3.X1::0:99999:7:::\ndaemon:*:")
    );

    if let Some(py) = python() {
        let parsed = netjson(&py, &cfg);
        // radio0 is the 2.4 GHz radio of the 4A Gigabit.
        check_netjson(
            &parsed,
            &e,
            &[("mesh0", "radio0"), ("mesh1", "radio1")],
            &["mesh0", "mesh1", "mesh_wan"],
            None,
        );
    }
    assert_idempotent(&site, &cfg);
}

#[test]
fn bad_site_file_names_the_line() {
    let tmp = TempDir::new("bad");
    let cfg = fresh_router(&tmp.0, "archer-c7-v5");
    let before = snapshot(&tmp.0);
    let dir = TempDir::new("bad-site");
    let site = dir.0.join("site.conf");
    let t = fs::read_to_string(Path::new(ROOT).join("imagebuilder/sites/example.conf")).unwrap();
    fs::write(
        &site,
        t.replace("option channel '36'", "option channel 'auto'"),
    )
    .unwrap();
    let out = setup(&site, &cfg);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = t.lines().position(|l| l.contains("'36'")).unwrap() + 1;
    assert!(
        err.contains(&format!("site.conf:{line}: option 'channel'")),
        "{err}"
    );
    assert_eq!(before, snapshot(&tmp.0), "a failed setup changed files");
}

/// `imagebuilder/build.sh ARGS --dry-run` with a fake cross/ output in
/// `tmp`: (exit code, stdout with `tmp` written as `<tmp>`, stderr).
fn build_dry(tmp: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join("imagebuilder/build.sh"))
        .args(args)
        .arg("--dry-run")
        .arg("--work")
        .arg(tmp.join("work"))
        .arg("--out")
        .arg(tmp.join("images"))
        .arg("--cross-dir")
        .arg(tmp.join("cross"))
        .env_remove("ROOST_CROSS_TARGET_DIR")
        .output()
        .unwrap();
    let norm = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(tmp.to_str().unwrap(), "<tmp>")
            .replace(ROOT, "<repo>")
    };
    (
        out.status.code().unwrap_or(-1),
        norm(&out.stdout),
        norm(&out.stderr),
    )
}

/// Compares with tests/golden/NAME, or writes it under ROOST_UPDATE_GOLDEN=1.
fn golden(name: &str, got: &str) {
    let path = Path::new(ROOT).join("tests/golden").join(name);
    if std::env::var_os("ROOST_UPDATE_GOLDEN").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, got).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let want = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (ROOST_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        want == got,
        "{name} differs from the golden file (review, then ROOST_UPDATE_GOLDEN=1):\n--- want\n{want}\n--- got\n{got}"
    );
}

#[test]
fn imagebuilder_dry_run_golden() {
    let tmp = TempDir::new("ib");
    let cross = tmp.0.join("cross");
    // What cross/build.sh and cross/package.sh leave (content is not read).
    for t in ["mips-unknown-linux-musl", "mipsel-unknown-linux-musl"] {
        let d = cross.join("out").join(t);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("roost"), "binary").unwrap();
        fs::set_permissions(d.join("roost"), fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::create_dir_all(cross.join("pkg")).unwrap();
    for f in [
        "roost_0.1.0-1_mips_24kc.ipk",
        "luci-app-roost_0.1.0-1_all.ipk",
    ] {
        fs::write(cross.join("pkg").join(f), "ipk").unwrap();
    }
    let site = Path::new(ROOT).join("imagebuilder/sites/example.conf");
    let site = site.to_str().unwrap();
    let runs = [
        (
            "imagebuilder-24.10.txt",
            [
                "24.10.4",
                "ath79/generic",
                "tplink_archer-c7-v5",
                "tplink_archer-a7-v5",
            ],
        ),
        (
            "imagebuilder-25.12.txt",
            [
                "25.12.4",
                "ramips/mt7621",
                "xiaomi_mi-router-4a-gigabit",
                "tplink_archer-c6-v3",
            ],
        ),
    ];
    for (name, [rel, target, p1, p2]) in runs {
        let args = [
            "--site",
            site,
            "--release",
            rel,
            "--target",
            target,
            "--profile",
            p1,
            "--profile",
            p2,
        ];
        let (code, out, err) = build_dry(&tmp.0, &args);
        assert_eq!(code, 0, "{err}");
        golden(name, &out);
        // The overlay is really rendered.
        let files = tmp
            .0
            .join("work/files")
            .join(format!("{rel}-{}", target.replace('/', "-")));
        assert_eq!(
            fs::read_to_string(files.join("etc/roost/site.conf")).unwrap(),
            fs::read_to_string(site).unwrap()
        );
        assert!(files.join("etc/uci-defaults/90-roost-setup").is_file());
    }
    // An open mesh needs no wpad swap; an unknown target needs --arch; 23.05
    // is not supported.
    let open = tmp.0.join("open.conf");
    let t = fs::read_to_string(site).unwrap();
    fs::write(
        &open,
        t.replace("\toption key 'change-me-mesh-password'\n", ""),
    )
    .unwrap();
    let open = open.to_str().unwrap();
    let cases = [
        (
            "24.10.4",
            "ath79/generic",
            0,
            "'PACKAGES=roost luci-app-roost tcpdump-mini'",
        ),
        ("24.10.4", "foo/bar", 2, "give --arch"),
        ("23.05.5", "ath79/generic", 2, "expected 24.10.N or 25.12.N"),
    ];
    for (rel, target, want_code, want) in cases {
        let args = [
            "--site",
            open,
            "--release",
            rel,
            "--target",
            target,
            "--profile",
            "x",
        ];
        let (code, out, err) = build_dry(&tmp.0, &args);
        assert_eq!(code, want_code, "{rel} {target}: {err}");
        assert!(
            out.contains(want) || err.contains(want),
            "{rel} {target}: {out}{err}"
        );
    }
}
