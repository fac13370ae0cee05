//! Networking of real containers through the `berth` binary: `berth spec`
//! network flags, `create`/`delete` bringing the network up and down, and
//! `berth network`. Each test has its own bridge and subnet (10.231.4x.0/24).
//! Packets go only to 127.0.0.1 and to addresses of the test's containers.

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Env};
use serde_json::{json, Value};

/// An [`Env`] plus the bridges its test made: on drop, containers are
/// deleted first, then the bridges removed (with `berth network rm`, and
/// `ip link del` should that fail), so no test leaves an interface behind.
struct Net {
    env: Env,
    bridges: Vec<String>,
}

impl Net {
    fn new(name: &str, bridges: &[&str]) -> Net {
        let net = Net {
            env: Env::new(name),
            bridges: bridges.iter().map(|b| b.to_string()).collect(),
        };
        // A bridge left by an earlier, killed run would keep its old subnet.
        for b in &net.bridges {
            let _ = Command::new("ip")
                .args(["link", "del", b])
                .stderr(Stdio::null())
                .status();
        }
        net
    }

    /// Runs `berth spec` with `flags` into bundle dir `name`, then points the
    /// config at the shared busybox rootfs (read-only), no terminal, runs
    /// `args`, mounts a tmpfs on /tmp and adds CAP_NET_RAW for busybox ping.
    fn spec(&self, name: &str, flags: &[&str], args: &[&str]) -> PathBuf {
        self.spec_with(name, flags, args, |_| {})
    }

