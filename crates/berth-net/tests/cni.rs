//! The `berth-cni` binary driven exactly as a CNI runtime drives it
//! (CNI_* environment, config on stdin, JSON on stdout), on namespaces made
//! with `ip netns add`, and through a real CNI consumer: podman with its CNI
//! backend. Packets go only to 127.0.0.1 and to the test's own namespaces.
//!
//! Subnets `10.232.<n>.0/24`, bridges `bcni<n>`, state roots under the temp dir.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn can_run(test: &str) -> bool {
    if unsafe { libc::geteuid() } != 0 {
        let _ = test;
        berth_testkit::skip("needs root (netlink, namespaces, nftables)");
        return false;
    }
    for tool in ["/usr/sbin/ip", "/usr/sbin/nft", "/usr/bin/busybox"] {
        if !Path::new(tool).exists() {
            berth_testkit::skip(&format!("{tool} is not installed"));
            return false;
        }
    }
    true
}

/// `$BERTH_CNI`, else `berth-cni` next to this test's target directory,
/// built first with the cargo that builds this test.
fn plugin() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_CNI") {
        return PathBuf::from(p);
    }
    static BUILT: std::sync::Once = std::sync::Once::new();
    // <target>/<profile>/deps/cni-<hash>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target = profile_dir.parent().unwrap().to_path_buf();
    BUILT.call_once(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "berth-cli", "--bin", "berth-cni"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().unwrap() == "release" {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("run cargo build");
        assert!(
            st.success(),
            "cargo build -p berth-cli --bin berth-cni failed"
        );
    });
    profile_dir.join("berth-cni")
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A named namespace (`ip netns add`), deleted on drop.
struct Ns {
    name: String,
}

