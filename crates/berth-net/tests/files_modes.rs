//! hosts/resolv.conf contents and the none, host and container modes.

mod common;

use std::collections::HashMap;
use std::net::Ipv4Addr;

use berth_net::{Mode, NetworkConfig};
use common::*;

#[test]
fn hosts_and_resolv_for_bridge_mode() {
    if !can_run("hosts_and_resolv_for_bridge_mode") {
        return;
    }
    let mut env = Env::new(30, 24);
    let db = env.prepare("db", &env.config()).unwrap();
    let mut cfg = env.config();
    cfg.hostname = Some("web".into());
    cfg.links = vec![("db".into(), "database".into())];
    cfg.add_hosts = vec![("mirror".into(), "10.9.9.9".parse().unwrap())];
    cfg.dns = vec!["10.231.30.53".parse().unwrap()];
    cfg.dns_search = vec!["corp.example".into()];
    cfg.dns_options = vec!["ndots:2".into()];
    let web = env.prepare("web", &cfg).unwrap();
    let files = web.files();
    assert_eq!(files[0].1, "/etc/hosts");
    assert_eq!(files[1].1, "/etc/resolv.conf");
    assert_eq!(files[0].0, env.state_dir("web").join("hosts"));
    let hosts = std::fs::read_to_string(&files[0].0).unwrap();
    let lines: Vec<&str> = hosts.lines().collect();
    assert_eq!(lines[0], "127.0.0.1\tlocalhost");
    assert!(lines.contains(&"::1\tlocalhost ip6-localhost ip6-loopback"));
    assert!(
        lines.contains(&format!("{}\tweb", web.ip().unwrap()).as_str()),
        "{hosts}"
    );
    assert!(
        lines.contains(&format!("{}\tdatabase", db.ip().unwrap()).as_str()),
        "{hosts}"
    );
    assert!(lines.contains(&"10.9.9.9\tmirror"), "{hosts}");
    let resolv = std::fs::read_to_string(&files[1].0).unwrap();
    assert_eq!(
        resolv,
        "nameserver 10.231.30.53\nsearch corp.example\noptions ndots:2\n"
    );

    // Without --dns the host's file is used minus loopback name servers.
    let plain = env.prepare("plain", &env.config()).unwrap();
    let resolv = std::fs::read_to_string(plain.files()[1].0.clone()).unwrap();
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    for line in resolv.lines() {
        if let Some(ns) = line.strip_prefix("nameserver ") {
            assert!(
                !ns.parse::<std::net::IpAddr>()
                    .map(|i| i.is_loopback())
                    .unwrap_or(false),
                "{resolv}"
            );
            assert!(host.contains(ns), "{ns} not in host resolv.conf");
        }
    }
    let host_public = host
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(str::trim)
        .filter(|ns| {
            !ns.parse::<std::net::IpAddr>()
                .map(|i| i.is_loopback())
                .unwrap_or(true)
        })
        .count();
    assert_eq!(
        resolv
            .lines()
            .filter(|l| l.starts_with("nameserver "))
            .count(),
        host_public
    );
}

#[test]
fn none_mode_has_only_loopback() {
    if !can_run("none_mode_has_only_loopback") {
        return;
    }
    let mut env = Env::new(31, 24);
    let ns = Netns::new();
    let cfg = NetworkConfig {
        mode: Mode::None,
        ..Default::default()
    };
    let (p, a) = env.start("n1", &cfg, &ns);
    assert!(p.needs_new_netns());
    assert!(p.bridge.is_none() && a.interface.is_none());
    let links = ns.ip_json(&["link", "show"]);
    let names: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["lo"]);
    assert!(links[0]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "UP"));
    assert!(ns.ping(Ipv4Addr::LOCALHOST));
    assert!(env.leases().is_empty());
    berth_net::teardown(&env.root, "n1").unwrap();
    assert!(berth_net::store::read_record(&env.root, "n1")
        .unwrap()
        .is_none());
}

#[test]
fn host_and_container_modes() {
    if !can_run("host_and_container_modes") {
        return;
    }
    let mut env = Env::new(32, 24);
    // Host mode: no namespace of its own; files follow the host (loopback servers kept).
    let host = NetworkConfig {
        mode: Mode::Host,
        ..Default::default()
    };
    let p = env.prepare("h1", &host).unwrap();
    assert!(!p.needs_new_netns());
    assert_eq!(p.netns_path(), None);
    let hosts = std::fs::read_to_string(&p.files()[0].0).unwrap();
    assert_eq!(
        hosts.trim_end(),
        std::fs::read_to_string("/etc/hosts")
            .unwrap_or_default()
            .trim_end()
    );

    // container:<id> mode joins the namespace of the init pid in <root>/<id>/state.json.
    let ns = Netns::new();
    let (owner, _) = env.start("owner", &env.config(), &ns);
    std::fs::create_dir_all(env.root.join("owner")).unwrap();
    std::fs::write(
        env.root.join("owner/state.json"),
        format!("{{\"id\":\"owner\",\"pid\":{}}}", ns.pid()),
    )
    .unwrap();
    let mut joined = NetworkConfig {
        mode: Mode::Container("owner".into()),
        ..Default::default()
    };
    joined.hostname = Some("side".into());
    let p = env.prepare("side", &joined).unwrap();
    assert!(!p.needs_new_netns());
    assert_eq!(p.netns_path(), Some(ns.path()));
    let hosts = std::fs::read_to_string(&p.files()[0].0).unwrap();
    assert!(
        hosts.contains(&format!("{}\tside", owner.ip().unwrap())),
        "{hosts}"
    );
    let a = berth_net::attach(&env.root, "side", &p, ns.pid()).unwrap();
    assert!(a.interface.is_none());
    // Joining a container that does not exist fails and records nothing.
    let ghost = NetworkConfig {
        mode: Mode::Container("ghost".into()),
        ..Default::default()
    };
    let e = env.prepare("g1", &ghost).unwrap_err();
    assert!(e.to_string().contains("ghost"), "{e}");
    assert!(berth_net::store::read_record(&env.root, "g1")
        .unwrap()
        .is_none());
}

#[test]
fn annotations_roundtrip_through_prepare() {
    if !can_run("annotations_roundtrip_through_prepare") {
        return;
    }
    let mut env = Env::new(33, 24);
    let a: HashMap<String, String> = [
        ("berth.network.bridge", env.bridge.as_str()),
        ("berth.network.subnet", "10.231.33.0/24"),
        ("berth.network.ip", "10.231.33.40"),
        ("berth.network.hostname", "annotated"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let cfg = NetworkConfig::from_annotations(&a).unwrap().unwrap();
    let p = env.prepare("an1", &cfg).unwrap();
    assert_eq!(p.ip(), Some(Ipv4Addr::new(10, 231, 33, 40)));
    let hosts = std::fs::read_to_string(&p.files()[0].0).unwrap();
    assert!(hosts.contains("10.231.33.40\tannotated"));
}