    fn spec_with(
        &self,
        name: &str,
        flags: &[&str],
        args: &[&str],
        edit: impl FnOnce(&mut Value),
    ) -> PathBuf {
        let bundle = self.env.dir.join(name);
        std::fs::create_dir_all(&bundle).unwrap();
        let mut a = vec!["spec", "-b", bundle.to_str().unwrap()];
        a.extend_from_slice(flags);
        self.env.ok(&a);
        let path = bundle.join("config.json");
        let mut spec: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        spec["root"] = json!({ "path": common::rootfs(), "readonly": true });
        spec["process"]["terminal"] = json!(false);
        spec["process"]["args"] = json!(args);
        for set in ["bounding", "effective", "permitted"] {
            if let Some(list) = spec["process"]["capabilities"][set].as_array_mut() {
                list.push(json!("CAP_NET_RAW"));
            }
        }
        // A writable /tmp, as the common test spec has (the rootfs is read-only).
        spec["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]
        }));
        edit(&mut spec);
        std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
        bundle
    }

    /// `berth run` in the foreground: the container's output and exit code.
    fn run(&self, bundle: &Path, id: &str) -> Output {
        self.env.run(&["run", "-b", bundle.to_str().unwrap(), id])
    }

    /// `berth create` + `start` of a long-running container; its stdio goes
    /// nowhere, so no pipe of ours is held open. Returns the init pid.
    fn start(&self, bundle: &Path, id: &str) -> i64 {
        let out = self.create(bundle, id);
        assert!(out.status.success(), "create {id}: {}", stderr(&out));
        self.env.ok(&["start", id]);
        self.env.state(id)["pid"].as_i64().unwrap()
    }

    /// `berth create`, with the container's stdio on /dev/null and berth's
    /// stderr captured through a file.
    fn create(&self, bundle: &Path, id: &str) -> Output {
        let err_path = self.env.dir.join(format!("{id}.create.err"));
        let err = std::fs::File::create(&err_path).unwrap();
        let status = self
            .env
            .cmd(&["create", "-b", bundle.to_str().unwrap(), id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err)
            .status()
            .unwrap();
        Output {
            status,
            stdout: Vec::new(),
            stderr: std::fs::read(&err_path).unwrap(),
        }
    }

    fn inspect(&self, bridge: &str) -> Value {
        serde_json::from_str(&self.env.ok(&["network", "inspect", bridge])).unwrap()
    }

    /// The address `id` holds on `bridge`, per `berth network inspect`.
    fn ip_of(&self, bridge: &str, id: &str) -> Ipv4Addr {
        let v = self.inspect(bridge);
        let c = v["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id);
        c.unwrap_or_else(|| panic!("{id} not on {bridge}: {v}"))["ip"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    fn net_file(&self, rel: &str) -> PathBuf {
        self.env.root.join("net").join(rel)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.env.root) {
            for e in entries.flatten() {
                if e.path().join("state.json").exists() {
                    let id = e.file_name().to_string_lossy().into_owned();
                    let _ = self.env.cmd(&["delete", "-f", &id]).output();
                }
            }
        }
        for b in &self.bridges {
            let ok = self
                .env
                .cmd(&["network", "rm", b])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !ok {
                let _ = Command::new("ip")
                    .args(["link", "del", b])
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

fn host_links() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Interface names in `ip -o link` output (`2: eth0@if9: <...>`).
fn link_names(ip_o_link: &str) -> Vec<String> {
    let mut v: Vec<String> = ip_o_link
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn nft_ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether an nft rule is tagged with container `id` (comment "berth:<id>").
fn nft_mentions(id: &str) -> bool {
    nft_ruleset().contains(&format!("\"berth:{id}\""))
}

fn host_veth(id: &str) -> String {
    berth_net::veth::names(id).0
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// Retries [`http_get`] until the body holds `want` (the server may still be starting).
fn http_get_until(port: u16, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = http_get(port);
        match &got {
            Ok(body) if body.contains(want) => return body.clone(),
            _ if Instant::now() > deadline => {
                panic!("127.0.0.1:{port} never served {want:?}: {got:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A busybox httpd serving `text` on port 8080 (files on the container's /tmp).
fn httpd(text: &str) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        format!("mkdir -p /tmp/www && echo {text} > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"),
    ]
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn bip_bridge_gives_eth0_second_address_and_default_route() {
    require_root!();
    let n = Net::new("net-bip", &["br-t40"]);
    let b = n.spec(
        "b",
        &["--bridge", "br-t40", "--bip", "10.231.40.1/24"],
        &["sh", "-c", "ip -4 addr show eth0; ip route"],
    );
    let out = n.run(&b, "bip1");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("inet 10.231.40.2/24"), "{text}");
    assert!(
        text.lines().any(|l| l
            .trim_start()
            .starts_with("default via 10.231.40.1 dev eth0")),
        "{text}"
    );
    // The host side: the bridge carries the gateway address.
    let br = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "br-t40"])
        .output()
        .unwrap();
    assert!(
        stdout(&br).contains("inet 10.231.40.1/24"),
        "{}",
        stdout(&br)
    );
    // `run` deleted the container, and with it the lease and the veth.
    let st: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("bridges/br-t40.json")).unwrap()).unwrap();
    assert_eq!(st["leases"], json!([]), "{st}");
    assert!(!link_exists(&host_veth("bip1")));
}

#[test]
fn containers_on_one_bridge_reach_each_other_by_address_and_link_alias() {
    require_root!();
    let n = Net::new("net-ping", &["br-t41"]);
    // The issue's own example subnet: a custom 192.168.0.0/24 bridge.
    let flags = ["--bridge", "br-t41", "--subnet", "192.168.0.0/24"];
    let a = n.spec("a", &flags, &["sleep", "60"]);
    n.start(&a, "pa");
    let b = n.spec("b", &flags, &["sleep", "60"]);
    n.start(&b, "pb");
    let (ia, ib) = (n.ip_of("br-t41", "pa"), n.ip_of("br-t41", "pb"));
    assert_eq!(ia, Ipv4Addr::new(192, 168, 0, 2));
    assert_eq!(ib, Ipv4Addr::new(192, 168, 0, 3));
    let v = n.inspect("br-t41");
    assert_eq!(v["subnet"], "192.168.0.0/24");
    assert_eq!(v["gateway"], "192.168.0.1");
    let pa = &v["containers"][0];
    assert_eq!(pa["host_veth"], host_veth("pa"));
    assert!(pa["mac"].as_str().unwrap().len() == 17, "{v}");

    let mut cflags = flags.to_vec();
    cflags.extend(["--link", "pa:db"]);
    let c = n.spec(
        "c",
        &cflags,
        &[
            "sh",
            "-c",
            &format!("ping -c1 -W2 {ia} && ping -c1 -W2 {ib} && ping -c1 -W2 db && echo reached"),
        ],
    );
    let out = n.run(&c, "pc");
    assert!(
        out.status.success() && stdout(&out).contains("reached"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn icc_false_blocks_containers_but_links_and_published_ports_work() {
    require_root!();
    let n = Net::new("net-icc", &["br-t42"]);
    let flags = [
        "--bridge",
        "br-t42",
        "--subnet",
        "10.231.42.0/24",
        "--icc=false",
    ];
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let mut aflags = flags.to_vec();
    aflags.extend(["-p", &publish]);
    let a = n.spec("a", &aflags, &as_strs(&httpd("icc-served")));
    n.start(&a, "ia");
    let ia = n.ip_of("br-t42", "ia");

    let b = n.spec(
        "b",
        &flags,
        &[
            "sh",
            "-c",
            &format!("ping -c1 -W2 {ia} && echo reached || echo blocked"),
        ],
    );
    let out = n.run(&b, "ib");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim().lines().last(),
        Some("blocked"),
        "icc=false: b reached a: {}",
        stdout(&out)
    );

    let mut cflags = flags.to_vec();
    cflags.extend(["--link", "ia:web"]);
    let c = n.spec(
        "c",
        &cflags,
        &[
            "sh",
            "-c",
            "ping -c1 -W2 web && echo reached || echo blocked",
        ],
    );
    let out = n.run(&c, "ic");
    assert_eq!(
        stdout(&out).trim().lines().last(),
        Some("reached"),
        "linked pair blocked: {}{}",
        stdout(&out),
        stderr(&out)
    );

    let body = http_get_until(port, "icc-served");
    assert!(body.starts_with("HTTP/1."), "{body}");
}

#[test]
fn published_port_answers_on_localhost_and_goes_away_on_delete() {
    require_root!();
    let n = Net::new("net-pub", &["br-t43"]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let a = n.spec(
        "a",
        &[
            "--bridge",
            "br-t43",
            "--subnet",
            "10.231.43.0/24",
            "-p",
            &publish,
        ],
        &as_strs(&httpd("hello-berth")),
    );
    n.start(&a, "web1");
    let body = http_get_until(port, "hello-berth");
    assert!(
        body.starts_with("HTTP/1.") && body.contains("200"),
        "{body}"
    );
    let ports: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("ports.json")).unwrap()).unwrap();
    assert!(
        ports
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["port"] == port && p["id"] == "web1"),
        "{ports}"
    );
    assert!(nft_mentions("web1"));

    // A second container cannot take the same host port; it leaves nothing.
    let b = n.spec(
        "b",
        &["--bridge", "br-t43", "-p", &publish],
        &["sleep", "60"],
    );
    let out = n.create(&b, "web2");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&port.to_string()) && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!n.env.root.join("web2").exists() && !n.net_file("containers/web2.json").exists());
    assert!(!nft_mentions("web2") && !link_exists(&host_veth("web2")));

    n.env.ok(&["delete", "-f", "web1"]);
    assert!(
        http_get(port).is_err(),
        "port {port} still answers after delete"
    );
    let ports: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("ports.json")).unwrap()).unwrap();
    assert_eq!(ports, json!([]));
    assert!(!nft_mentions("web1"), "{}", nft_ruleset());
}

#[test]
fn hosts_and_resolv_conf_are_generated() {
    require_root!();
    let n = Net::new("net-files", &["br-t44"]);
    let base = ["--bridge", "br-t44", "--subnet", "10.231.44.0/24"];
    let a = n.spec("a", &base, &["sleep", "60"]);
    n.start(&a, "fa");
    let ia = n.ip_of("br-t44", "fa");
    let mut flags = base.to_vec();
    flags.extend([
        "-h",
        "web",
        "--link",
        "fa:db",
        "--add-host",
        "mirror:10.1.2.3",
        "--dns",
        "10.0.0.53",
        "--dns-search",
        "example.com",
        "--dns-option",
        "ndots:2",
    ]);
    let b = n.spec(
        "b",
        &flags,
        &[
            "sh",
            "-c",
            "hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf",
        ],
    );
    let out = n.run(&b, "fb");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let parts: Vec<&str> = text.split("---\n").collect();
    assert_eq!(parts[0].trim(), "web");
    let hosts = parts[1];
    assert!(
        hosts.lines().any(|l| l == "127.0.0.1\tlocalhost"),
        "{hosts}"
    );
    assert!(hosts.lines().any(|l| l == "10.231.44.3\tweb"), "{hosts}");
    assert!(hosts.lines().any(|l| l == format!("{ia}\tdb")), "{hosts}");
    assert!(hosts.lines().any(|l| l == "10.1.2.3\tmirror"), "{hosts}");
    let resolv = parts[2];
    assert!(
        resolv.lines().any(|l| l == "nameserver 10.0.0.53"),
        "{resolv}"
    );
    assert!(
        resolv.lines().any(|l| l == "search example.com"),
        "{resolv}"
    );
    assert!(resolv.lines().any(|l| l == "options ndots:2"), "{resolv}");
    assert!(!resolv.contains("127.0.0."), "{resolv}");

    // config.json mounting /etc/hosts itself wins over the generated file.
    let own = n.env.dir.join("own-hosts");
    std::fs::write(&own, "10.9.9.9\tmine\n").unwrap();
    let c = n.spec_with(
        "c",
        &flags,
        &["sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf"],
        |s| {
            s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/etc/hosts", "type": "bind", "source": own, "options": ["rbind", "ro"]
        }));
        },
    );
    let out = n.run(&c, "fc");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (hosts, resolv) = text.split_once("---\n").unwrap();
    assert_eq!(hosts, "10.9.9.9\tmine\n");
    assert!(resolv.contains("nameserver 10.0.0.53"), "{resolv}");
}

