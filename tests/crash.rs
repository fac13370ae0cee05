//! Crash safety: `berth create` (and `exec`) killed with SIGKILL at every step,
//! as an engine's timeout would, then the engine's recovery `berth delete -f`.
//! Nothing may be left: no state dir, cgroup dir, veth, lease, published-port
//! rule, mount or process. The debug build dies on cue at the named crash
//! points (`BERTH_CRASH_AT`, see berth-container's `fault`); random kills
//! cover what lies between them.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, Env};
use serde_json::{json, Value};

const BRIDGE: &str = "br-crash";
const SUBNET: &str = "10.231.91.0/24";
/// Every crash point of create, in the order create reaches them
/// (`netdevices-moved`, after `network-attached`, needs linux.netDevices:
/// its own test below).
const CREATE_POINTS: &[&str] = &[
    "intent-recorded",
    "network-prepared",
    "cgroup-created",
    "init-forked",
    "pid-recorded",
    "network-attached",
    "create-hooks-done",
    "init-ready",
];

/// A free TCP port on 127.0.0.1, published as `127.0.0.1:<port>:80`.
fn fixed_port() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}:80")
}

/// A busybox bundle on berth's bridge publishing `publish`; its process
/// carries `marker` on its command line so a leftover can be found. With
/// `create_hook`, a createRuntime hook puts the hooks step on the path too.
fn bundle(env: &Env, marker: &str, publish: &str, create_hook: bool) -> PathBuf {
    let dir = env.dir.join("b");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(&[
        "spec",
        "-b",
        dir.to_str().unwrap(),
        "--network",
        "bridge",
        "--bridge",
        BRIDGE,
        "--subnet",
        SUBNET,
        "-p",
        publish,
    ]);
    let path = dir.join("config.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    s["root"] = json!({ "path": common::rootfs(), "readonly": true });
    s["process"]["terminal"] = json!(false);
    s["process"]["args"] = json!(["sh", "-c", format!("exec sleep 600 # {marker}")]);
    if create_hook {
        s["hooks"] = json!({ "createRuntime": [{ "path": "/bin/true" }] });
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    dir
}

/// Everything a container `id` could leave behind, as a list of what is left.
fn leftovers(env: &Env, id: &str, marker: &str) -> Vec<String> {
    let mut left = Vec::new();
    if env.root.join(id).exists() {
        left.push(format!("state dir {}", env.root.join(id).display()));
    }
    for d in common::cgroup_dirs(&format!("/berth/{id}")) {
        if d.exists() {
            left.push(format!("cgroup dir {}", d.display()));
        }
    }
    let veth = berth_net::veth::names(id).0;
    if Path::new("/sys/class/net").join(&veth).exists() {
        left.push(format!("veth {veth}"));
    }
    let net = env.root.join("net");
    if net.join(format!("containers/{id}.json")).exists() {
        left.push("network record".into());
    }
    let bridge_state =
        std::fs::read_to_string(net.join(format!("bridges/{BRIDGE}.json"))).unwrap_or_default();
    if bridge_state.contains(&format!("\"{id}\"")) {
        left.push(format!("IP lease: {bridge_state}"));
    }
    let ports = std::fs::read_to_string(net.join("ports.json")).unwrap_or_default();
    if ports.contains(&format!("\"{id}\"")) {
        left.push(format!("host port: {ports}"));
    }
    let rules = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&rules.stdout).contains(&format!("\"berth:{id}\"")) {
        left.push("nft rule".into());
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if mounts.contains(env.dir.to_str().unwrap()) {
        left.push("mount".into());
    }
    for p in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            left.push(format!("process {}", p.file_name().to_string_lossy()));
        }
    }
    left
}

/// `berth create`, killed by itself at `point` or by us after `delay`.
fn killed_create(env: &Env, b: &Path, id: &str, point: Option<&str>, delay: Duration) {
    let mut cmd = env.cmd(&["create", "-b", b.to_str().unwrap(), id]);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(p) = point {
        cmd.env("BERTH_CRASH_AT", p);
    }
    let mut child = cmd.spawn().unwrap();
    if point.is_none() {
        std::thread::sleep(delay);
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    if point.is_some() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{id}: not killed at {point:?}"
        );
    }
}

