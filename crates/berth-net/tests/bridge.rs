//! Bridge mode against the real kernel: bridge, veth, address, route, teardown.

mod common;

use std::net::Ipv4Addr;

use berth_net::{teardown, Error};
use common::*;

#[test]
fn bridge_veth_address_route_and_teardown() {
    if !can_run("bridge_veth_address_route_and_teardown") {
        return;
    }
    let mut env = Env::new(1, 24);
    let ns = Netns::new();
    let mut cfg = env.config();
    cfg.mtu = Some(1400);
    let (p, a) = env.start("c1", &cfg, &ns);
    let ip = Ipv4Addr::new(10, 231, 1, 2);
    assert_eq!(p.ip(), Some(ip));
    assert!(p.needs_new_netns());
    assert_eq!(p.netns_path(), None);

    // The bridge carries the gateway address and is up.
    assert_eq!(host_addrs(&env.bridge), vec!["10.231.1.1/24".to_string()]);
    let br = host_ip_json(&["link", "show", "dev", &env.bridge]);
    assert!(
        br[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
        "{br}"
    );
    assert_eq!(br[0]["mtu"], 1400);

    // The host end of the veth is enslaved to it.
    let iface = a.interface.clone().unwrap();
    let host = host_ip_json(&["link", "show", "dev", &iface.host_veth]);
    assert_eq!(host[0]["master"], env.bridge.as_str(), "{host}");

    // Inside: eth0 with the leased address, up, default route via the gateway, lo up.
    let addr = ns.ip_json(&["addr", "show", "dev", "eth0"]);
    let info = &addr[0]["addr_info"];
    assert!(
        info.as_array()
            .unwrap()
            .iter()
            .any(|i| i["local"] == "10.231.1.2" && i["prefixlen"] == 24),
        "{addr}"
    );
    assert_eq!(addr[0]["mtu"], 1400);
    assert_eq!(addr[0]["address"].as_str().unwrap(), iface.mac);
    assert!(addr[0]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "UP"));
    let routes = ns.ip_json(&["route", "show", "default"]);
    assert_eq!(routes[0]["gateway"], "10.231.1.1", "{routes}");
    assert_eq!(routes[0]["dev"], "eth0");
    let lo = ns.ip_json(&["link", "show", "dev", "lo"]);
    assert!(lo[0]["flags"].as_array().unwrap().iter().any(|f| f == "UP"));

    // The container reaches its gateway.
    assert!(ns.ping(env.gateway()), "gateway unreachable");

    // Teardown removes the veth and the lease, once; a second call is a no-op.
    assert_eq!(env.leases(), vec![(ip, "c1".to_string())]);
    teardown(&env.root, "c1").unwrap();
    assert!(!link_exists(&iface.host_veth));
    assert!(env.leases().is_empty());
    teardown(&env.root, "c1").unwrap();
    assert!(env.leases().is_empty());
    assert!(berth_net::store::read_record(&env.root, "c1")
        .unwrap()
        .is_none());

    // The bridge stays until asked; then it goes.
    assert!(link_exists(&env.bridge));
    assert!(berth_net::remove_bridge(&env.root, &env.bridge).unwrap());
    assert!(!link_exists(&env.bridge));
}

#[test]
fn bip_form_and_reuse_of_existing_bridge() {
    if !can_run("bip_form_and_reuse_of_existing_bridge") {
        return;
    }
    let mut env = Env::new(2, 24);
    env.subnet = berth_net::parse_cidr("10.231.2.9/24").unwrap();
    let ns1 = Netns::new();
    let ns2 = Netns::new();
    let (p1, a1) = env.start("b1", &env.config(), &ns1);
    assert_eq!(host_addrs(&env.bridge), vec!["10.231.2.9/24".to_string()]);
    assert_eq!(a1.interface.unwrap().gateway, Ipv4Addr::new(10, 231, 2, 9));
    assert_eq!(p1.ip(), Some(Ipv4Addr::new(10, 231, 2, 1)));
    // A second container without a subnet reuses the recorded one.
    let mut cfg = env.config();
    cfg.subnet = None;
    let (p2, _) = env.start("b2", &cfg, &ns2);
    assert_eq!(p2.ip(), Some(Ipv4Addr::new(10, 231, 2, 2)));
    assert!(ns2.ping(Ipv4Addr::new(10, 231, 2, 9)));
    // A different subnet on a bridge with containers is refused, and leaves no lease.
    let mut other = env.config();
    other.subnet = Some(berth_net::parse_cidr("10.231.3.0/24").unwrap());
    let e = env.prepare("b3", &other).unwrap_err();
    assert!(matches!(e, Error::SubnetConflict { .. }), "{e}");
    assert_eq!(env.leases().len(), 2);
    // Removing a bridge in use is refused.
    let e = berth_net::remove_bridge(&env.root, &env.bridge).unwrap_err();
    assert!(matches!(e, Error::BridgeInUse { .. }), "{e}");
    assert!(link_exists(&env.bridge));
}

#[test]
fn define_bridge_then_use_and_remove() {
    if !can_run("define_bridge_then_use_and_remove") {
        return;
    }
    let mut env = Env::new(3, 24);
    let subnet = berth_net::parse_cidr("10.231.3.1/24").unwrap();
    berth_net::define_bridge(&env.root, &env.bridge, subnet, true).unwrap();
    assert_eq!(host_addrs(&env.bridge), vec!["10.231.3.1/24".to_string()]);
    assert!(nft_comments("ip")
        .iter()
        .any(|c| *c == format!("berth-bridge:{}", env.bridge)));
    // Defining it again is harmless; a container without a subnet gets the defined one.
    berth_net::define_bridge(&env.root, &env.bridge, subnet, true).unwrap();
    let mut cfg = env.config();
    cfg.subnet = None;
    let p = env.prepare("d1", &cfg).unwrap();
    assert_eq!(p.ip(), Some(Ipv4Addr::new(10, 231, 3, 2)));
    teardown(&env.root, "d1").unwrap();
    assert!(berth_net::remove_bridge(&env.root, &env.bridge).unwrap());
    assert!(!link_exists(&env.bridge));
    assert!(!nft_comments("ip")
        .iter()
        .any(|c| *c == format!("berth-bridge:{}", env.bridge)));
    assert!(berth_net::store::read_bridge(&env.root, &env.bridge)
        .unwrap()
        .is_none());
}