#[test]
fn none_mode_has_only_loopback() {
    require_root!();
    let n = Net::new("net-none", &[]);
    let b = n.spec(
        "b",
        &["--network", "none"],
        &["sh", "-c", "ip -o link; echo ---; ip -o -4 addr"],
    );
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["annotations"]["berth.network.mode"], "none");
    let out = n.run(&b, "none1");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (links, addrs) = text.split_once("---\n").unwrap();
    assert_eq!(link_names(links), vec!["lo"], "{text}");
    assert!(links.contains("UP"), "lo is down: {links}");
    assert!(addrs.contains("127.0.0.1/8"), "{addrs}");
    assert!(!link_exists(&host_veth("none1")));
}

#[test]
fn host_mode_sees_the_hosts_interfaces() {
    require_root!();
    let n = Net::new("net-host", &[]);
    let b = n.spec(
        "b",
        &["--network", "host"],
        &["sh", "-c", "stat -L -c %i /proc/self/ns/net; ip -o link"],
    );
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert!(
        !cfg["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|ns| ns["type"] == "network"),
        "{cfg}"
    );
    let before = host_links();
    let out = n.run(&b, "host1");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (ino, links) = text.split_once('\n').unwrap();
    let host_ino = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert_eq!(ino.trim().parse::<u64>().unwrap(), host_ino);
    let inside = link_names(links);
    // Other tests may add or remove links meanwhile: the stable ones must match.
    for l in ["lo"].iter().map(|s| s.to_string()).chain(
        before
            .into_iter()
            .filter(|l| !l.starts_with("vb") && !l.starts_with("br-t")),
    ) {
        assert!(inside.contains(&l), "{l} missing inside: {inside:?}");
    }
}

#[test]
fn container_mode_shares_the_network_namespace() {
    require_root!();
    let n = Net::new("net-share", &["br-t45"]);
    let a = n.spec(
        "a",
        &["--bridge", "br-t45", "--subnet", "10.231.45.0/24"],
        &["sleep", "60"],
    );
    let pid = n.start(&a, "sa");
    let want = std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .unwrap()
        .ino();
    let b = n.spec(
        "b",
        &["--network", "container:sa"],
        &[
            "sh",
            "-c",
            "stat -L -c %i /proc/self/ns/net; ip -o -4 addr show eth0",
        ],
    );
    let out = n.run(&b, "sb");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap().parse::<u64>().unwrap(), want);
    assert!(
        lines.next().unwrap_or("").contains("inet 10.231.45.2/24"),
        "{text}"
    );
    // Deleting a sharer leaves the owner's network alone.
    let out = n.create(&b, "sc");
    assert!(out.status.success(), "{}", stderr(&out));
    n.env.ok(&["delete", "-f", "sc"]);
    assert!(link_exists(&host_veth("sa")));
    assert_eq!(n.ip_of("br-t45", "sa"), Ipv4Addr::new(10, 231, 45, 2));
    assert!(nft_ruleset().contains("berth-bridge:br-t45"));
    let bad = n.spec("bad", &["--network", "container:nosuch"], &["true"]);
    let out = n.create(&bad, "sd");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
    assert!(!n.env.root.join("sd").exists() && !n.net_file("containers/sd.json").exists());
}