/// The engine's recovery, then the proof that nothing is left.
fn recover_and_check(env: &Env, id: &str, marker: &str, what: &str) {
    let out = env.run(&["delete", "-f", id]);
    assert!(out.status.success(), "{what}: delete -f: {}", stderr(&out));
    // A killed init's children may take a moment to be reaped by the kernel.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = leftovers(env, id, marker);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn create_killed_at_every_step_leaves_nothing_after_delete_force() {
    require_root!();
    let env = Env::new("crash-points");
    let marker = format!("crash-marker-{}", std::process::id());
    let b = bundle(&env, &marker, &fixed_port(), true);
    for (i, point) in CREATE_POINTS.iter().enumerate() {
        let id = format!("k{i}");
        killed_create(&env, &b, &id, Some(point), Duration::ZERO);
        // A second create of the id is refused with the way out, not a bare "exists".
        let out = env.run(&["create", "-b", b.to_str().unwrap(), &id]);
        assert!(!out.status.success(), "{point}: second create succeeded");
        assert!(
            stderr(&out).contains("delete -f"),
            "{point}: {}",
            stderr(&out)
        );
        recover_and_check(&env, &id, &marker, point);
    }
    // After all that the id is usable again.
    env.ok(&["create", "-b", b.to_str().unwrap(), "k-again"]);
    recover_and_check(&env, "k-again", &marker, "a normal create");
}

#[test]
fn create_killed_at_random_moments_leaves_nothing_after_delete_force() {
    require_root!();
    let env = Env::new("crash-random");
    let marker = format!("crash-random-{}", std::process::id());
    let b = bundle(&env, &marker, &fixed_port(), true);
    // Spread over the create window (about 10-40 ms for a debug build here).
    for i in 0..24u64 {
        let id = format!("r{i}");
        let delay = Duration::from_micros(500 + (i * 7919) % 40_000);
        killed_create(&env, &b, &id, None, delay);
        recover_and_check(&env, &id, &marker, &format!("killed after {delay:?}"));
    }
}

#[test]
fn exec_killed_before_its_process_starts_leaves_no_process() {
    require_root!();
    let env = Env::new("crash-exec");
    let marker = format!("crash-exec-{}", std::process::id());
    let b = env.bundle("b", |s| common::args(s, &["sleep", "600"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "x1"]);
    for point in ["exec-forked", "exec-pid-recorded"] {
        let mut cmd = env.cmd(&[
            "exec",
            "x1",
            "sh",
            "-c",
            &format!("exec sleep 600 # {marker}"),
        ]);
        let status = cmd
            .env("BERTH_CRASH_AT", point)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "not killed at {point}"
        );
        // The launched process sees its channel close and exits by itself.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let procs = std::fs::read_to_string(
                common::cgroup_dirs("/berth/x1")
                    .into_iter()
                    .map(|d| d.join("cgroup.procs"))
                    .find(|p| p.exists())
                    .unwrap(),
            )
            .unwrap();
            if procs.lines().count() == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{point}: processes left in the cgroup: {procs}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    env.ok(&["delete", "-f", "x1"]);
    assert!(leftovers(&env, "x1", &marker).is_empty());
}

/// What many cycles could leak, counted host-wide for berth's bridge and cgroups.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    leases: usize,
    host_ports: usize,
    nft_rules: usize,
    veths: usize,
    cgroup_dirs: usize,
    state_entries: usize,
    mounts: usize,
}

/// Cgroup dirs are counted for ids starting with `ids` only: /berth is shared
/// with any other berth on the host (a benchmark, an engine).
fn footprint(env: &Env, ids: &str) -> Footprint {
    let net = env.root.join("net");
    let count = |text: String, needle: &str| text.matches(needle).count();
    let rules = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let cgroup_dirs = common::cgroup_dirs("/berth")
        .into_iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name().to_string_lossy().starts_with(ids))
        .count();
    Footprint {
        leases: count(
            std::fs::read_to_string(net.join(format!("bridges/{BRIDGE}.json"))).unwrap_or_default(),
            "\"ip\"",
        ),
        host_ports: count(
            std::fs::read_to_string(net.join("ports.json")).unwrap_or_default(),
            "\"port\"",
        ),
        nft_rules: count(
            String::from_utf8_lossy(&rules.stdout).into_owned(),
            "\"berth:",
        ),
        veths: std::fs::read_dir("/sys/class/net")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path().join("master")).is_ok_and(|m| m.ends_with(BRIDGE))
            })
            .count(),
        cgroup_dirs,
        state_entries: std::fs::read_dir(&env.root)
            .map(|rd| rd.flatten().filter(|e| e.file_name() != "net").count())
            .unwrap_or(0),
        mounts: count(
            std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
            env.dir.to_str().unwrap(),
        ),
    }
}

