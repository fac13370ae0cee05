//! The cgroup commands through the `berth` binary on real containers: limits from config.json
//! and `berth spec` flags, `update` (flags and `-r`), bad input leaving limits in force,
//! `pause`/`resume`, `ps`, `events` (stats and OOM), pids limits and cgroup removal, all
//! asserted on the kernel's cgroup files of this hybrid host (v1 controllers under
//! /sys/fs/cgroup/<ctrl>, hugetlb on /sys/fs/cgroup/unified).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{args, stderr, stdout, Env};
use serde_json::{json, Value};

/// A container id unique to this test run: cgroup paths (/berth/<id>) are host-global.
fn uid(name: &str) -> String {
    format!("cgcli-{name}-{}", std::process::id())
}

/// The container's directory in one v1 controller's hierarchy (or "unified").
fn cg(ctrl: &str, id: &str) -> PathBuf {
    PathBuf::from(format!("/sys/fs/cgroup/{ctrl}/berth/{id}"))
}

fn read(p: impl AsRef<Path>) -> String {
    let p = p.as_ref();
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

fn cgv(ctrl: &str, id: &str, file: &str) -> String {
    read(cg(ctrl, id).join(file))
}

/// blkio weight lives in blkio.weight (CFQ) or blkio.bfq.weight (BFQ) depending on the kernel.
fn blkio_weight(id: &str) -> String {
    let d = cg("blkio", id);
    let f = if d.join("blkio.weight").exists() {
        "blkio.weight"
    } else {
        "blkio.bfq.weight"
    };
    let v = read(d.join(f));
    v.strip_prefix("default ")
        .unwrap_or(&v)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Every limit the tests change, to compare before and after a rejected update.
fn limits(id: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    for (ctrl, file) in [
        ("cpu", "cpu.shares"),
        ("cpu", "cpu.cfs_quota_us"),
        ("cpu", "cpu.cfs_period_us"),
        ("cpuset", "cpuset.cpus"),
        ("cpuset", "cpuset.mems"),
        ("memory", "memory.limit_in_bytes"),
        ("memory", "memory.soft_limit_in_bytes"),
        ("memory", "memory.memsw.limit_in_bytes"),
        ("pids", "pids.max"),
        ("unified", "hugetlb.2MB.max"),
    ] {
        let p = cg(ctrl, id).join(file);
        if p.exists() {
            out.push((format!("{ctrl}/{file}"), read(p)));
        }
    }
    out.push(("blkio weight".into(), blkio_weight(id)));
    out
}

fn has_hugetlb_2mb(id: &str) -> bool {
    cg("unified", id).join("hugetlb.2MB.max").exists()
}

fn online_cpus() -> Vec<u32> {
    let s = read("/sys/devices/system/cpu/online");
    let mut v = vec![];
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        v.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap());
    }
    v
}

fn init_pid(env: &Env, id: &str) -> i32 {
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// Field 3 (state) of /proc/PID/stat.
fn proc_state(pid: i32) -> String {
    let s = read(format!("/proc/{pid}/stat"));
    let after = &s[s.rfind(')').unwrap() + 2..];
    after.split_whitespace().next().unwrap().to_string()
}

/// utime + stime of a process, in ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let s = read(format!("/proc/{pid}/stat"));
    let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `create` or `run -d`: the container keeps the stdio it inherits (as under runc), so its
/// output goes to files rather than pipes that `output()` would wait on forever.
fn ok_detached(env: &Env, argv: &[&str]) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let (o, e) = (
        env.dir.join(format!("detached-{n}.out")),
        env.dir.join(format!("detached-{n}.err")),
    );
    let st = env
        .cmd(argv)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    let err = std::fs::read_to_string(&e).unwrap_or_default();
    assert!(st.success(), "berth {argv:?} failed: {err}");
}

/// A bad command: exit 1, one line on stderr that names `needle`.
fn rejected(env: &Env, argv: &[&str], needle: &str) -> String {
    let out = env.run(argv);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "berth {argv:?} should fail: {}{err}",
        stdout(&out)
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "berth {argv:?}: not one line: {err}"
    );
    assert!(
        err.contains(needle),
        "berth {argv:?}: {err:?} does not name {needle:?}"
    );
    err
}

/// Runs `berth events` in the background; lines arrive on the receiver.
struct Events {
    child: Child,
    rx: mpsc::Receiver<String>,
}

impl Events {
    fn start(env: &Env, argv: &[&str]) -> Events {
        let mut child = env
            .cmd(argv)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Events { child, rx }
    }

