use super::*;

const FILE: &str = "/etc/config/roost";

fn parse(text: &str) -> Result<Settings, ConfigError> {
    Settings::from_uci(text, Path::new(FILE))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(s) => panic!("expected an error, got {s:?}"),
        Err(e) => e.0,
    }
}

const GOOD: &str = r#"
# Roost on a typical node
config roost 'main'
	option originator 'fd00::1'
	option table '100'
	option port "4400"
	option group ff02::1:77
	option control_socket '/tmp/roost.sock'
	option log_level 'debug'
	list announce '10.77.3.0/24'
	list announce 'fd77:3::/64'   # LAN
	option hostname 'node-3'

config interface 'mesh0'
	option ifname 'wlan0'
	option type 'wireless'

config interface 'lan'
	option ifname 'eth0'

config interface 'wg'
	option ifname 'wg0'
	option disabled '1'

config interface 'tun0'
"#;

#[test]
fn good_file() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.originator, Some("fd00::1".parse().unwrap()));
    assert_eq!(s.table, 100);
    assert_eq!(s.port, 4400);
    assert_eq!(s.group, "ff02::1:77".parse::<Ipv6Addr>().unwrap());
    assert_eq!(s.control_socket, PathBuf::from("/tmp/roost.sock"));
    assert_eq!(s.log_level, LogLevel::Debug);
    assert_eq!(
        s.announce,
        vec![
            "10.77.3.0/24".parse().unwrap(),
            "fd77:3::/64".parse().unwrap()
        ]
    );
    assert_eq!(s.hostname.as_deref(), Some("node-3"));
    assert_eq!(
        s.interfaces,
        vec![
            IfaceConfig {
                ifname: "wlan0".into(),
                kind: Some(IfaceKind::Wireless)
            },
            IfaceConfig {
                ifname: "eth0".into(),
                kind: None
            },
            IfaceConfig {
                ifname: "tun0".into(),
                kind: None
            },
        ]
    );
}

#[test]
fn defaults() {
    let s = parse("config interface 'eth1'\n").unwrap();
    assert_eq!(s.port, 4310);
    assert_eq!(s.table, 76);
    assert_eq!(s.group.to_string(), "ff02::1:76");
    assert_eq!(s.control_socket, PathBuf::from("/var/run/roost.sock"));
    assert_eq!(s.log_level, LogLevel::Info);
    assert_eq!(s.originator, None);
    assert_eq!(s.hostname, None);
}

#[test]
fn errors_name_file_line_and_option() {
    assert_eq!(
        err("config roost 'main'\n\n\n\n\n\n\toption port '70000'\n"),
        "/etc/config/roost:7: option 'port': '70000' is not a port number (1-65535)"
    );
    assert_eq!(
        err("config roost\n option prot '1'\n"),
        "/etc/config/roost:2: unknown option 'prot' in section 'roost'"
    );
    assert_eq!(
        err("config roost\n option table '254'\n"),
        "/etc/config/roost:2: option 'table': '254' is a reserved table (0 unspec, 253 default, 254 main, 255 local)"
    );
    assert_eq!(
        err("config roost\n option table 'x'\n"),
        "/etc/config/roost:2: option 'table': 'x' is not a table number (1-4294967295)"
    );
    assert_eq!(
        err("config roost\n option group 'ff05::1'\n"),
        "/etc/config/roost:2: option 'group': 'ff05::1' is not a link-local multicast group (ff02::/16)"
    );
    assert_eq!(
        err("config roost\n option originator 'fe80::1'\n"),
        "/etc/config/roost:2: option 'originator': 'fe80::1' is link-local; an originator must be routable"
    );
    assert_eq!(
        err("config roost\n option originator 'nope'\n"),
        "/etc/config/roost:2: option 'originator': 'nope' is not an IPv6 address (or ::ffff:a.b.c.d)"
    );
    assert_eq!(
        err("config roost\n option log_level 'loud'\n"),
        "/etc/config/roost:2: option 'log_level': 'loud' is not a log level (error, warn, info, debug)"
    );
    assert_eq!(
        err("config roost\n list announce '10.0.0.0/33'\n"),
        "/etc/config/roost:2: option 'announce': '33' is not a valid prefix length"
    );
    assert_eq!(
        err("config roost\n list port '1'\n"),
        "/etc/config/roost:2: 'port' is not a list: use 'option port'"
    );
    assert_eq!(
        err("config roost\nconfig roost\n"),
        "/etc/config/roost:2: only one 'config roost' section is allowed"
    );
    assert_eq!(
        err("config rooost 'main'\n"),
        "/etc/config/roost:1: unknown section type 'rooost' (expected roost or interface)"
    );
    assert_eq!(
        err("config interface 'a'\n option typ 'wired'\n"),
        "/etc/config/roost:2: unknown option 'typ' in section 'interface'"
    );
    assert_eq!(
        err("config interface 'a'\n option type 'radio'\n"),
        "/etc/config/roost:2: option 'type': 'radio' is not an interface type (wireless, wired, tunnel)"
    );
    assert_eq!(
        err("config interface 'a'\n option disabled 'maybe'\n"),
        "/etc/config/roost:2: option 'disabled': 'maybe' is not a boolean (0 or 1)"
    );
    assert_eq!(
        err("config interface 'a'\n option ifname 'name/with/slash'\n"),
        "/etc/config/roost:2: option 'ifname': 'name/with/slash' is not an interface name"
    );
    assert_eq!(
        err("config interface\n"),
        "/etc/config/roost:1: interface section needs a name or option 'ifname'"
    );
    assert_eq!(
        err("config interface 'a'\nconfig interface 'b'\n option ifname 'a'\n"),
        "/etc/config/roost:2: interface 'a' is configured twice"
    );
    assert_eq!(
        err("option port '1'\n"),
        "/etc/config/roost:1: 'option' outside of a config section"
    );
    assert_eq!(
        err("config roost\n option hostname 'it is'\n"),
        "/etc/config/roost:2: option 'hostname': 'it is' is not a hostname (at most 64 bytes, no spaces)"
    );
    assert_eq!(
        err("config roost\n\toption port '1\n"),
        "/etc/config/roost:2: unterminated ' quote"
    );
    assert_eq!(
        err("config roost\n\tpackage roost\n"),
        "/etc/config/roost:2: unknown keyword 'package' (expected config, option or list)"
    );
}