#[test]
fn delete_removes_veth_lease_and_rules() {
    require_root!();
    let n = Net::new("net-del", &["br-t46"]);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let a = n.spec(
        "a",
        &[
            "--bridge",
            "br-t46",
            "--subnet",
            "10.231.46.0/24",
            "-p",
            &publish,
            "--icc=false",
        ],
        &["sleep", "60"],
    );
    n.start(&a, "d1");
    let veth = host_veth("d1");
    assert!(link_exists(&veth));
    assert!(nft_mentions("d1"));
    assert!(n.net_file("containers/d1.json").exists());
    let st = std::fs::read_to_string(n.net_file("bridges/br-t46.json")).unwrap();
    assert!(st.contains("\"d1\""), "{st}");

    n.env.ok(&["delete", "-f", "d1"]);
    assert!(!link_exists(&veth), "veth {veth} left behind");
    assert!(!nft_mentions("d1"), "{}", nft_ruleset());
    assert!(!n.net_file("containers/d1.json").exists());
    let st: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("bridges/br-t46.json")).unwrap()).unwrap();
    assert_eq!(st["leases"], json!([]));
    let ports: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("ports.json")).unwrap()).unwrap();
    assert_eq!(ports, json!([]));
    // The address is free again.
    n.start(&a, "d2");
    assert_eq!(n.ip_of("br-t46", "d2"), Ipv4Addr::new(10, 231, 46, 2));
}

#[test]
fn failed_create_leaves_nothing_behind() {
    require_root!();
    let n = Net::new("net-fail", &["br-t47"]);
    let flags = [
        "--bridge",
        "br-t47",
        "--subnet",
        "10.231.47.0/24",
        "--ip",
        "10.231.47.5",
    ];
    let a = n.spec("a", &flags, &["sleep", "60"]);
    n.start(&a, "f1");
    assert_eq!(n.ip_of("br-t47", "f1"), Ipv4Addr::new(10, 231, 47, 5));
    let before = std::fs::read_to_string(n.net_file("bridges/br-t47.json")).unwrap();

    // Taken static address: refused in prepare.
    let out = n.create(&a, "f2");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("10.231.47.5") && err.trim().lines().count() == 1,
        "{err}"
    );
    let check_gone = |id: &str| {
        assert!(!n.env.root.join(id).exists(), "{id}: state dir left");
        assert!(
            !n.net_file(&format!("containers/{id}.json")).exists(),
            "{id}: record left"
        );
        assert!(!link_exists(&host_veth(id)), "{id}: veth left");
        assert!(!nft_mentions(id), "{id}: nft rule left");
    };
    check_gone("f2");
    assert_eq!(
        std::fs::read_to_string(n.net_file("bridges/br-t47.json")).unwrap(),
        before
    );

    // Failure after the network is attached (a createRuntime hook fails):
    // veth, rules, lease and published port are undone.
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    let h = n.spec_with(
        "h",
        &["--bridge", "br-t47", "-p", &publish, "--icc=false"],
        &["sleep", "60"],
        |s| {
            s["hooks"] = json!({ "createRuntime": [{ "path": "/bin/false" }] });
        },
    );
    let out = n.create(&h, "f3");
    assert_eq!(out.status.code(), Some(1), "hook failure must fail create");
    check_gone("f3");
    assert_eq!(
        std::fs::read_to_string(n.net_file("bridges/br-t47.json")).unwrap(),
        before
    );
    let ports: Value = serde_json::from_slice(
        &std::fs::read(n.net_file("ports.json")).unwrap_or_else(|_| b"[]".to_vec()),
    )
    .unwrap();
    assert_eq!(ports, json!([]));

    // A link to a container that does not exist.
    let l = n.spec(
        "l",
        &["--bridge", "br-t47", "--link", "ghost:db"],
        &["true"],
    );
    let out = n.create(&l, "f4");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ghost"), "{}", stderr(&out));
    check_gone("f4");
    assert_eq!(
        std::fs::read_to_string(n.net_file("bridges/br-t47.json")).unwrap(),
        before
    );
}