    /// Lines until one satisfies `f` (returned), or panics after `limit`.
    fn until(
        &self,
        what: &str,
        limit: Duration,
        f: impl Fn(&Value) -> bool,
    ) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + limit;
        let mut seen = vec![];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} event within {limit:?}; saw {seen:?}"));
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("event line {line:?}: {e}"));
            if f(&v) {
                return (v, seen);
            }
            seen.push(v);
        }
    }

    /// Waits for the process to exit on its own.
    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "berth events did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn create_applies_config_resources_and_update_changes_them() {
    require_root!();
    let env = Env::new("cg-update");
    let id = uid("upd");
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "1000"]);
        s["linux"]["resources"]["cpu"] =
            json!({ "shares": 100, "quota": 50000, "period": 100000, "cpus": "0" });
        s["linux"]["resources"]["memory"] = json!({ "limit": 33554432, "reservation": 25165824 });
        s["linux"]["resources"]["pids"] = json!({ "limit": 20 });
        s["linux"]["resources"]["blockIO"] = json!({ "weight": 200 });
        s["linux"]["resources"]["hugepageLimits"] =
            json!([{ "pageSize": "2MB", "limit": 4194304 }]);
    });
    ok_detached(&env, &["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "100");
    assert_eq!(cgv("cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgv("cpu", &id, "cpu.cfs_period_us"), "100000");
    assert_eq!(cgv("cpuset", &id, "cpuset.cpus"), "0");
    assert_eq!(cgv("memory", &id, "memory.limit_in_bytes"), "33554432");
    assert_eq!(cgv("memory", &id, "memory.soft_limit_in_bytes"), "25165824");
    assert_eq!(cgv("pids", &id, "pids.max"), "20");
    assert_eq!(blkio_weight(&id), "200");
    if has_hugetlb_2mb(&id) {
        assert_eq!(cgv("unified", &id, "hugetlb.2MB.max"), "4194304");
    } else {
        eprintln!("note: no hugetlb.2MB.max on the unified hierarchy here; hugetlb not asserted");
    }
    env.ok(&["start", &id]);

    // The issue's example: memory and shares at once, docker units.
    env.ok(&["update", "--memory", "256m", "--cpu-share", "512", &id]);
    assert_eq!(cgv("memory", &id, "memory.limit_in_bytes"), "268435456");
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "512");
    // Untouched values stay.
    assert_eq!(cgv("cpu", &id, "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgv("pids", &id, "pids.max"), "20");

    for (flags, ctrl, file, want) in [
        (
            &["--cpu-quota", "20000"][..],
            "cpu",
            "cpu.cfs_quota_us",
            "20000",
        ),
        (
            &["--cpu-period", "200000"],
            "cpu",
            "cpu.cfs_period_us",
            "200000",
        ),
        (&["--cpu-quota", "-1"], "cpu", "cpu.cfs_quota_us", "-1"),
        (
            &["--cpu-rt-period", "500000"],
            "cpu",
            "cpu.rt_period_us",
            "500000",
        ),
        (
            &["--memory", "1g"],
            "memory",
            "memory.limit_in_bytes",
            "1073741824",
        ),
        (
            &["--memory", "8192K"],
            "memory",
            "memory.limit_in_bytes",
            "8388608",
        ),
        (
            &["--memory", "300000000"],
            "memory",
            "memory.limit_in_bytes",
            "299999232",
        ),
        (
            &["--memory-reservation", "64m"],
            "memory",
            "memory.soft_limit_in_bytes",
            "67108864",
        ),
        (
            &["--memory", "128m", "--memory-swap", "256m"],
            "memory",
            "memory.memsw.limit_in_bytes",
            "268435456",
        ),
        (&["--pids-limit", "42"], "pids", "pids.max", "42"),
        (&["--pids-limit", "-1"], "pids", "pids.max", "max"),
        (&["--cpuset-mems", "0"], "cpuset", "cpuset.mems", "0"),
    ] {
        let mut argv = vec!["update"];
        argv.extend_from_slice(flags);
        argv.push(&id);
        env.ok(&argv);
        assert_eq!(cgv(ctrl, &id, file), want, "after update {flags:?}");
    }
    let cpus = online_cpus();
    let last = cpus.last().unwrap().to_string();
    env.ok(&["update", "--cpuset-cpus", &last, &id]);
    assert_eq!(cgv("cpuset", &id, "cpuset.cpus"), last);
    env.ok(&["update", "--blkio-weight", "300", &id]);
    assert_eq!(blkio_weight(&id), "300");

    // -r from a file and from stdin.
    let rfile = env.dir.join("r.json");
    std::fs::write(
        &rfile,
        r#"{"memory": {"limit": 67108864, "swap": 134217728}, "cpu": {"shares": 700}, "pids": {"limit": 30},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}"#,
    )
    .unwrap();
    env.ok(&["update", "-r", rfile.to_str().unwrap(), &id]);
    assert_eq!(cgv("memory", &id, "memory.limit_in_bytes"), "67108864");
    assert_eq!(
        cgv("memory", &id, "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "700");
    assert_eq!(cgv("pids", &id, "pids.max"), "30");
    if has_hugetlb_2mb(&id) {
        assert_eq!(cgv("unified", &id, "hugetlb.2MB.max"), "2097152");
    }
    let mut child = env
        .cmd(&["update", "--resources", "-", &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Engines send every field, zeros for the ones they do not change (runc's template).
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        br#"{"cpu": {"shares": 0, "quota": 0, "period": 0, "cpus": "", "mems": ""},
             "memory": {"limit": 0, "reservation": 0, "swap": 0}, "blockIO": {"weight": 0},
             "pids": {"limit": 25}}"#,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(cgv("pids", &id, "pids.max"), "25");
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "700", "0 means unchanged");
    assert_eq!(
        cgv("memory", &id, "memory.limit_in_bytes"),
        "67108864",
        "0 means unchanged"
    );
    assert_eq!(
        cgv("cpuset", &id, "cpuset.cpus"),
        last,
        "\"\" means unchanged"
    );
    assert_eq!(blkio_weight(&id), "300");
}

#[test]
fn bad_updates_leave_the_limits_in_force() {
    require_root!();
    let env = Env::new("cg-bad");
    let id = uid("bad");
    let b = env.bundle("b", |s| {
        args(
            s,
            &[
                "sh",
                "-c",
                "dd if=/dev/zero bs=1M count=4 | cat >/dev/null; sleep 1000",
            ],
        );
        s["linux"]["resources"]["cpu"] = json!({ "shares": 256 });
        s["linux"]["resources"]["memory"] = json!({ "limit": 67108864 });
        s["linux"]["resources"]["pids"] = json!({ "limit": 50 });
        s["linux"]["resources"]["blockIO"] = json!({ "weight": 200 });
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let before = limits(&id);
    let absent = (online_cpus().last().unwrap() + 1).to_string();
    let badjson = env.dir.join("bad.json");
    std::fs::write(&badjson, "{\"memory\": {\"limit\": 1").unwrap();
    let wrongtype = env.dir.join("wrong.json");
    std::fs::write(&wrongtype, r#"{"cpu": {"shares": "lots"}}"#).unwrap();
    let missing = env.dir.join("missing.json");
    for (flags, needle) in [
        (&["--cpu-share", "0"][..], "\"0\""),
        (&["--cpu-share", "-5"], "-5"),
        (&["--cpu-share", "1"], "\"1\""),
        (&["--cpu-share", "lots"], "lots"),
        (&["--memory", "12x"], "12x"),
        (&["--memory", "1.5g"], "1.5g"),
        (&["--memory", "0"], "memory"),
        (&["--memory-swap", "1q"], "1q"),
        (&["--pids-limit", "many"], "many"),
        (&["--blkio-weight", "5"], "blkio-weight"),
        (&["--cpu-quota", "10"], "\"10\""),
        (&["--cpuset-cpus", absent.as_str()], absent.as_str()),
        (&["--cpuset-cpus", "0-"], "0-"),
        // Memory below what the container uses: the kernel's EBUSY as a clear message.
        (&["--memory", "4k"], "usage"),
        // Swap (memory+swap) smaller than memory, given together or against the saved limit.
        (&["--memory", "128m", "--memory-swap", "64m"], "67108864"),
        (&["--memory-swap", "32m"], "33554432"),
        // A valid field with an invalid one: neither is applied.
        (&["--cpu-share", "300", "--memory", "1x"], "1x"),
        (&["--pids-limit", "10", "--cpu-share", "0"], "\"0\""),
        // The kernel refuses a later write: the earlier one is rolled back.
        (&["--cpu-share", "300", "--memory", "4k"], "usage"),
        (&["-r", badjson.to_str().unwrap()], "bad.json"),
        (&["-r", wrongtype.to_str().unwrap()], "wrong.json"),
        (&["-r", missing.to_str().unwrap()], "missing.json"),
    ] {
        let mut argv = vec!["update"];
        argv.extend_from_slice(flags);
        argv.push(&id);
        rejected(&env, &argv, needle);
        assert_eq!(
            limits(&id),
            before,
            "limits changed by rejected update {flags:?}"
        );
    }
    // Still usable afterwards.
    env.ok(&["update", "--cpu-share", "300", &id]);
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "300");
    rejected(
        &env,
        &["update", "--cpu-share", "300", "nosuch-cgcli"],
        "nosuch-cgcli",
    );
    env.ok(&["kill", &id, "KILL"]);
    wait_for("container to stop", Duration::from_secs(10), || {
        env.status(&id) == "stopped"
    });
    rejected(&env, &["update", "--cpu-share", "400", &id], "not running");
}

#[test]
fn update_persists_into_the_saved_config() {
    require_root!();
    let env = Env::new("cg-persist");
    let id = uid("persist");
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "1000"]);
        s["linux"]["resources"]["memory"] = json!({ "limit": 33554432 });
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    env.ok(&["update", "--memory", "64m", "--pids-limit", "40", &id]);
    let saved: Value =
        serde_json::from_slice(&std::fs::read(env.root.join(&id).join("state.json")).unwrap())
            .unwrap();
    let r = &saved["config"]["linux"]["resources"];
    assert_eq!(r["memory"]["limit"], 67108864);
    assert_eq!(r["pids"]["limit"], 40);
    // A later swap-only update is checked against the saved (updated) memory limit.
    rejected(&env, &["update", "--memory-swap", "48m", &id], "50331648");
    env.ok(&["update", "--memory-swap", "128m", &id]);
    assert_eq!(
        cgv("memory", &id, "memory.memsw.limit_in_bytes"),
        "134217728"
    );
    assert_eq!(cgv("memory", &id, "memory.limit_in_bytes"), "67108864");
}

#[test]
fn spec_resource_flags_reach_the_kernel() {
    require_root!();
    let env = Env::new("cg-spec");
    let id = uid("spec");
    let b = env.dir.join("sb");
    std::fs::create_dir_all(&b).unwrap();
    env.ok(&[
        "spec",
        "-b",
        b.to_str().unwrap(),
        "--cpu-shares",
        "10",
        "--memory",
        "1024m",
        "--pids-limit",
        "64",
        "--cpuset-cpus",
        "0",
    ]);
    let cfg_path = b.join("config.json");
    let mut cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    assert_eq!(cfg["linux"]["resources"]["cpu"]["shares"], 10);
    assert_eq!(cfg["linux"]["resources"]["memory"]["limit"], 1073741824);
    // Point the generated config at the test rootfs and a long-running command.
    cfg["root"] = json!({ "path": common::rootfs(), "readonly": true });
    cfg["process"]["terminal"] = json!(false);
    args(&mut cfg, &["sleep", "1000"]);
    std::fs::write(&cfg_path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    ok_detached(&env, &["create", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(cgv("cpu", &id, "cpu.shares"), "10");
    assert_eq!(cgv("memory", &id, "memory.limit_in_bytes"), "1073741824");
    assert_eq!(cgv("pids", &id, "pids.max"), "64");
    assert_eq!(cgv("cpuset", &id, "cpuset.cpus"), "0");
    env.ok(&["delete", "-f", &id]);

    for (flags, needle) in [
        (&["--cpu-shares", "0"][..], "\"0\""),
        (&["--cpu-shares", "-3"], "-3"),
        (&["--memory", "1024x"], "1024x"),
        (&["--memory", "1g", "--memory-swap", "512m"], "512m"),
        (&["--pids-limit", "0"], "pids-limit"),
    ] {
        let d = env.dir.join("bad-spec");
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let mut argv = vec!["spec", "-b", d.to_str().unwrap()];
        argv.extend_from_slice(flags);
        rejected(&env, &argv, needle);
        assert!(!d.join("config.json").exists(), "{flags:?} wrote a config");
    }
}

#[test]
fn oom_kill_is_reported_by_events() {
    require_root!();
    let env = Env::new("cg-oom");
    let id = uid("oom");
    // dd's 64 MiB buffer cannot fit in 16 MiB; it waits for /tmp/go (the container's tmpfs).
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; dd if=/dev/zero of=/dev/null bs=64M count=1; echo rc=$? >/tmp/done; sleep 1000"]);
        s["linux"]["resources"]["memory"] = json!({ "limit": 16777216, "swap": 16777216 });
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let pid = init_pid(&env, &id);
    let stats0: Value = serde_json::from_str(env.ok(&["events", "--stats", &id]).trim()).unwrap();
    assert_eq!(stats0["type"], "stats");
    assert_eq!(stats0["id"], id.as_str());
    assert_eq!(stats0["data"]["memory"]["usage"]["limit"], 16777216);
    assert!(stats0["data"]["pids"]["current"].as_u64().unwrap() >= 1);
    assert!(stats0["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0);

    let mut ev = Events::start(&env, &["events", "--interval", "300ms", &id]);
    // A first stats event shows the stream is live before the OOM is triggered.
    let (st, _) = ev.until("stats", Duration::from_secs(5), |v| v["type"] == "stats");
    assert_eq!(st["id"], id.as_str());
    std::fs::write(format!("/proc/{pid}/root/tmp/go"), "").unwrap();
    let (oom, _) = ev.until("oom", Duration::from_secs(10), |v| v["type"] == "oom");
    assert_eq!(oom, json!({ "type": "oom", "id": id }));
    wait_for("dd to be killed", Duration::from_secs(10), || {
        std::path::Path::new(&format!("/proc/{pid}/root/tmp/done")).exists()
    });
    assert_eq!(
        read(format!("/proc/{pid}/root/tmp/done")),
        "rc=137",
        "dd was not SIGKILLed by the OOM killer"
    );
    let oc = cgv("memory", &id, "memory.oom_control");
    assert!(
        oc.lines()
            .any(|l| l.starts_with("oom_kill ") && l != "oom_kill 0"),
        "{oc}"
    );
    // --stats shows the limit reached and the kill (absent, i.e. 0, before).
    assert!(
        stats0["data"]["memory"].get("oomKill").is_none(),
        "{stats0}"
    );
    let stats1: Value = serde_json::from_str(env.ok(&["events", "--stats", &id]).trim()).unwrap();
    assert_eq!(
        stats1["data"]["memory"]["usage"]["max"], 16777216,
        "{stats1}"
    );
    assert_eq!(stats1["data"]["memory"]["oomKill"], 1, "{stats1}");
    // The container survives (only dd died); the stream ends when it stops.
    assert_eq!(env.status(&id), "running");
    env.ok(&["kill", &id, "KILL"]);
    let st = ev.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "events exit status {st:?}");

    // Init itself OOM-killed: the oom event comes out before events exits with the container.
    let id2 = uid("oom-init");
    let b2 = env.bundle("b2", |s| {
        args(s, &["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exec dd if=/dev/zero of=/dev/null bs=64M count=1"]);
        s["linux"]["resources"]["memory"] = json!({ "limit": 16777216, "swap": 16777216 });
    });
    ok_detached(&env, &["run", "-d", "-b", b2.to_str().unwrap(), &id2]);
    let pid2 = init_pid(&env, &id2);
    let mut ev2 = Events::start(&env, &["events", "--interval", "10s", &id2]);
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(format!("/proc/{pid2}/root/tmp/go"), "").unwrap();
    let (oom2, _) = ev2.until("oom", Duration::from_secs(10), |v| v["type"] == "oom");
    assert_eq!(oom2["id"], id2.as_str());
    assert!(ev2.wait_exit(Duration::from_secs(10)).success());
    assert_eq!(env.status(&id2), "stopped");
    rejected(&env, &["events", &id2], "not running");
}

#[test]
fn fork_bomb_is_stopped_by_the_pids_limit() {
    require_root!();
    let env = Env::new("cg-pids");
    let id = uid("pids");
    let b = env.bundle("b", |s| {
        // Forks forever; only pids.max can stop it. ash gives up on a failed fork, so the
        // forking subshell is respawned (the outer loop needs just the slot it frees).
        args(
            s,
            &[
                "sh",
                "-c",
                "while :; do (while :; do sleep 1000 & done); sleep 0.2; done",
            ],
        );
        s["linux"]["resources"]["pids"] = json!({ "limit": 16 });
    });
    ok_detached(&env, &["create", "-b", b.to_str().unwrap(), &id]);
    // Never start an unbounded fork loop without the limit in place.
    assert_eq!(
        cgv("pids", &id, "pids.max"),
        "16",
        "pids limit missing: refusing to start the fork loop"
    );
    env.ok(&["start", &id]);
    wait_for("the limit to be hit", Duration::from_secs(10), || {
        let ev = cgv("pids", &id, "pids.events");
        ev.lines().any(|l| l.starts_with("max ") && l != "max 0")
    });
    std::thread::sleep(Duration::from_millis(500));
    let current: u64 = cgv("pids", &id, "pids.current").parse().unwrap();
    assert!(current <= 16, "pids.current {current} above the limit");
    assert!(
        current >= 10,
        "pids.current {current}: the loop never got near the limit"
    );
    let pids: Vec<i64> =
        serde_json::from_str(env.ok(&["ps", "--format", "json", &id]).trim()).unwrap();
    assert!(pids.len() <= 16, "{pids:?}");
    let st: Value = serde_json::from_str(env.ok(&["events", "--stats", &id]).trim()).unwrap();
    assert_eq!(st["data"]["pids"]["limit"], 16);
    assert!(st["data"]["pids"]["current"].as_u64().unwrap() <= 16);
    // Raising the limit live lets it grow; the container is still running throughout.
    env.ok(&["update", "--pids-limit", "24", &id]);
    wait_for("growth to the new limit", Duration::from_secs(10), || {
        cgv("pids", &id, "pids.current").parse::<u64>().unwrap() > 16
    });
    assert!(cgv("pids", &id, "pids.current").parse::<u64>().unwrap() <= 24);
    assert_eq!(env.status(&id), "running");
    env.ok(&["delete", "-f", &id]);
    assert!(!cg("pids", &id).exists());
}

#[test]
fn pause_freezes_and_resume_thaws() {
    require_root!();
    let env = Env::new("cg-pause");
    let id = uid("pause");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "sleep 1000 & while :; do :; done"])
    });
    rejected(&env, &["pause", "nosuch-cgcli"], "nosuch-cgcli");
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let pid = init_pid(&env, &id);
    rejected(&env, &["resume", &id], "container not paused");
    wait_for("the busy loop to use cpu", Duration::from_secs(5), || {
        cpu_ticks(pid) > 5
    });

    env.ok(&["pause", &id]);
    assert_eq!(env.status(&id), "paused");
    assert_eq!(cgv("freezer", &id, "freezer.state"), "FROZEN");
    let pids: Vec<i32> =
        serde_json::from_str(env.ok(&["ps", "--format", "json", &id]).trim()).unwrap();
    assert!(pids.len() >= 2, "{pids:?}");
    for p in &pids {
        assert_eq!(proc_state(*p), "D", "pid {p} not frozen");
    }
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(cpu_ticks(pid), t0, "a paused busy loop kept running");
    rejected(&env, &["pause", &id], "container not running");
    let out = env.run(&["list", "--format", "json"]);
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list[0]["status"], "paused");

    env.ok(&["resume", &id]);
    assert_eq!(env.status(&id), "running");
    assert_eq!(cgv("freezer", &id, "freezer.state"), "THAWED");
    assert_ne!(proc_state(pid), "D");
    let t1 = cpu_ticks(pid);
    wait_for("the busy loop to run again", Duration::from_secs(5), || {
        cpu_ticks(pid) > t1 + 5
    });
    rejected(&env, &["resume", &id], "container not paused");

    // A paused container can be force-deleted.
    env.ok(&["pause", &id]);
    env.ok(&["delete", "-f", &id]);
    assert!(!cg("freezer", &id).exists());
    wait_for("init to be reaped", Duration::from_secs(5), || {
        !Path::new(&format!("/proc/{pid}")).exists() || proc_state(pid) == "Z"
    });

    let id2 = uid("pause-stopped");
    let b2 = env.bundle("b2", |s| args(s, &["true"]));
    ok_detached(&env, &["run", "--keep", "-b", b2.to_str().unwrap(), &id2]);
    rejected(&env, &["pause", &id2], "container not running");
    rejected(&env, &["resume", &id2], "container not paused");
}

#[test]
fn ps_lists_the_container_processes() {
    require_root!();
    let env = Env::new("cg-ps");
    let id = uid("ps");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "sleep 1001 & sleep 1002 & wait"])
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let pid = init_pid(&env, &id);
    wait_for("both sleeps", Duration::from_secs(5), || {
        read(cg("pids", &id).join("pids.current")) == "3"
    });
    let mut pids: Vec<i32> =
        serde_json::from_str(env.ok(&["ps", "--format", "json", &id]).trim()).unwrap();
    pids.sort();
    let mut want: Vec<i32> = read(cg("pids", &id).join("cgroup.procs"))
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    want.sort();
    assert_eq!(pids, want);
    assert!(pids.contains(&pid), "init {pid} missing from {pids:?}");
    assert_eq!(pids.len(), 3);

    // Table: the host's `ps -ef` header and exactly the container's lines.
    let table = env.ok(&["ps", &id]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].split_whitespace().any(|h| h == "PID"), "{table}");
    assert!(lines[0].starts_with("UID"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    let mut listed: Vec<i32> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, want);
    assert!(
        table.contains("sleep 1001") && table.contains("sleep 1002"),
        "{table}"
    );
    assert!(
        !table.contains("berth"),
        "host processes leaked in: {table}"
    );

    // Extra arguments go to ps.
    let custom = env.ok(&["ps", &id, "-eo", "pid,comm"]);
    let lines: Vec<&str> = custom.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMMAND"],
        "{custom}"
    );
    assert_eq!(lines.len(), 4, "{custom}");
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.ends_with("sleep") || l.ends_with("sh")),
        "{custom}"
    );
    rejected(&env, &["ps", &id, "-o", "comm"], "PID");
    rejected(&env, &["ps", "nosuch-cgcli"], "nosuch-cgcli");
}

#[test]
fn delete_removes_every_cgroup_dir_including_sub_cgroups() {
    require_root!();
    let env = Env::new("cg-delete");
    let id = uid("del");
    let b = env.bundle("b", |s| args(s, &["sleep", "1000"]));
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let dirs: Vec<PathBuf> = common::cgroup_dirs(&format!("/berth/{id}"))
        .into_iter()
        .filter(|d| d.exists())
        .collect();
    for c in [
        "cpu", "memory", "pids", "freezer", "cpuset", "blkio", "devices", "unified",
    ] {
        assert!(
            dirs.contains(&cg(c, &id)),
            "no {c} cgroup for the container: {dirs:?}"
        );
    }

    // exec --cgroup's placement: a host process moved into existing
    // sub-cgroups of the container's (made here, as a user would).
    for c in ["cpu", "memory", "cpuset"] {
        std::fs::create_dir_all(cg(c, &id).join("sub/inner")).unwrap();
    }
    for f in ["cpuset.cpus", "cpuset.mems"] {
        for d in ["sub", "sub/inner"] {
            std::fs::write(cg("cpuset", &id).join(d).join(f), cgv("cpuset", &id, f)).unwrap();
        }
    }
    let m = berth_cgroups::Manager::new(None, &id).unwrap();
    let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
    let spid = sleeper.id() as i32;
    m.add_process_to(spid, &["cpu,memory,cpuset:sub/inner".to_string()])
        .unwrap();
    let own = read(format!("/proc/{spid}/cgroup"));
    let line = |ctrl: &str| {
        own.lines()
            .find(|l| l.split(':').nth(1).unwrap().split(',').any(|c| c == ctrl))
            .unwrap()
            .to_string()
    };
    assert!(
        line("memory").ends_with(&format!(":/berth/{id}/sub/inner")),
        "{own}"
    );
    assert!(
        line("cpu").ends_with(&format!(":/berth/{id}/sub/inner")),
        "{own}"
    );
    assert!(
        line("cpuset").ends_with(&format!(":/berth/{id}/sub/inner")),
        "{own}"
    );
    assert!(line("pids").ends_with(&format!(":/berth/{id}")), "{own}");
    assert!(m
        .add_process_to(spid, &["../escape".to_string()])
        .unwrap_err()
        .to_string()
        .contains("../escape"));
    assert!(!cg("memory", &id).parent().unwrap().join("escape").exists());
    let pids: Vec<i32> =
        serde_json::from_str(env.ok(&["ps", "--format", "json", &id]).trim()).unwrap();
    assert!(
        pids.contains(&spid),
        "ps misses the sub-cgroup's process: {pids:?}"
    );

    env.ok(&["delete", "-f", &id]);
    let _ = sleeper.wait();
    for d in common::cgroup_dirs(&format!("/berth/{id}")) {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    assert!(!env.root.join(&id).exists());
}

#[test]
fn systemd_cgroup_driver_requests_are_refused() {
    require_root!();
    // berth has no systemd driver: silently writing cgroupfs would put the
    // container where the engine never looks for it.
    let env = Env::new("cg-systemd");
    let b = env.bundle("b", |s| common::args(s, &["true"]));
    let bundle = b.to_str().unwrap();
    rejected(
        &env,
        &["--systemd-cgroup", "run", "-b", bundle, "sd1"],
        "--systemd-cgroup",
    );
    assert!(!env.root.join("sd1").exists());
    let b = env.bundle("slice", |s| {
        common::args(s, &["true"]);
        s["linux"]["cgroupsPath"] = serde_json::json!("system.slice:berth:sd2");
    });
    rejected(
        &env,
        &["run", "-b", b.to_str().unwrap(), "sd2"],
        "system.slice:berth:sd2",
    );
    assert!(!env.root.join("sd2").exists());
    for d in common::cgroup_dirs("system.slice:berth:sd2") {
        assert!(!d.exists(), "{} was made", d.display());
    }
}

#[test]
fn unified_resources_for_a_v1_controller_are_an_invalid_configuration() {
    require_root!();
    // memory is a v1 controller on this hybrid host; runc refuses the same way.
    if !Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists() {
        berth_testkit::skip("needs the memory controller on cgroup v1 (a hybrid or v1 host)");
        return;
    }
    let env = Env::new("cg-unified-v1");
    let id = uid("unified");
    let b = env.bundle("b", |s| {
        s["linux"]["resources"]["unified"] = json!({ "memory.min": "131072" });
    });
    rejected(
        &env,
        &["run", "-d", "-b", b.to_str().unwrap(), &id],
        "invalid configuration",
    );
    assert!(!env.root.join(&id).exists(), "state dir left behind");
    for dir in common::cgroup_dirs(&format!("berth/{id}")) {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn a_pids_limit_of_0_is_1_in_the_spec_and_in_update() {
    require_root!();
    // As runc (systemd has no TasksMax=0, and its cgroupfs driver follows).
    let env = Env::new("cg-pids0");
    let id = uid("pids0");
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "100"]);
        s["linux"]["resources"]["pids"] = json!({ "limit": 0 });
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    assert_eq!(cgv("pids", &id, "pids.max"), "1");
    env.ok(&["update", "--pids-limit", "-1", &id]);
    assert_eq!(cgv("pids", &id, "pids.max"), "max");
    env.ok(&["update", "--pids-limit", "0", &id]);
    assert_eq!(cgv("pids", &id, "pids.max"), "1");
    // `pids` without a limit in resources JSON changes nothing.
    let r = env.dir.join("r.json");
    std::fs::write(&r, r#"{"pids": {}}"#).unwrap();
    env.ok(&["update", "-r", r.to_str().unwrap(), &id]);
    assert_eq!(cgv("pids", &id, "pids.max"), "1");
}

#[test]
fn a_cgroup_already_in_use_or_frozen_is_refused_and_left_alone() {
    require_root!();
    let env = Env::new("cg-occupied");
    let path = format!("/berth-it-occupied-{}", std::process::id());
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "100"]);
        s["linux"]["cgroupsPath"] = json!(path);
    });
    let bundle = b.to_str().unwrap();
    let first = uid("occ1");
    ok_detached(&env, &["run", "-d", "-b", bundle, &first]);
    let second = uid("occ2");
    rejected(
        &env,
        &["run", "-d", "-b", bundle, &second],
        "container's cgroup is not empty",
    );
    assert!(!env.root.join(&second).exists(), "state dir left behind");
    // The first container and its cgroup are untouched.
    assert_eq!(env.status(&first), "running");
    let procs = format!("/sys/fs/cgroup/pids{path}/cgroup.procs");
    assert_eq!(read(&procs).lines().count(), 1, "{procs}");
    env.ok(&["delete", "-f", &first]);

    // Frozen beforehand (by someone else): refused at once instead of hanging in it.
    let freezer = PathBuf::from(format!("/sys/fs/cgroup/freezer{path}"));
    if !Path::new("/sys/fs/cgroup/freezer").exists() {
        berth_testkit::skip("no v1 freezer hierarchy for the frozen case");
        return;
    }
    std::fs::create_dir_all(&freezer).unwrap();
    std::fs::write(freezer.join("freezer.state"), "FROZEN").unwrap();
    let t = Instant::now();
    rejected(
        &env,
        &["create", "-b", bundle, &second],
        "container's cgroup unexpectedly frozen",
    );
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(freezer.exists(), "a cgroup berth did not make was removed");
    std::fs::write(freezer.join("freezer.state"), "THAWED").unwrap();
    let _ = std::fs::remove_dir(&freezer);
    for dir in common::cgroup_dirs(&path) {
        let _ = std::fs::remove_dir(dir);
    }
}

