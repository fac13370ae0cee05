//! Traffic between test namespaces and from the host's 127.0.0.1: pings on a
//! shared bridge, icc=false isolation with links, published ports.
//! Packets go only to 127.0.0.1 and to addresses of namespaces made here.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use berth_net::{parse_publish, teardown, Error, Proto};
use common::*;

#[test]
fn two_containers_ping_each_other() {
    if !can_run("two_containers_ping_each_other") {
        return;
    }
    let mut env = Env::new(20, 24);
    let (a, b) = (Netns::new(), Netns::new());
    let (pa, _) = env.start("p1", &env.config(), &a);
    let (pb, _) = env.start("p2", &env.config(), &b);
    assert!(a.ping(pb.ip().unwrap()), "a cannot reach b");
    assert!(b.ping(pa.ip().unwrap()), "b cannot reach a");
}

#[test]
fn icc_false_isolates_but_gateway_and_links_work() {
    if !can_run("icc_false_isolates_but_gateway_and_links_work") {
        return;
    }
    let mut env = Env::new(21, 24);
    let (a, b, c) = (Netns::new(), Netns::new(), Netns::new());
    let mut cfg = env.config();
    cfg.icc = false;
    let (pa, _) = env.start("i1", &cfg, &a);
    let (pb, _) = env.start("i2", &cfg, &b);
    // c links to a under the alias "db".
    let mut linked = cfg.clone();
    linked.links = vec![("i1".into(), "db".into())];
    let (pc, _) = env.start("i3", &linked, &c);
    let (ia, ib, ic) = (pa.ip().unwrap(), pb.ip().unwrap(), pc.ip().unwrap());

    assert!(!a.ping(ib), "icc=false: a reached b");
    assert!(!b.ping(ia), "icc=false: b reached a");
    assert!(!c.ping(ib), "icc=false: c reached b");
    assert!(
        a.ping(env.gateway()) && b.ping(env.gateway()),
        "gateway must still answer"
    );
    assert!(c.ping(ia), "linked pair c -> a blocked");
    assert!(a.ping(ic), "linked pair a -> c blocked");
    let hosts = std::fs::read_to_string(&pc.hosts_file).unwrap();
    assert!(hosts.lines().any(|l| l == format!("{ia}\tdb")), "{hosts}");

    // Removing b's rules only: a and c keep theirs.
    teardown(&env.root, "i2").unwrap();
    let comments = nft_comments("bridge");
    assert!(!comments.iter().any(|c| c == "berth:i2"));
    assert!(comments.iter().any(|c| c == "berth:i1") && comments.iter().any(|c| c == "berth:i3"));
    teardown(&env.root, "i1").unwrap();
    teardown(&env.root, "i3").unwrap();
    assert!(!nft_comments("bridge")
        .iter()
        .any(|c| c.starts_with("berth:i")));
}

fn http_get(port: u16) -> std::io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

/// Serves a page from busybox httpd on `port` inside `ns`.
fn serve(ns: &mut Netns, dir: &std::path::Path, port: u16, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("index.html"), text).unwrap();
    ns.spawn(&[
        "busybox",
        "httpd",
        "-f",
        "-p",
        &port.to_string(),
        "-h",
        dir.to_str().unwrap(),
    ]);
}