#[test]
fn create_start_delete_cycles_in_parallel_leak_nothing() {
    require_root!();
    // CI: 4 workers x 10 cycles. bench/cycles.sh: BERTH_WORKERS=8 BERTH_CYCLES=125 (1000).
    let workers: usize = std::env::var("BERTH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let cycles: usize = std::env::var("BERTH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let env = Env::new("crash-cycles");
    let marker = format!("crash-cycles-{}", std::process::id());
    // A host port picked by berth for every container: they run in parallel.
    let dir = bundle(&env, &marker, "127.0.0.1::80", false);

    // One warm-up cycle makes the bridge and berth's nft tables, which stay by design.
    // The ids of this test's containers begin with this.
    let ids = format!("cyc{}-", std::process::id());
    let warm = format!("{ids}warm");
    env.ok(&["run", "-d", "-b", dir.to_str().unwrap(), &warm]);
    // The counters see a live container (so a zero below means something).
    let live = footprint(&env, &ids);
    assert!(
        live.leases == 1
            && live.host_ports == 1
            && live.nft_rules > 0
            && live.veths == 1
            && live.cgroup_dirs > 0
            && live.state_entries == 1,
        "{live:?}"
    );
    env.ok(&["delete", "-f", &warm]);
    let before = footprint(&env, &ids);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..workers {
            let (env, dir, ids) = (&env, &dir, &ids);
            scope.spawn(move || {
                for c in 0..cycles {
                    let id = format!("{ids}w{w}c{c}");
                    let b = dir.to_str().unwrap();
                    env.ok(&["create", "-b", b, &id]);
                    env.ok(&["start", &id]);
                    env.ok(&["delete", "-f", &id]);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let after = footprint(&env, &ids);
    eprintln!(
        "{} cycles ({workers} in parallel) in {:.1}s; before {before:?}; after {after:?}",
        workers * cycles,
        elapsed.as_secs_f64()
    );
    assert_eq!(after, before, "growth after {} cycles", workers * cycles);
    assert!(leftovers(&env, &format!("{ids}w0c0"), &marker).is_empty());
}

#[test]
fn create_killed_after_moving_net_devices_leaves_nothing_after_delete_force() {
    require_root!();
    let env = Env::new("crash-netdev");
    let marker = format!("crash-netdev-{}", std::process::id());
    // In a namespace of the container's own, then in one joined by path.
    for (i, joined) in [false, true].into_iter().enumerate() {
        let d = common::HostDevice::new(&format!("k{i}"));
        common::ip(&["address", "add", "10.231.92.1/24", "dev", &d.name]);
        let netns = format!("/run/netns/{}", d.netns);
        let b = env.bundle(&format!("b{i}"), |s| {
            common::args(s, &["sh", "-c", &format!("exec sleep 600 # {marker}")]);
            common::net_devices(s, &[(&d.name, Some("ctr_k0"))]);
            if joined {
                for ns in s["linux"]["namespaces"].as_array_mut().unwrap() {
                    if ns["type"] == "network" {
                        ns["path"] = json!(netns);
                    }
                }
            }
        });
        let id = format!("kn{i}");
        killed_create(&env, &b, &id, Some("netdevices-moved"), Duration::ZERO);
        assert!(!d.on_host(&d.name), "{id}: not moved before the kill");
        recover_and_check(&env, &id, &marker, "killed after moving a net device");
        if joined {
            // The namespace's owner keeps the device, renamed, with its address.
            let there = common::ip(&["-n", &d.netns, "address", "show", "dev", "ctr_k0"]);
            assert!(there.contains("inet 10.231.92.1/24 "), "{there}");
        } else {
            // init's death freed the namespace; the kernel destroyed the veth.
            assert!(d.destroyed(), "{id}: {} outlived the container", d.name);
        }
    }
}