impl Ns {
    fn new() -> Ns {
        let name = format!(
            "bcni-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        Ns { name }
    }
    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
    fn ip_json(&self, what: &str) -> Value {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-j", what])
            .output()
            .unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// IPv4 addresses (`a.b.c.d/p`) on `ifname`.
    fn addrs(&self, ifname: &str) -> Vec<String> {
        self.ip_json("addr")
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["ifname"] == ifname)
            .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["family"] == "inet")
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect()
    }
    fn links(&self) -> Vec<String> {
        self.ip_json("link")
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["ifname"].as_str().unwrap().to_string())
            .collect()
    }
    /// `(gateway, device)` of the default route.
    fn default_route(&self) -> Option<(String, String)> {
        self.ip_json("route")
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["dst"] == "default")
            .map(|r| {
                (
                    r["gateway"].as_str().unwrap_or("").to_string(),
                    r["dev"].as_str().unwrap_or("").to_string(),
                )
            })
    }
    fn ping(&self, ip: &str) -> bool {
        Command::new("ip")
            .args([
                "netns", "exec", &self.name, "busybox", "ping", "-c", "1", "-W", "2", ip,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A berth network for the test: state root, bridge and subnet; removes the
/// bridge, its rules and the root on drop.
struct Net {
    n: u8,
    root: PathBuf,
    bridge: String,
}

impl Net {
    fn new(n: u8) -> Net {
        let root = std::env::temp_dir().join(format!("berth-cni-it-{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let bridge = format!("bcni{n}");
        let _ = Command::new("ip")
            .args(["link", "del", &bridge])
            .stderr(Stdio::null())
            .status();
        let _ = berth_net::nat::remove_bridge(&bridge);
        Net { n, root, bridge }
    }
    fn subnet(&self) -> String {
        format!("10.232.{}.0/24", self.n)
    }
    fn addr(&self, host: u8) -> String {
        format!("10.232.{}.{host}", self.n)
    }
    fn config(&self, version: &str) -> Value {
        json!({
            "cniVersion": version,
            "name": format!("berth-it-{}", self.n),
            "type": "berth-cni",
            "bridge": self.bridge,
            "subnet": self.subnet(),
            "stateRoot": self.root,
        })
    }
    fn leases(&self) -> Vec<String> {
        berth_net::store::read_bridge(&self.root, &self.bridge)
            .unwrap()
            .map(|st| st.leases.into_iter().map(|l| l.ip.to_string()).collect())
            .unwrap_or_default()
    }
    /// Nothing of any attachment remains: no record, no lease, no cni dir entry.
    fn assert_empty(&self) {
        assert!(self.leases().is_empty(), "leases left: {:?}", self.leases());
        let ids = berth_net::store::record_ids(&self.root).unwrap();
        assert!(ids.is_empty(), "records left: {ids:?}");
        let cni = self.root.join("cni");
        if cni.exists() {
            let left: Vec<_> = std::fs::read_dir(&cni).unwrap().collect();
            assert!(left.is_empty(), "attachment dirs left: {left:?}");
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = berth_net::remove_bridge(&self.root, &self.bridge);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(Stdio::null())
            .status();
        let _ = berth_net::nat::remove_bridge(&self.bridge);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs the plugin as a CNI runtime would.
fn cni(
    command: &str,
    id: &str,
    netns: &str,
    ifname: &str,
    args: Option<&str>,
    stdin: &[u8],
) -> Output {
    let mut cmd = Command::new(plugin());
    cmd.env_clear()
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", id)
        .env("CNI_NETNS", netns)
        .env("CNI_IFNAME", ifname)
        .env("CNI_PATH", "/usr/lib/cni")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(a) = args {
        cmd.env("CNI_ARGS", a);
    }
    let mut child = cmd.spawn().expect("spawn berth-cni");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "berth-cni failed: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn err_json(out: &Output) -> Value {
    assert!(
        !out.status.success(),
        "berth-cni succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("error on stdout is JSON");
    assert!(v["code"].as_u64().is_some(), "{v}");
    assert!(
        v["msg"].as_str().is_some() && v["cniVersion"].as_str().is_some(),
        "{v}"
    );
    v
}

fn conf(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn host_link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn version() {
    let out = cni("VERSION", "", "", "", None, br#"{"cniVersion":"1.0.0"}"#);
    let v = ok_json(&out);
    assert_eq!(v["cniVersion"], "1.0.0");
    let vs: Vec<&str> = v["supportedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for want in ["0.3.1", "0.4.0", "1.0.0"] {
        assert!(vs.contains(&want), "{vs:?}");
    }
    // Without stdin, as some runtimes probe.
    let v = ok_json(&cni("VERSION", "", "", "", None, b""));
    assert_eq!(v["cniVersion"], "1.0.0");
}

#[test]
fn add_check_del_cycle() {
    if !can_run("add_check_del_cycle") {
        return;
    }
    let net = Net::new(1);
    let ns = Ns::new();
    let c = conf(&net.config("1.0.0"));
    let id = "9f1c0a7e-some/odd:id weird";
    let r = ok_json(&cni("ADD", id, &ns.path(), "eth0", None, &c));
    assert_eq!(r["cniVersion"], "1.0.0");
    assert_eq!(r["ips"][0]["address"], format!("{}/24", net.addr(2)));
    assert_eq!(r["ips"][0]["gateway"], net.addr(1));
    assert_eq!(r["ips"][0]["interface"], 2);
    assert!(
        r["ips"][0].get("version").is_none(),
        "1.0.0 has no ips[].version"
    );
    let ifaces = r["interfaces"].as_array().unwrap();
    assert_eq!(ifaces[0]["name"], net.bridge);
    assert_eq!(ifaces[2]["name"], "eth0");
    assert_eq!(ifaces[2]["sandbox"], ns.path());
    let host_veth = ifaces[1]["name"].as_str().unwrap().to_string();
    assert!(host_link_exists(&host_veth));
    assert_eq!(r["routes"][0]["dst"], "0.0.0.0/0");
    // The kernel agrees.
    assert_eq!(ns.addrs("eth0"), vec![format!("{}/24", net.addr(2))]);
    assert_eq!(ns.default_route(), Some((net.addr(1), "eth0".into())));
    assert_eq!(net.leases(), vec![net.addr(2)]);

    // CHECK, with prevResult as a runtime sends it.
    let mut with_prev = net.config("1.0.0");
    with_prev["prevResult"] = r.clone();
    let out = cni("CHECK", id, &ns.path(), "eth0", None, &conf(&with_prev));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    // CHECK notices a removed address.
    let st = Command::new("ip")
        .args([
            "-n",
            &ns.name,
            "addr",
            "del",
            &format!("{}/24", net.addr(2)),
            "dev",
            "eth0",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let e = err_json(&cni("CHECK", id, &ns.path(), "eth0", None, &c));
    assert_eq!(e["code"], 102, "{e}");

    // DEL removes veth, lease and state; twice is fine.
    ok_or_empty(&cni("DEL", id, &ns.path(), "eth0", None, &c));
    assert!(!host_link_exists(&host_veth), "host veth left behind");
    assert!(!ns.links().contains(&"eth0".to_string()));
    net.assert_empty();
    ok_or_empty(&cni("DEL", id, &ns.path(), "eth0", None, &c));
    // DEL with the namespace already gone (CNI_NETNS empty).
    ok_or_empty(&cni("DEL", id, "", "eth0", None, &c));
    let e = err_json(&cni("CHECK", id, &ns.path(), "eth0", None, &c));
    assert_eq!(e["code"], 3, "{e}");

    // ADD again gets the first address again.
    let r = ok_json(&cni("ADD", id, &ns.path(), "eth0", None, &c));
    assert_eq!(r["ips"][0]["address"], format!("{}/24", net.addr(2)));
    // ADD twice for the same attachment is refused.
    err_json(&cni("ADD", id, &ns.path(), "eth0", None, &c));
    ok_or_empty(&cni("DEL", id, &ns.path(), "eth0", None, &c));
    net.assert_empty();
}

fn ok_or_empty(out: &Output) {
    assert!(
        out.status.success(),
        "berth-cni failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn two_namespaces_ping_on_one_bridge() {
    if !can_run("two_namespaces_ping_on_one_bridge") {
        return;
    }
    let net = Net::new(2);
    let (a, b) = (Ns::new(), Ns::new());
    let c = conf(&net.config("1.0.0"));
    let ra = ok_json(&cni("ADD", "ctr-a", &a.path(), "eth0", None, &c));
    let rb = ok_json(&cni("ADD", "ctr-b", &b.path(), "eth0", None, &c));
    let ip = |r: &Value| {
        r["ips"][0]["address"]
            .as_str()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string()
    };
    let (ia, ib) = (ip(&ra), ip(&rb));
    assert_ne!(ia, ib);
    assert!(a.ping(&ib), "a cannot reach b at {ib}");
    assert!(b.ping(&ia), "b cannot reach a at {ia}");
    assert!(a.ping(&net.addr(1)), "a cannot reach the gateway");
    for (id, ns) in [("ctr-a", &a), ("ctr-b", &b)] {
        ok_or_empty(&cni("DEL", id, &ns.path(), "eth0", None, &c));
    }
    assert!(!a.ping(&ib));
    net.assert_empty();
}

#[test]
fn other_ifname_old_version_static_ip_and_dns() {
    if !can_run("other_ifname_old_version_static_ip_and_dns") {
        return;
    }
    let net = Net::new(3);
    let ns = Ns::new();
    let mut cfg = net.config("0.4.0");
    cfg["dns"] = json!({"nameservers": [net.addr(1)], "search": ["example.test"]});
    let c = conf(&cfg);
    let args = format!("IgnoreUnknown=1;IP={};K8S_POD_NAME=x", net.addr(77));
    let r = ok_json(&cni("ADD", "c3", &ns.path(), "net1", Some(&args), &c));
    assert_eq!(r["cniVersion"], "0.4.0");
    assert_eq!(r["ips"][0]["version"], "4");
    assert_eq!(r["ips"][0]["address"], format!("{}/24", net.addr(77)));
    assert_eq!(r["interfaces"][2]["name"], "net1");
    assert_eq!(r["dns"]["nameservers"][0], net.addr(1));
    assert_eq!(ns.addrs("net1"), vec![format!("{}/24", net.addr(77))]);
    assert!(!ns.links().contains(&"eth0".to_string()));
    assert_eq!(ns.default_route(), Some((net.addr(1), "net1".into())));
    ok_or_empty(&cni("CHECK", "c3", &ns.path(), "net1", None, &c));
    // The same static address for another container is refused (berth's code 101).
    let ns2 = Ns::new();
    let e = err_json(&cni("ADD", "c4", &ns2.path(), "eth0", Some(&args), &c));
    assert_eq!(e["code"], 101, "{e}");
    assert!(ns2.links() == vec!["lo".to_string()]);
    ok_or_empty(&cni("DEL", "c3", &ns.path(), "net1", None, &c));
    assert_eq!(ns.links(), vec!["lo".to_string()]);
    net.assert_empty();
}

#[test]
fn bad_input_is_a_cni_error_and_leaves_nothing() {
    if !can_run("bad_input_is_a_cni_error_and_leaves_nothing") {
        return;
    }
    let net = Net::new(4);
    let ns = Ns::new();
    let good = net.config("1.0.0");
    let cases: Vec<(Vec<u8>, u64)> = vec![
        (b"{not json".to_vec(), 6),
        (b"".to_vec(), 6),
        (
            conf(&json!({"cniVersion": "7.0.0", "name": "x", "type": "berth-cni"})),
            1,
        ),
        (
            conf(&{
                let mut c = good.clone();
                c["subnet"] = json!("10.232.4.0/33");
                c
            }),
            7,
        ),
        (
            conf(&{
                let mut c = good.clone();
                c["bridge"] = json!("sixteen-chars-xx");
                c
            }),
            7,
        ),
        (
            conf(&{
                let mut c = good.clone();
                c["gateway"] = json!("10.9.9.9");
                c
            }),
            7,
        ),
        (
            conf(&{
                let mut c = good.clone();
                c["ipam"] = json!({"type": "host-local"});
                c
            }),
            2,
        ),
        (
            conf(&{
                let mut c = good.clone();
                c["runtimeConfig"] =
                    json!({"portMappings": [{"hostPort": 70000, "containerPort": 80}]});
                c
            }),
            7,
        ),
    ];
    for (stdin, code) in &cases {
        let e = err_json(&cni("ADD", "bad", &ns.path(), "eth0", None, stdin));
        assert_eq!(
            e["code"],
            *code,
            "{} -> {e}",
            String::from_utf8_lossy(stdin)
        );
    }
    // Missing environment.
    let out = Command::new(plugin())
        .env_clear()
        .env("CNI_COMMAND", "ADD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(err_json(&out)["code"], 4);
    // A namespace that does not exist.
    let e = err_json(&cni(
        "ADD",
        "bad",
        "/run/netns/berth-cni-no-such-ns",
        "eth0",
        None,
        &conf(&good),
    ));
    assert_eq!(e["code"], 3, "{e}");
    assert_eq!(ns.links(), vec!["lo".to_string()]);
    assert!(!host_link_exists(&net.bridge), "bridge created for nothing");
    net.assert_empty();
}

/// GETs `/` from 127.0.0.1:`port` until it answers with `want` or 10 s pass.
fn fetch(port: u16, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut body = String::new();
            s.read_to_string(&mut body)?;
            Ok(body)
        });
        match got {
            Ok(body) if body.contains(want) => return,
            other if Instant::now() > deadline => {
                panic!("127.0.0.1:{port} never served {want:?}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn port_mappings_publish_ports() {
    if !can_run("port_mappings_publish_ports") {
        return;
    }
    let net = Net::new(5);
    let ns = Ns::new();
    let mut cfg = net.config("1.0.0");
    let port = 47000 + (std::process::id() % 1000) as u16;
    cfg["runtimeConfig"] =
        json!({"portMappings": [{"hostPort": port, "containerPort": 80, "protocol": "tcp"}]});
    let c = conf(&cfg);
    ok_json(&cni("ADD", "web", &ns.path(), "eth0", None, &c));
    let dir = net.root.join("www");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "hello from cni\n").unwrap();
    let mut httpd = Command::new("ip")
        .args([
            "netns", "exec", &ns.name, "busybox", "httpd", "-f", "-p", "80", "-h",
        ])
        .arg(&dir)
        .spawn()
        .unwrap();
    fetch(port, "hello from cni");
    let _ = httpd.kill();
    let _ = httpd.wait();
    ok_or_empty(&cni("DEL", "web", &ns.path(), "eth0", None, &c));
    assert!(
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(500))
            .is_err()
    );
    net.assert_empty();
}

/// podman 4 with `network_backend = "cni"` (a real libcni consumer) runs a
/// container on a conflist whose plugin is berth-cni, with a published port.
#[test]
fn podman_cni_backend() {
    if !can_run("podman_cni_backend") {
        return;
    }
    let rootfs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/rootfs");
    for (p, why) in [
        (Path::new("/usr/bin/podman"), "podman is not installed"),
        (
            Path::new("/usr/sbin/runc"),
            "runc is not installed (crun refuses hybrid cgroups)",
        ),
        (
            rootfs.join("bin/busybox").as_path(),
            "no busybox rootfs: run scripts/make-rootfs.sh",
        ),
    ] {
        if !p.exists() {
            berth_testkit::skip(why);
            return;
        }
    }
    let net = Net::new(6);
    let dir = net.root.join("podman");
    let confdir = dir.join("net.d");
    std::fs::create_dir_all(&confdir).unwrap();
    let plugin_dir = plugin().parent().unwrap().to_path_buf();
    std::fs::write(
        dir.join("containers.conf"),
        format!(
            "[network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{}\", \"/usr/lib/cni\"]\nnetwork_config_dir = \"{}\"\n",
            plugin_dir.display(),
            confdir.display()
        ),
    )
    .unwrap();
    let mut plugin_conf = net.config("1.0.0");
    plugin_conf.as_object_mut().unwrap().remove("name");
    plugin_conf.as_object_mut().unwrap().remove("cniVersion");
    plugin_conf["capabilities"] = json!({"portMappings": true});
    let netname = format!("berthcni{}", std::process::id());
    std::fs::write(
        confdir.join(format!("{netname}.conflist")),
        serde_json::to_vec(
            &json!({"cniVersion": "1.0.0", "name": netname, "plugins": [plugin_conf]}),
        )
        .unwrap(),
    )
    .unwrap();
    let port = 46000 + (std::process::id() % 1000) as u16;
    let podman = |args: &[&str]| {
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", dir.join("containers.conf"))
            .arg("--root")
            .arg(dir.join("storage"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .args(["--runtime", "runc"])
            .args(args);
        cmd.output().unwrap()
    };
    let common = [
        "--network",
        &netname,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--rootfs",
        rootfs.to_str().unwrap(),
    ];
    let mut args = vec!["run", "--rm"];
    args.extend(common);
    args.extend(["/bin/sh", "-c", "ip -4 addr show eth0; ip route"]);
    let out = podman(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "podman run: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&format!("inet {}/24", net.addr(2))), "{text}");
    assert!(
        text.contains(&format!("default via {}", net.addr(1))),
        "{text}"
    );
    // --rm ran DEL: lease and record gone.
    net.assert_empty();

    // A published port through runtimeConfig.portMappings.
    let name = format!("berth-cni-web-{}", std::process::id());
    let publish = format!("{port}:80");
    let mut args = vec!["run", "-d", "--name", &name, "-p", &publish];
    args.extend(common);
    args.extend(["/bin/sh", "-c", "mkdir -p /tmp/w && echo podman-via-berth > /tmp/w/index.html && exec /bin/busybox httpd -f -p 80 -h /tmp/w"]);
    let out = podman(&args);
    assert!(
        out.status.success(),
        "podman run -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fetch(port, "podman-via-berth");
    let out = podman(&["rm", "-f", "-t", "0", &name]);
    assert!(
        out.status.success(),
        "podman rm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    net.assert_empty();
}