fn get_eventually(port: u16, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http_get(port) {
            Ok(body) if body.contains(want) => return body,
            other => {
                if Instant::now() > deadline {
                    panic!("127.0.0.1:{port} never served {want:?}: {other:?}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn published_port_answers_on_localhost_and_goes_away() {
    if !can_run("published_port_answers_on_localhost_and_goes_away") {
        return;
    }
    let mut env = Env::new(22, 24);
    let mut ns = Netns::new();
    let peer = Netns::new();
    let host_port = 49931;
    let mut cfg = env.config();
    cfg.publish = vec![parse_publish(&format!("{host_port}:8080")).unwrap()];
    cfg.icc = false;
    let (p, a) = env.start("w1", &cfg, &ns);
    assert_eq!(a.ports.len(), 1);
    assert_eq!(a.ports[0].host_port, host_port);
    serve(
        &mut ns,
        &env.state_dir("w1").join("www"),
        8080,
        "hello from w1",
    );
    get_eventually(host_port, "hello from w1");
    assert_eq!(
        nft_comments("ip")
            .iter()
            .filter(|c| *c == "berth:w1")
            .count(),
        2
    );

    // Another container (even with icc=false) reaches the published port through its gateway.
    env.start("w2", &env.config(), &peer);
    // The container itself reaches its own published port through the gateway (hairpin).
    let own = ns.http_get(env.gateway(), host_port).unwrap_or_default();
    assert!(own.contains("hello from w1"), "hairpin: {own:?}");
    let body = peer.http_get(env.gateway(), host_port).unwrap_or_default();
    assert!(body.contains("hello from w1"), "via gateway: {body:?}");
    // ... but not the container directly.
    let direct = peer.http_get(p.ip().unwrap(), 8080);
    assert_eq!(direct, None, "icc=false container was reachable directly");

    // A second container asking for the same host port is refused, leaving nothing.
    let mut clash = env.config();
    clash.publish = vec![parse_publish(&format!("{host_port}:80")).unwrap()];
    let e = env.prepare("w3", &clash).unwrap_err();
    assert!(
        matches!(e, Error::PortInUse { port, .. } if port == host_port),
        "{e}"
    );
    assert!(e.to_string().contains("w1"), "{e}");
    assert_eq!(env.leases().len(), 2);

    teardown(&env.root, "w1").unwrap();
    assert!(
        !nft_comments("ip").iter().any(|c| c == "berth:w1"),
        "rules left after teardown"
    );
    assert!(http_get(host_port)
        .map(|b| !b.contains("hello from w1"))
        .unwrap_or(true));
}

#[test]
fn publish_all_and_host_port_in_use() {
    if !can_run("publish_all_and_host_port_in_use") {
        return;
    }
    let mut env = Env::new(23, 24);
    let mut ns = Netns::new();
    // A port some host process holds is refused.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = holder.local_addr().unwrap().port();
    let mut cfg = env.config();
    cfg.publish = vec![parse_publish(&format!("{busy}:80")).unwrap()];
    let e = env.prepare("q0", &cfg).unwrap_err();
    assert!(
        matches!(e, Error::PortInUse { .. }) && e.to_string().contains(&busy.to_string()),
        "{e}"
    );
    assert!(env.leases().is_empty());

    // -P maps every exposed port into 49000-49900.
    let mut cfg = env.config();
    cfg.publish_all = true;
    cfg.expose = vec![(8081, Proto::Tcp), (8082, Proto::Tcp), (5353, Proto::Udp)];
    // An explicit mapping bound to 127.0.0.1 only, next to the automatic ones.
    cfg.publish = vec![parse_publish("127.0.0.1:49932:8082").unwrap()];
    let (_, a) = env.start("q1", &cfg, &ns);
    assert_eq!(a.ports.len(), 3, "{:?}", a.ports);
    let fixed = a.ports.iter().find(|p| p.host_port == 49932).unwrap();
    assert_eq!(fixed.host_ip, Some(Ipv4Addr::LOCALHOST));
    for p in a.ports.iter().filter(|p| p.host_port != 49932) {
        assert!((49000..=49900).contains(&p.host_port), "{p:?}");
        assert_eq!(p.host_ip, None);
    }
    let auto = a
        .ports
        .iter()
        .find(|p| p.proto == Proto::Tcp && p.host_port != 49932)
        .unwrap();
    assert_eq!(auto.container_port, 8081);
    serve(
        &mut ns,
        &env.state_dir("q1").join("www1"),
        8081,
        "published all",
    );
    serve(
        &mut ns,
        &env.state_dir("q1").join("www2"),
        8082,
        "published fixed",
    );
    get_eventually(auto.host_port, "published all");
    get_eventually(49932, "published fixed");
    assert_eq!(
        nft_comments("ip")
            .iter()
            .filter(|c| *c == "berth:q1")
            .count(),
        6
    );
    teardown(&env.root, "q1").unwrap();
    assert!(!nft_comments("ip").iter().any(|c| c == "berth:q1"));
}