#[test]
fn overrides() {
    let mut s = parse(GOOD).unwrap();
    let ov = Overrides {
        interfaces: vec!["eth0".into(), "eth9".into()],
        announce: vec!["10.9.0.0/16".parse().unwrap()],
        port: Some(5000),
        table: Some(200),
        log_level: Some(LogLevel::Warn),
        hostname: Some(String::new()),
        ..Overrides::default()
    };
    s.apply(&ov).unwrap();
    assert_eq!(s.port, 5000);
    assert_eq!(s.table, 200);
    assert_eq!(s.log_level, LogLevel::Warn);
    assert_eq!(s.announce.len(), 3);
    let names: Vec<_> = s.interfaces.iter().map(|i| i.ifname.as_str()).collect();
    assert_eq!(names, ["wlan0", "eth0", "tun0", "eth9"]);
    assert_eq!(s.effective_hostname(|| Some("sys".into())), None);

    let mut s = Settings::default();
    assert_eq!(
        s.apply(&Overrides::default()).unwrap_err().0,
        "no mesh interface: give -i IFNAME or a 'config interface' section"
    );
    let ov = Overrides {
        interfaces: vec!["eth0".into()],
        table: Some(255),
        ..Overrides::default()
    };
    assert!(s.apply(&ov).unwrap_err().0.starts_with("--table: '255'"));
}

#[test]
fn load_missing_file_is_an_error() {
    let ov = Overrides {
        config_file: Some("/nonexistent/roost.conf".into()),
        interfaces: vec!["eth0".into()],
        ..Overrides::default()
    };
    let e = Settings::load(&ov).unwrap_err().0;
    assert!(
        e.starts_with("/nonexistent/roost.conf: cannot read:"),
        "{e}"
    );
}