#[test]
fn spec_rejects_bad_network_flags_with_one_line() {
    require_root!();
    let n = Net::new("net-badflags", &[]);
    for (flags, named) in [
        (&["-p", "70000:80"][..], "70000:80"),
        (&["-p", "a:b"], "a:b"),
        (&["--subnet", "10.0.0.0/33"], "10.0.0.0/33"),
        (&["--bip", "10.231.48.0/24"], "10.231.48.0/24"),
        (&["--bridge", "a-very-long-bridge0"], "a-very-long-bridge0"),
        (&["--network", "bridged"], "bridged"),
        (&["--ip", "10.1"], "10.1"),
        (&["-p", "8080:80", "-p", "8080:81"], "8080"),
    ] {
        let dir = n.env.dir.join("bad");
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = vec!["spec", "-b", dir.to_str().unwrap()];
        a.extend_from_slice(flags);
        let out = n.env.run(&a);
        assert_eq!(out.status.code(), Some(1), "{flags:?}");
        let err = stderr(&out);
        assert!(
            err.contains(named) && err.trim().lines().count() == 1,
            "{flags:?}: {err}"
        );
        assert!(
            !dir.join("config.json").exists(),
            "{flags:?}: config written"
        );
    }
    // No network flag: no annotation, the runc default namespace list.
    let b = n.spec("plain", &[], &["true"]);
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    let ann = cfg["annotations"].as_object().cloned().unwrap_or_default();
    assert!(
        ann.keys().all(|k| !k.starts_with("berth.network.")),
        "{cfg}"
    );
    assert!(cfg["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|ns| ns["type"] == "network"));
}

#[test]
fn network_create_ls_inspect_rm() {
    require_root!();
    let n = Net::new("net-cli", &["br-t49"]);
    n.env
        .ok(&["network", "create", "--subnet", "10.231.49.0/24", "br-t49"]);
    assert!(link_exists("br-t49"));
    let ls = n.env.ok(&["network", "ls"]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("br-t49") && l.contains("10.231.49.0/24")),
        "{ls}"
    );
    assert_eq!(n.env.ok(&["network", "ls", "-q"]).trim(), "br-t49");
    let a = n.spec("a", &["--bridge", "br-t49"], &["sleep", "60"]);
    n.start(&a, "n1");
    let v = n.inspect("br-t49");
    assert_eq!(v["name"], "br-t49");
    assert_eq!(v["gateway"], "10.231.49.1");
    assert_eq!(v["containers"][0]["id"], "n1");
    assert_eq!(v["containers"][0]["ip"], "10.231.49.2");
    // In use: refused, bridge kept.
    let out = n.env.run(&["network", "rm", "br-t49"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("n1"), "{}", stderr(&out));
    assert!(link_exists("br-t49"));
    n.env.ok(&["delete", "-f", "n1"]);
    n.env.ok(&["network", "rm", "br-t49"]);
    assert!(!link_exists("br-t49"));
    assert!(!nft_ruleset().contains("berth-bridge:br-t49"));
    assert_eq!(
        n.env.run(&["network", "inspect", "br-t49"]).status.code(),
        Some(1)
    );
    // Bad input.
    for args in [
        &["network", "create", "--subnet", "10.231.49.1/24", "br-t49"][..],
        &[
            "network",
            "create",
            "--subnet",
            "10.231.49.0/24",
            "a-very-long-bridge0",
        ],
        &["network", "create", "--subnet", "nonsense", "br-t49"],
    ] {
        let out = n.env.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&out).trim().lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert!(!link_exists("br-t49") && !link_exists("a-very-long-bridge0"));
}

#[test]
fn mode_and_namespace_list_must_agree() {
    require_root!();
    let n = Net::new("net-nsmode", &["br-t48"]);
    let host_before = host_links();
    // Bridge mode without a network namespace would configure the host's.
    let b = n.spec_with(
        "b",
        &["--bridge", "br-t48", "--subnet", "10.231.48.0/24"],
        &["true"],
        |s| {
            s["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|ns| ns["type"] != "network");
        },
    );
    let out = n.create(&b, "m1");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no network namespace"),
        "{}",
        stderr(&out)
    );
    // Host mode with a new network namespace is refused too.
    let h = n.spec_with("h", &["--network", "host"], &["true"], |s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "network" }));
    });
    let out = n.create(&h, "m2");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("mode=host"), "{}", stderr(&out));
    for id in ["m1", "m2"] {
        assert!(
            !n.env.root.join(id).exists() && !n.net_file(&format!("containers/{id}.json")).exists()
        );
        assert!(!link_exists(&host_veth(id)));
    }
    assert!(
        !link_exists("br-t48"),
        "bridge made for a refused container"
    );
    assert_eq!(host_links(), host_before);
}

#[test]
fn network_created_with_icc_false_isolates_its_containers() {
    require_root!();
    let n = Net::new("net-icc-net", &["br-t50"]);
    n.env.ok(&[
        "network",
        "create",
        "--subnet",
        "10.231.50.0/24",
        "--icc=false",
        "br-t50",
    ]);
    assert_eq!(n.inspect("br-t50")["icc"], false);
    let a = n.spec("a", &["--bridge", "br-t50"], &["sleep", "60"]);
    n.start(&a, "ni1");
    let ia = n.ip_of("br-t50", "ni1");
    let b = n.spec(
        "b",
        &["--bridge", "br-t50"],
        &[
            "sh",
            "-c",
            &format!("ping -c1 -W2 {ia} && echo reached || echo blocked"),
        ],
    );
    let out = n.run(&b, "ni2");
    assert_eq!(
        stdout(&out).trim().lines().last(),
        Some("blocked"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn concurrent_creates_get_distinct_addresses_and_delete_cleans_all() {
    require_root!();
    const N: usize = 50;
    let n = Net::new("net-many", &["br-t51"]);
    let b = n.spec(
        "b",
        &[
            "--bridge",
            "br-t51",
            "--subnet",
            "10.231.51.0/24",
            "-p",
            "8080",
        ],
        &["sleep", "60"],
    );
    let ids: Vec<String> = (0..N).map(|i| format!("many{i}")).collect();
    // Each berth's stderr goes to a file: a created container keeps its
    // stdio (inherited from create) open, so a pipe would never see EOF.
    let children: Vec<_> = ids
        .iter()
        .map(|id| {
            let err = std::fs::File::create(n.env.dir.join(format!("{id}.err"))).unwrap();
            n.env
                .cmd(&["create", "-b", b.to_str().unwrap(), id])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .spawn()
                .unwrap()
        })
        .collect();
    for (mut c, id) in children.into_iter().zip(&ids) {
        let status = c.wait().unwrap();
        let err = std::fs::read_to_string(n.env.dir.join(format!("{id}.err"))).unwrap();
        assert!(status.success(), "create {id}: {err}");
    }
    let v = n.inspect("br-t51");
    let mut ips: Vec<String> = v["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["ip"].as_str().unwrap().to_string())
        .collect();
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), N, "{v}");
    let ports: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("ports.json")).unwrap()).unwrap();
    let mut hp: Vec<u64> = ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    hp.sort();
    hp.dedup();
    assert_eq!(hp.len(), N, "{ports}");
    for id in &ids {
        assert!(link_exists(&host_veth(id)), "{id}: no veth");
    }
    let children: Vec<_> = ids
        .iter()
        .map(|id| {
            n.env
                .cmd(&["delete", "-f", id])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (c, id) in children.into_iter().zip(&ids) {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "delete {id}: {}", stderr(&out));
    }
    assert_eq!(n.inspect("br-t51")["containers"], json!([]));
    let ports: Value =
        serde_json::from_slice(&std::fs::read(n.net_file("ports.json")).unwrap()).unwrap();
    assert_eq!(ports, json!([]));
    let rules = nft_ruleset();
    for id in &ids {
        assert!(!link_exists(&host_veth(id)), "{id}: veth left");
        assert!(
            !rules.contains(&format!("\"berth:{id}\"")),
            "{id}: rule left"
        );
        assert!(!n.net_file(&format!("containers/{id}.json")).exists());
    }
}

// ---- linux.netDevices: host devices moved into the container (OCI config-linux
// "Network Devices"; runc's netdev.bats and userns.bats with a veth for `dummy`).

/// A bundle of the default spec running `script`, with CAP_NET_RAW (busybox
/// ping) and the devices `devices` under linux.netDevices.
fn net_devices_bundle(
    env: &Env,
    name: &str,
    devices: &[(&str, Option<&str>)],
    script: &str,
    edit: impl FnOnce(&mut Value),
) -> PathBuf {
    env.bundle(name, |s| {
        common::args(s, &["sh", "-c", script]);
        for set in ["bounding", "effective", "permitted"] {
            s["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_NET_RAW"));
        }
        common::net_devices(s, devices);
        edit(s);
    })
}

