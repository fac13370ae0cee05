//! IPAM through prepare/teardown: order, reserved addresses, static
//! addresses, a full subnet, exactly-once release, nothing left on error.

mod common;

use std::net::Ipv4Addr;

use berth_net::{teardown, Error};
use common::*;

#[test]
fn leases_upward_until_full_and_release_once() {
    if !can_run("leases_upward_until_full_and_release_once") {
        return;
    }
    // 10.231.10.0/29: .0 network, .1 gateway, .7 broadcast, .2-.6 leasable.
    let mut env = Env::new(10, 29);
    let cfg = env.config();
    let mut got = Vec::new();
    for i in 0..5 {
        got.push(env.prepare(&format!("l{i}"), &cfg).unwrap().ip().unwrap());
    }
    let want: Vec<Ipv4Addr> = (2..=6).map(|n| Ipv4Addr::new(10, 231, 10, n)).collect();
    assert_eq!(got, want);
    let e = env.prepare("l5", &cfg).unwrap_err();
    assert!(matches!(e, Error::SubnetFull { .. }), "{e}");
    assert!(e.to_string().contains("10.231.10.0/29"), "{e}");
    assert!(berth_net::store::read_record(&env.root, "l5")
        .unwrap()
        .is_none());
    assert!(!env.state_dir("l5").join("hosts").exists());

    // Release exactly once: the freed address comes back, a repeated teardown frees nothing more.
    teardown(&env.root, "l2").unwrap();
    assert_eq!(env.leases().len(), 4);
    teardown(&env.root, "l2").unwrap();
    assert_eq!(env.leases().len(), 4);
    assert_eq!(
        env.prepare("l6", &cfg).unwrap().ip(),
        Some(Ipv4Addr::new(10, 231, 10, 4))
    );
    // prepare never creates the bridge.
    assert!(!link_exists(&env.bridge));
}

#[test]
fn static_address_honoured_or_refused() {
    if !can_run("static_address_honoured_or_refused") {
        return;
    }
    let mut env = Env::new(11, 24);
    let mut cfg = env.config();
    cfg.ip = Some(Ipv4Addr::new(10, 231, 11, 77));
    assert_eq!(
        env.prepare("s1", &cfg).unwrap().ip(),
        Some(Ipv4Addr::new(10, 231, 11, 77))
    );
    let e = env.prepare("s2", &cfg).unwrap_err();
    assert!(
        matches!(e, Error::AddressTaken { ref owner, .. } if owner == "s1"),
        "{e}"
    );
    assert!(e.to_string().contains("10.231.11.77"), "{e}");
    for reserved in [0u8, 1, 255] {
        cfg.ip = Some(Ipv4Addr::new(10, 231, 11, reserved));
        let e = env.prepare("s3", &cfg).unwrap_err();
        assert!(matches!(e, Error::AddressUnusable { .. }), "{e}");
    }
    // The dynamic allocator skips the static lease's neighbours correctly.
    let dynamic = env.config();
    assert_eq!(
        env.prepare("s4", &dynamic).unwrap().ip(),
        Some(Ipv4Addr::new(10, 231, 11, 2))
    );
    assert_eq!(env.leases().len(), 2);
    // The same id cannot prepare twice.
    assert!(env.prepare("s4", &dynamic).is_err());
    assert_eq!(env.leases().len(), 2);
}

#[test]
fn bad_input_leaves_nothing_behind() {
    if !can_run("bad_input_leaves_nothing_behind") {
        return;
    }
    let mut env = Env::new(12, 24);
    // A link to a container that does not exist.
    let mut cfg = env.config();
    cfg.links = vec![("ghost".into(), "db".into())];
    let e = env.prepare("x1", &cfg).unwrap_err();
    assert!(
        matches!(e, Error::LinkTarget { .. }) && e.to_string().contains("ghost"),
        "{e}"
    );
    // A subnet overlapping a host route (the host's own uplink or loopback).
    let uplink = host_ip_json(&["-4", "route", "show", "scope", "link"]);
    let overlapping = uplink.as_array().and_then(|r| {
        r.iter().find_map(|r| {
            r["dst"]
                .as_str()
                .filter(|d| d.contains('/'))
                .map(str::to_string)
        })
    });
    if let Some(dst) = overlapping {
        let mut cfg = env.config();
        cfg.subnet = Some(berth_net::parse_cidr(&dst).unwrap());
        let e = env.prepare("x2", &cfg).unwrap_err();
        assert!(matches!(e, Error::SubnetConflict { .. }), "{e}");
    }
    // A host port published twice within one request, and a bridge name too long.
    let mut cfg = env.config();
    cfg.publish = vec![
        berth_net::parse_publish("49950:80").unwrap(),
        berth_net::parse_publish("49950:81").unwrap(),
    ];
    assert!(matches!(
        env.prepare("x3", &cfg).unwrap_err(),
        Error::InvalidPortSpec { .. }
    ));
    let mut cfg = env.config();
    cfg.bridge = "bridge-name-too-long".into();
    let e = env.prepare("x4", &cfg).unwrap_err();
    assert!(e.to_string().contains("bridge-name-too-long"), "{e}");
    // Nothing was leased, recorded, written or created.
    assert!(env.leases().is_empty());
    for id in ["x1", "x2", "x3", "x4"] {
        assert!(berth_net::store::read_record(&env.root, id)
            .unwrap()
            .is_none());
        assert!(!env.state_dir(id).join("hosts").exists());
    }
    let ports = std::fs::read_to_string(env.root.join("net/ports.json")).unwrap_or_default();
    assert!(!ports.contains("49950"), "{ports}");
    assert!(!link_exists(&env.bridge));
}