#[test]
fn originator_choice() {
    let mac = |_: &str| Some([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    let mut s = parse("config interface 'eth0'\n").unwrap();
    assert_eq!(
        s.choose_originator(mac).unwrap().to_string(),
        "fd72:6f6f:7374:0:11:22ff:fe33:4455"
    );
    assert!(s.choose_originator(|_| None).is_err());
    s.announce = vec![
        "10.0.0.0/8".parse().unwrap(),
        "fd00::7/128".parse().unwrap(),
    ];
    assert_eq!(s.choose_originator(mac).unwrap().to_string(), "fd00::7");
    s.originator = Some("::ffff:10.0.0.1".parse().unwrap());
    assert_eq!(
        s.choose_originator(mac).unwrap().to_string(),
        "::ffff:10.0.0.1"
    );
    // A bare IPv4 address in the file is taken as IPv4-mapped.
    let s = parse("config roost\n option originator '10.0.0.2'\n").unwrap();
    assert_eq!(s.originator.unwrap().to_string(), "::ffff:10.0.0.2");
}

#[test]
fn keys_and_caps() {
    let dir = std::env::temp_dir().join(format!("roost-cfg-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (good, bad) = (dir.join("good.key"), dir.join("bad.key"));
    std::fs::write(&good, "# mesh\n".to_string() + &"ab".repeat(32)).unwrap();
    std::fs::write(&bad, "not hex").unwrap();
    let text = format!(
        "config roost\n\tlist key_file '{}'\n\toption max_originators '1000'\n\toption max_neighbours 32\n",
        good.display()
    );
    let s = parse(&text).unwrap();
    assert_eq!(
        (s.keys.len(), s.max_originators, s.max_neighbours),
        (1, 1000, 32)
    );
    let e = err(&format!(
        "config roost\n\n\tlist key_file '{}'\n",
        bad.display()
    ));
    assert!(
        e.starts_with(&format!("{FILE}:3: option 'key_file': {}: ", bad.display())),
        "{e}"
    );
    assert_eq!(
        err("config roost\n\toption max_originators 0\n"),
        format!("{FILE}:2: option 'max_originators': '0' is not a limit (1-1000000)")
    );
    // Flags: keys are appended (file first), caps replace.
    let mut s = parse(&text).unwrap();
    let other = dir.join("other.key");
    std::fs::write(&other, "cd".repeat(16)).unwrap();
    let ov = Overrides {
        interfaces: vec!["eth0".into()],
        key_files: vec![other.clone(), good.clone()],
        max_originators: Some(50),
        ..Overrides::default()
    };
    s.apply(&ov).unwrap();
    assert_eq!((s.keys.len(), s.max_originators), (2, 50));
    let ov = Overrides {
        interfaces: vec!["eth0".into()],
        key_files: vec![dir.join("missing.key")],
        ..Overrides::default()
    };
    let e = Settings::default().apply(&ov).unwrap_err().0;
    assert!(
        e.starts_with("--key-file: ") && e.contains("missing.key"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zeroconf_and_announce_interface() {
    let s = parse(
        "config roost\n\toption site6 'fd77:1234:5678::/48'\n\toption site4 '10.0.0.0/8'\n\toption site4_lan_length '26'\n\toption zeroconf_mac '02:11:22:33:44:55'\n\toption zeroconf_interface 'eth0'\n\toption zeroconf_address_interface 'dummy0'\n\tlist announce_interface 'br-lan'\n\tlist announce_interface 'eth1'\n",
    )
    .unwrap();
    let site = s.zeroconf.site().unwrap().unwrap();
    assert_eq!(site.lan4_len, 26);
    assert_eq!(s.zeroconf.mac, Some([2, 0x11, 0x22, 0x33, 0x44, 0x55]));
    assert_eq!(s.zeroconf.mac_interface.as_deref(), Some("eth0"));
    assert_eq!(s.zeroconf.address_interface(), "dummy0");
    assert_eq!(s.announce_interfaces, ["br-lan", "eth1"]);
    // Off by default; the address goes to lo.
    let d = Settings::default();
    assert_eq!(d.zeroconf.site(), Ok(None));
    assert_eq!(d.zeroconf.address_interface(), "lo");
    // Errors name the file, the line and the option.
    let e = err("config roost\n\toption site6 'fd77::/48'\n");
    assert!(
        e.starts_with("/etc/config/roost:2: option 'site6': site6 is set but site4 is not"),
        "{e}"
    );
    let e = err("config roost\n\toption site6 'fd77::/64'\n\toption site4 '10.0.0.0/8'\n");
    assert!(
        e.starts_with("/etc/config/roost:2: option 'site6': site IPv6 prefix"),
        "{e}"
    );
    let e = err("config roost\n\n\toption zeroconf_mac 'nope'\n");
    assert!(
        e.starts_with("/etc/config/roost:3: option 'zeroconf_mac':"),
        "{e}"
    );
    let e = err("config roost\n\toption site4_lan_length '8'\n");
    assert!(
        e.starts_with("/etc/config/roost:2: option 'site4_lan_length': '8'"),
        "{e}"
    );
    let e = err("config roost\n\tlist announce_interface 'a/b'\n");
    assert!(
        e.starts_with("/etc/config/roost:2: option 'announce_interface'"),
        "{e}"
    );
    // Flags add to / override the file.
    let mut s = parse("config roost\n\tlist announce_interface 'br-lan'\n").unwrap();
    let ov = Overrides {
        interfaces: vec!["wlan0".into()],
        announce_interfaces: vec!["eth1".into()],
        zeroconf: ZeroconfSettings {
            site6: Some("fd00:1::/48".parse().unwrap()),
            site4: Some("10.0.0.0/8".parse().unwrap()),
            ..Default::default()
        },
        ..Default::default()
    };
    s.apply(&ov).unwrap();
    assert_eq!(s.announce_interfaces, ["br-lan", "eth1"]);
    assert!(s.zeroconf.site().unwrap().is_some());
    let ov = Overrides {
        interfaces: vec!["wlan0".into()],
        zeroconf: ZeroconfSettings {
            site4: Some("10.0.0.0/8".parse().unwrap()),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = Settings::default().apply(&ov).unwrap_err().0;
    assert!(e.contains("--site6/--site4"), "{e}");
}