/// `ip address show dev NAME` in the output of a container, with the device's
/// sysfs `mtu`, `address` and `flags` after a marker line.
fn show_device(name: &str) -> String {
    format!(
        "echo == {name}; ip address show dev {name}; echo \"mtu=$(cat /sys/class/net/{name}/mtu) mac=$(cat /sys/class/net/{name}/address) flags=$(cat /sys/class/net/{name}/flags)\"; "
    )
}

/// The part of a container's output that [`show_device`] printed for `name`.
fn device_report<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("== {name}\n"))
        .unwrap_or_else(|| panic!("no report for {name}: {out}"));
    let rest = &out[start + 1..];
    &rest[..rest.find("\n==").map_or(rest.len(), |i| i + 1)]
}

/// Whether the `flags` sysfs value (hex) has IFF_UP.
fn is_up(report: &str) -> bool {
    let flags = report.split("flags=0x").nth(1).unwrap().trim();
    u32::from_str_radix(flags.split_whitespace().next().unwrap(), 16).unwrap() & 1 == 1
}

#[test]
fn net_devices_move_with_their_addresses_mtu_and_mac_plain_and_renamed() {
    require_root!();
    let env = Env::new("netdev-move");
    let a = common::HostDevice::new("a");
    let b = common::HostDevice::new("b");
    // a keeps its name; b becomes ctr_nd0. Each with its own MTU, MAC and addresses:
    // permanent global ones move (IPv4 and IPv6, flags the user chose kept),
    // others (127.x is host scope; a link-scope one) stay behind.
    common::ip(&[
        "link",
        "set",
        &a.name,
        "mtu",
        "1789",
        "address",
        "02:42:0a:e7:3d:01",
    ]);
    common::ip(&["address", "add", "10.231.61.1/24", "dev", &a.name]);
    common::ip(&[
        "address",
        "add",
        "fd00:231:61::1/64",
        "dev",
        &a.name,
        "nodad",
    ]);
    common::ip(&["address", "add", "127.0.0.33/8", "dev", &a.name]);
    common::ip(&[
        "address",
        "add",
        "10.231.63.1/24",
        "dev",
        &a.name,
        "scope",
        "link",
    ]);
    common::ip(&[
        "link",
        "set",
        &b.name,
        "mtu",
        "1400",
        "address",
        "02:42:0a:e7:3d:02",
    ]);
    common::ip(&[
        "address",
        "add",
        "10.231.62.1/24",
        "dev",
        &b.name,
        "noprefixroute",
    ]);
    // a's peer answers pings: the moved device really carries traffic.
    common::ip(&[
        "-n",
        &a.netns,
        "address",
        "add",
        "10.231.61.2/24",
        "dev",
        &a.peer,
    ]);
    common::ip(&["-n", &a.netns, "link", "set", &a.peer, "up"]);

    let script = format!(
        "{}{}echo ==; ip route; ping -c1 -W5 10.231.61.2 >/dev/null && echo ping-ok",
        show_device(&a.name),
        show_device("ctr_nd0")
    );
    let bundle = net_devices_bundle(
        &env,
        "b",
        &[(&a.name, None), (&b.name, Some("ctr_nd0"))],
        &script,
        |_| {},
    );
    let out = env.run(&["run", "-b", bundle.to_str().unwrap(), "nd-move"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));

    let ra = device_report(&text, &a.name);
    assert!(ra.contains("mtu=1789 mac=02:42:0a:e7:3d:01"), "{ra}");
    assert!(ra.contains("inet 10.231.61.1/24 "), "{ra}");
    let v6 = ra
        .lines()
        .find(|l| l.contains("inet6 fd00:231:61::1/64 scope global"));
    // nodad kept: busybox shows IFA_F_NODAD as "flags 02", and no duplicate
    // address detection makes it tentative.
    let v6 = v6.unwrap_or_else(|| panic!("no IPv6 address: {ra}"));
    assert!(v6.contains("flags 02") && !v6.contains("tentative"), "{ra}");
    assert!(
        !ra.contains("127.0.0.33") && !ra.contains("10.231.63.1"),
        "{ra}"
    );
    assert!(is_up(ra), "{ra}");
    let rb = device_report(&text, "ctr_nd0");
    assert!(rb.contains("mtu=1400 mac=02:42:0a:e7:3d:02"), "{rb}");
    assert!(
        rb.contains("inet 10.231.62.1/24 ") && rb.contains("noprefixroute"),
        "{rb}"
    );
    assert!(is_up(rb), "{rb}");
    // noprefixroute kept: no route to 10.231.62.0/24, the one to 10.231.61.0/24 there.
    assert!(text.contains("10.231.61.0/24 dev"), "{text}");
    assert!(!text.contains("10.231.62.0/24"), "{text}");
    assert!(text.contains("ping-ok"), "{text}");

    // The container is gone and so is its namespace. Nothing moves a device back
    // (the spec forbids it; runc does not): the kernel destroys virtual devices
    // with the namespace (a physical one would return to the host by itself).
    assert!(a.destroyed(), "{} outlived the container", a.name);
    assert!(b.destroyed(), "{} outlived the container", b.name);
    assert!(!a.on_host("ctr_nd0"));
}