#[test]
fn a_smaller_cpu_period_goes_in_with_its_quota_under_a_limited_parent() {
    require_root!();
    // The kernel checks each of period and quota (rt period and runtime)
    // against the other value in force and the parent's limit: the write
    // order must let a smaller period in with its smaller limit, as runc's does.
    let pod = format!("berth-it-pod-{}", std::process::id());
    let pod_dir = PathBuf::from(format!("/sys/fs/cgroup/cpu/{pod}"));
    if !Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        berth_testkit::skip("needs the v1 cpu controller with RT group scheduling");
        return;
    }
    std::fs::create_dir_all(&pod_dir).unwrap();
    std::fs::write(pod_dir.join("cpu.cfs_quota_us"), "50000").unwrap();
    std::fs::write(pod_dir.join("cpu.rt_runtime_us"), "100000").unwrap();
    let env = Env::new("cg-period");
    let id = uid("period");
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "100"]);
        s["linux"]["cgroupsPath"] = json!(format!("/{pod}/{id}"));
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let ctr = pod_dir.join(&id);
    let value = |f: &str| read(ctr.join(f));
    // 60% of the period is more than the pod's 50%: refused, nothing changed.
    rejected(
        &env,
        &["update", "--cpu-quota", "60000", &id],
        "cpu.cfs_quota_us",
    );
    env.ok(&[
        "update",
        "--cpu-period",
        "10000",
        "--cpu-quota",
        "3000",
        &id,
    ]);
    assert_eq!(
        (value("cpu.cfs_period_us"), value("cpu.cfs_quota_us")),
        ("10000".into(), "3000".into())
    );
    env.ok(&[
        "update",
        "--cpu-rt-period",
        "900001",
        "--cpu-rt-runtime",
        "60001",
        &id,
    ]);
    env.ok(&[
        "update",
        "--cpu-rt-period",
        "10000",
        "--cpu-rt-runtime",
        "600",
        &id,
    ]);
    assert_eq!(
        (value("cpu.rt_period_us"), value("cpu.rt_runtime_us")),
        ("10000".into(), "600".into())
    );
    env.ok(&["delete", "-f", &id]);
    for dir in common::cgroup_dirs(&pod) {
        let _ = std::fs::remove_dir(dir);
    }
}

