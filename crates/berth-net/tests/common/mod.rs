//! Shared helpers for the root-only integration tests: namespaces made by the
//! test itself, a private state root, a unique bridge and subnet, and guards
//! that clean all of it up.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use berth_net::{parse_cidr, Ipv4Cidr, NetworkConfig};

/// Whether the test can run; prints why when it cannot.
pub fn can_run(test: &str) -> bool {
    if unsafe { libc::geteuid() } != 0 {
        let _ = test;
        berth_testkit::skip("needs root (netlink, namespaces, nftables)");
        return false;
    }
    for tool in [
        "/usr/sbin/nft",
        "/usr/bin/nsenter",
        "/usr/bin/unshare",
        "/usr/bin/busybox",
        "/usr/sbin/ip",
    ] {
        if !Path::new(tool).exists() {
            berth_testkit::skip(&format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

/// A process sleeping in a fresh network namespace; killed on drop.
pub struct Netns {
    child: Child,
    extra: Vec<Child>,
}

impl Netns {
    pub fn new() -> Netns {
        let child = Command::new("unshare")
            .args(["--net", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn unshare");
        let ns = Netns {
            child,
            extra: Vec::new(),
        };
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        let path = ns.path();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(l) = std::fs::read_link(&path) {
                if l != own {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "namespace of {} never appeared",
                ns.pid()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        ns
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.pid()))
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t").arg(self.pid().to_string()).arg("-n").args(args);
        c
    }

    /// Runs a command inside the namespace; returns (success, stdout).
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        let out = self
            .cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("run nsenter");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// An HTTP/1.0 GET from inside the namespace (busybox nc); the response text.
    pub fn http_get(&self, ip: Ipv4Addr, port: u16) -> Option<String> {
        use std::io::Write;
        let mut c = self
            .cmd(&[
                "busybox",
                "nc",
                "-w",
                "3",
                &ip.to_string(),
                &port.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nc");
        c.stdin
            .take()
            .unwrap()
            .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
            .unwrap();
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (!text.is_empty()).then_some(text)
    }

    /// Starts a background command inside the namespace, killed on drop.
    pub fn spawn(&mut self, args: &[&str]) {
        let c = self
            .cmd(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn in namespace");
        self.extra.push(c);
    }

    /// One ping from inside the namespace.
    pub fn ping(&self, ip: Ipv4Addr) -> bool {
        self.run(&["busybox", "ping", "-c", "1", "-W", "2", &ip.to_string()])
            .0
    }

    /// `ip -j` output inside the namespace, parsed.
    pub fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["ip", "-j"];
        full.extend_from_slice(args);
        let (ok, out) = self.run(&full);
        assert!(ok, "ip {args:?} failed in namespace");
        serde_json::from_str(&out).unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in self
            .extra
            .iter_mut()
            .chain(std::iter::once(&mut self.child))
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `ip -j` output in the host namespace, parsed.
pub fn host_ip_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new("ip")
        .arg("-j")
        .args(args)
        .output()
        .expect("run ip");
    if !out.status.success() {
        return serde_json::Value::Array(Vec::new());
    }
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Array(Vec::new()))
}

/// Whether a host interface exists.
pub fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The IPv4 addresses (`addr/prefix`) of a host interface.
pub fn host_addrs(dev: &str) -> Vec<String> {
    let v = host_ip_json(&["-4", "addr", "show", "dev", dev]);
    let mut out = Vec::new();
    for link in v.as_array().into_iter().flatten() {
        for a in link["addr_info"].as_array().into_iter().flatten() {
            out.push(format!(
                "{}/{}",
                a["local"].as_str().unwrap_or(""),
                a["prefixlen"]
            ));
        }
    }
    out
}

/// Comments of every rule in berth's nft table of `family`.
pub fn nft_comments(family: &str) -> Vec<String> {
    let out = Command::new("nft")
        .args(["-j", "list", "table", family, "berth"])
        .output()
        .unwrap();
    if !out.status.success() {
        return Vec::new();
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i.get("rule"))
        .filter_map(|r| {
            r.get("comment")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })
        .collect()
}

/// A private state root with one test bridge and subnet; tears down every
/// container it knows of, the bridge and its rules on drop.
pub struct Env {
    pub root: PathBuf,
    pub bridge: String,
    pub subnet: Ipv4Cidr,
    pub ids: Vec<String>,
}

impl Env {
    /// `n` picks the bridge `btst<n>` and subnet `10.231.<n>.0/24` (or `prefix`).
    pub fn new(n: u8, prefix: u8) -> Env {
        let root = std::env::temp_dir().join(format!("berth-net-it-{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let bridge = format!("btst{n}");
        let _ = Command::new("ip")
            .args(["link", "del", &bridge])
            .stderr(Stdio::null())
            .status();
        let _ = berth_net::nat::remove_bridge(&bridge);
        Env {
            root,
            bridge,
            subnet: parse_cidr(&format!("10.231.{n}.0/{prefix}")).unwrap(),
            ids: Vec::new(),
        }
    }

    /// A bridge-mode config on this env's bridge and subnet.
    pub fn config(&self) -> NetworkConfig {
        NetworkConfig {
            bridge: self.bridge.clone(),
            subnet: Some(self.subnet),
            ..Default::default()
        }
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// prepare under a remembered id.
    pub fn prepare(
        &mut self,
        id: &str,
        cfg: &NetworkConfig,
    ) -> berth_net::Result<berth_net::Prepared> {
        self.ids.push(id.to_string());
        berth_net::prepare(&self.root, id, cfg, &self.state_dir(id))
    }

    /// prepare + attach into `ns`.
    pub fn start(
        &mut self,
        id: &str,
        cfg: &NetworkConfig,
        ns: &Netns,
    ) -> (berth_net::Prepared, berth_net::Attachment) {
        let p = self.prepare(id, cfg).expect("prepare");
        let a = berth_net::attach(&self.root, id, &p, ns.pid()).expect("attach");
        (p, a)
    }

    /// Leases currently recorded for the bridge.
    pub fn leases(&self) -> Vec<(Ipv4Addr, String)> {
        berth_net::store::read_bridge(&self.root, &self.bridge)
            .unwrap()
            .map(|st| st.leases.into_iter().map(|l| (l.ip, l.id)).collect())
            .unwrap_or_default()
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.subnet.gateway()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = berth_net::teardown(&self.root, id);
        }
        let _ = berth_net::remove_bridge(&self.root, &self.bridge);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(Stdio::null())
            .status();
        let _ = berth_net::nat::remove_bridge(&self.bridge);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