#[test]
fn net_devices_in_a_namespace_joined_by_path_stay_there_after_delete() {
    require_root!();
    let env = Env::new("netdev-joined");
    let d = common::HostDevice::new("j");
    // The container's namespace is one the test made (runc's "precreated" tests):
    // here the peer's, so both ends of the pair meet in it.
    common::ip(&[
        "link",
        "set",
        &d.name,
        "mtu",
        "1789",
        "address",
        "00:11:22:33:44:55",
    ]);
    common::ip(&["address", "add", "169.254.169.77/32", "dev", &d.name]);
    let netns = format!("/run/netns/{}", d.netns);
    let bundle = net_devices_bundle(
        &env,
        "b",
        &[(&d.name, Some("ctr_dummy0"))],
        "sleep 600",
        |s| {
            for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "network" {
                    ns["path"] = json!(netns);
                }
            }
        },
    );
    env.ok(&["run", "-d", "-b", bundle.to_str().unwrap(), "nd-joined"]);
    let inside = env.ok(&[
        "exec",
        "nd-joined",
        "ip",
        "address",
        "show",
        "dev",
        "ctr_dummy0",
    ]);
    for want in [
        "mtu 1789 ",
        "ether 00:11:22:33:44:55 ",
        "inet 169.254.169.77/32 ",
    ] {
        assert!(inside.contains(want), "{want:?} not in {inside}");
    }
    assert!(!d.on_host(&d.name));
    env.ok(&["delete", "-f", "nd-joined"]);
    // The namespace's owner (the test) manages the device: it is still there,
    // renamed, with its address, MTU and MAC.
    let there = common::ip(&["-n", &d.netns, "address", "show", "dev", "ctr_dummy0"]);
    for want in [
        "mtu 1789 ",
        "ether 00:11:22:33:44:55 ",
        "inet 169.254.169.77/32 ",
    ] {
        assert!(there.contains(want), "{want:?} not in {there}");
    }
    // and the owner can take it back (runc's "restore it back").
    common::ip(&[
        "-n",
        &d.netns,
        "link",
        "set",
        "dev",
        "ctr_dummy0",
        "netns",
        &std::process::id().to_string(),
        "name",
        &d.name,
    ]);
    assert!(d.on_host(&d.name), "the device did not come back");
}

#[test]
fn net_devices_beside_berths_bridge_network() {
    require_root!();
    let n = Net::new("netdev-bridge", &["br-t60"]);
    let d = common::HostDevice::new("br");
    common::ip(&["address", "add", "10.231.64.1/24", "dev", &d.name]);
    let flags = ["--bridge", "br-t60", "--subnet", "10.231.60.0/24"];
    let script = format!("{}{}", show_device("eth0"), show_device("eth1"));
    let b = n.spec_with("b", &flags, &["sh", "-c", &script], |s| {
        common::net_devices(s, &[(&d.name, Some("eth1"))]);
    });
    let out = n.run(&b, "nd-br");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        device_report(&text, "eth0").contains("inet 10.231.60.2/24 "),
        "{text}"
    );
    assert!(
        device_report(&text, "eth1").contains("inet 10.231.64.1/24 "),
        "{text}"
    );
    assert!(d.destroyed());
    // eth0 is the bridge's: a device may not take that name.
    let d = common::HostDevice::new("br2");
    let c = n.spec_with("c", &flags, &["true"], |s| {
        common::net_devices(s, &[(&d.name, Some("eth0"))]);
    });
    let out = n.create(&c, "nd-br2");
    common::assert_one_line_error(&out, "linux.netDevices");
    assert!(
        stderr(&out).contains("already has a device named eth0"),
        "{}",
        stderr(&out)
    );
    assert!(d.on_host(&d.name) && !n.env.root.join("nd-br2").exists());
    assert_eq!(n.inspect("br-t60")["containers"], json!([]));
}