#[test]
fn device_access_letters_other_than_rwm_are_left_out() {
    require_root!();
    // runc takes "rwa" as "rw"; a rule it runs must run here too.
    let env = Env::new("cg-rwa");
    let id = uid("rwa");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "head -c 1 /dev/kmsg >/dev/null 2>&1 || echo denied; echo ok >/dev/null && echo null-ok"]);
        s["linux"]["resources"]["devices"] = json!([
            { "allow": false, "access": "rwm" },
            { "allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa" }
        ]);
        s["linux"]["devices"] = json!([{ "path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11 }]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "denied\nnull-ok\n");
}

#[test]
fn per_device_bfq_weight_goes_to_its_own_file() {
    require_root!();
    // With BFQ on cgroup v1, a device's weight lives in blkio.bfq.weight_device.
    let env = Env::new("cg-bfq");
    let img = env.dir.join("disk.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let out = Command::new("losetup")
        .args(["-f", "--show"])
        .arg(&img)
        .output()
        .unwrap();
    if !out.status.success() {
        berth_testkit::skip("no loop device to test BFQ weights on");
        return;
    }
    let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let name = dev.trim_start_matches("/dev/").to_string();
    let detach = || {
        let _ = Command::new("losetup").args(["-d", &dev]).status();
    };
    let sched = format!("/sys/block/{name}/queue/scheduler");
    let _ = std::fs::write(&sched, "bfq");
    if !read(&sched).contains("[bfq]") || !Path::new("/sys/fs/cgroup/blkio").exists() {
        detach();
        berth_testkit::skip("BFQ or the v1 blkio controller is not available");
        return;
    }
    let (major, minor) = {
        let mm = read(format!("/sys/block/{name}/dev"));
        let (a, b) = mm.split_once(':').unwrap();
        (a.parse::<i64>().unwrap(), b.parse::<i64>().unwrap())
    };
    let id = uid("bfq");
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "100"]);
        s["linux"]["resources"]["blockIO"] =
            json!({ "weight": 333, "weightDevice": [{ "major": major, "minor": minor, "weight": 444 }] });
    });
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let weights = cgv("blkio", &id, "blkio.bfq.weight_device");
    let r = env.dir.join("r.json");
    std::fs::write(
        &r,
        json!({ "blockIO": { "weight": 111, "weightDevice": [{ "major": major, "minor": minor, "weight": 222 }] } })
            .to_string(),
    )
    .unwrap();
    let updated = env.run(&["update", "-r", r.to_str().unwrap(), &id]);
    let weights2 = cgv("blkio", &id, "blkio.bfq.weight_device");
    env.ok(&["delete", "-f", &id]);
    detach();
    assert!(weights.lines().any(|l| l == "default 333"), "{weights}");
    assert!(
        weights.lines().any(|l| l == format!("{major}:{minor} 444")),
        "{weights}"
    );
    assert!(updated.status.success(), "{}", stderr(&updated));
    assert!(weights2.lines().any(|l| l == "default 111"), "{weights2}");
    assert!(
        weights2
            .lines()
            .any(|l| l == format!("{major}:{minor} 222")),
        "{weights2}"
    );
}

#[test]
fn the_named_systemd_hierarchy_is_joined_and_cleaned_up() {
    require_root!();
    // runc's cgroupfs driver puts the container in name=systemd too.
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(" - cgroup ") && l.contains("name=systemd"));
    if !mounted {
        berth_testkit::skip("no name=systemd v1 hierarchy on this host");
        return;
    }
    let env = Env::new("cg-named");
    let id = uid("named");
    let b = env.bundle("b", |s| args(s, &["sleep", "100"]));
    ok_detached(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let pid = init_pid(&env, &id);
    let own = read(format!("/proc/{pid}/cgroup"));
    assert!(
        own.lines()
            .any(|l| l.ends_with(&format!(":name=systemd:/berth/{id}"))),
        "{own}"
    );
    env.ok(&["delete", "-f", &id]);
    assert!(!Path::new(&format!("/sys/fs/cgroup/systemd/berth/{id}")).exists());
}