#[test]
fn bad_net_devices_are_refused_in_one_line_before_anything_is_made() {
    require_root!();
    let env = Env::new("netdev-bad");
    let d = common::HostDevice::new("bad");
    let other = common::HostDevice::new("bad2");
    common::ip(&["address", "add", "10.231.65.1/24", "dev", &d.name]);
    let taken = common::HostDevice::new("bad3"); // its netns holds a device named like the target below
    let joined = format!("/run/netns/{}", taken.netns);
    let own_netns = format!("/proc/{}/ns/net", std::process::id());
    let no_netns = |s: &mut Value| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|ns| ns["type"] != "network")
    };
    let join = |path: String| {
        move |s: &mut Value| {
            for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
                if ns["type"] == "network" {
                    ns["path"] = json!(path);
                }
            }
        }
    };
    type Devices<'a> = Vec<(&'a str, Option<&'a str>)>;
    type Edit<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let cases: Vec<(Devices, Edit, &str)> = vec![
        (
            vec![("ndnosuchdev0", None)],
            Box::new(|_| {}),
            "ndnosuchdev0: no such network device on the host",
        ),
        (
            vec![(&d.name, None)],
            Box::new(no_netns),
            "no network namespace of its own",
        ),
        (
            vec![(&d.name, None)],
            Box::new(join(own_netns)),
            "joined by path is the host's",
        ),
        (
            vec![(&d.name, Some("a/b"))],
            Box::new(|_| {}),
            "contains '/'",
        ),
        (
            vec![(&d.name, Some("sixteen_bytes_xx"))],
            Box::new(|_| {}),
            "at most 15",
        ),
        (vec![(&d.name, Some(".."))], Box::new(|_| {}), "not allowed"),
        (
            vec![(&d.name, Some("a b"))],
            Box::new(|_| {}),
            "contains ' '",
        ),
        (
            vec![(&d.name, Some("lo"))],
            Box::new(|_| {}),
            "already has a device named lo",
        ),
        (
            vec![(&d.name, Some("x0")), (&other.name, Some("x0"))],
            Box::new(|_| {}),
            "same name",
        ),
        (
            vec![(&d.name, Some(&other.name)), (&other.name, None)],
            Box::new(|_| {}),
            "same name",
        ),
        (
            vec![(&d.name, Some(&taken.peer))],
            Box::new(join(joined)),
            "already has a device named",
        ),
    ];
    for (i, (devices, edit, needle)) in cases.into_iter().enumerate() {
        let bundle = net_devices_bundle(&env, &format!("b{i}"), &devices, "true", edit);
        let id = format!("nd-bad{i}");
        let out = env.run(&["create", "-b", bundle.to_str().unwrap(), &id]);
        let err = common::assert_one_line_error(&out, "linux.netDevices");
        assert!(err.contains(needle), "case {i}: {needle:?} not in {err}");
        assert!(!env.root.join(&id).exists(), "case {i}: state dir left");
        for dir in common::cgroup_dirs(&format!("/berth/{id}")) {
            assert!(!dir.exists(), "case {i}: {} left", dir.display());
        }
        // The devices stay where they were, as they were.
        assert!(d.on_host(&d.name) && other.on_host(&other.name), "case {i}");
        let addr = common::ip(&["address", "show", "dev", &d.name]);
        assert!(addr.contains("inet 10.231.65.1/24 "), "case {i}: {addr}");
        assert!(taken.peer_exists(), "case {i}");
    }
}

#[test]
fn user_namespace_with_net_devices_plain_and_renamed() {
    require_root!();
    let env = Env::new("netdev-userns");
    // runc's userns.bats "userns with network interface" and "... renamed".
    for (tag, rename) in [("u", None), ("ur", Some("ctr_dummy0"))] {
        let d = common::HostDevice::new(tag);
        common::ip(&["address", "add", "10.231.66.1/24", "dev", &d.name]);
        let inside = rename.unwrap_or(&d.name).to_string();
        let bundle = net_devices_bundle(
            &env,
            tag,
            &[(&d.name, rename)],
            &format!("{}cat /proc/self/uid_map", show_device(&inside)),
            |s| {
                s["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "type": "user" }));
                s["linux"]["uidMappings"] =
                    json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
                s["linux"]["gidMappings"] =
                    json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
            },
        );
        let out = env.run(&["run", "-b", bundle.to_str().unwrap(), &format!("nd-{tag}")]);
        let text = stdout(&out);
        assert!(out.status.success(), "{text}{}", stderr(&out));
        let r = device_report(&text, &inside);
        assert!(r.contains("inet 10.231.66.1/24 ") && is_up(r), "{r}");
        assert!(text.contains("100000"), "not in a user namespace: {text}");
        // As runc's tests expect: the virtual device went with the namespace.
        assert!(d.destroyed(), "{} outlived the container", d.name);
    }
}

#[test]
fn net_device_names_with_a_template_are_numbered_by_the_kernel() {
    require_root!();
    let env = Env::new("netdev-template");
    // The spec's `%d`: the kernel gives each the first free number inside.
    let a = common::HostDevice::new("ta");
    let b = common::HostDevice::new("tb");
    common::ip(&["address", "add", "10.231.67.1/24", "dev", &a.name]);
    common::ip(&["address", "add", "10.231.68.1/24", "dev", &b.name]);
    let bundle = net_devices_bundle(
        &env,
        "b",
        &[(&a.name, Some("tpl%d")), (&b.name, Some("tpl%d"))],
        &format!("{}{}", show_device("tpl0"), show_device("tpl1")),
        |_| {},
    );
    let out = env.run(&["run", "-b", bundle.to_str().unwrap(), "nd-tpl"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    // Moved in host-name order, each with its own address.
    assert!(
        device_report(&text, "tpl0").contains("inet 10.231.67.1/24 "),
        "{text}"
    );
    assert!(
        device_report(&text, "tpl1").contains("inet 10.231.68.1/24 "),
        "{text}"
    );
    assert!(a.destroyed() && b.destroyed());
}
