//! Real-kernel tests: run as root on the hybrid host (v1 controllers + hugetlb on cgroup2).
//! Each test makes its own cgroup under /berth-test and a guard destroys it even on failure.

use berth_cgroups::{Error, Manager};
use oci_spec::runtime::LinuxResources;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn root_or_skip(test: &str) -> bool {
    let root = unsafe { libc::geteuid() } == 0
        && Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists();
    if !root {
        let _ = test;
        berth_testkit::skip("needs root and a v1 memory hierarchy at /sys/fs/cgroup/memory");
    }
    root
}

struct Guard {
    m: Manager,
    children: Vec<Child>,
}

impl Guard {
    fn new(test: &str, r: &str) -> Guard {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let id = format!("{test}-{}-{nanos}", std::process::id());
        let m = Manager::new(Some(&format!("/berth-test/{id}")), &id).unwrap();
        m.create().unwrap();
        let g = Guard {
            m,
            children: vec![],
        };
        g.m.apply(&res(r)).unwrap();
        g
    }

    /// Starts `sh -c script` blocked on stdin, moves it into the cgroup, then lets it run, so
    /// everything it forks is accounted to the cgroup.
    fn spawn_sh(&mut self, script: &str) -> i32 {
        let mut c = Command::new("sh")
            .arg("-c")
            .arg(format!("read go; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        self.m.add_process(pid).unwrap();
        c.stdin.take().unwrap().write_all(b"go\n").unwrap();
        self.children.push(c);
        pid
    }

    fn path(&self, ctrl: &str) -> PathBuf {
        self.m.path(ctrl).unwrap().to_owned()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.m.thaw();
        let _ = self.m.kill_all(libc::SIGKILL);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.m.destroy();
    }
}

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
        .trim()
        .to_owned()
}

fn proc_state(pid: i32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const MB: i64 = 1 << 20;

#[test]
fn apply_update_and_destroy_on_hybrid_layout() {
    if !root_or_skip("apply_update_and_destroy_on_hybrid_layout") {
        return;
    }
    let mut g = Guard::new(
        "apply",
        r#"{
        "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
        "memory": {"limit": 67108864, "swap": 67108864, "reservation": 33554432, "swappiness": 10},
        "pids": {"limit": 32},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]
    }"#,
    );
    let (cpu, mem) = (g.path("cpu"), g.path("memory"));
    assert_ne!(
        cpu,
        g.path("cpuacct"),
        "cpu and cpuacct are separate mounts here"
    );
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "20000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&g.path("cpuset"), "cpuset.cpus"), "0");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), (64 * MB).to_string());
    if mem.join("memory.memsw.limit_in_bytes").exists() {
        assert_eq!(
            read(&mem, "memory.memsw.limit_in_bytes"),
            (64 * MB).to_string()
        );
    }
    assert_eq!(
        read(&mem, "memory.soft_limit_in_bytes"),
        (32 * MB).to_string()
    );
    assert_eq!(read(&mem, "memory.swappiness"), "10");
    assert_eq!(read(&g.path("pids"), "pids.max"), "32");
    assert_eq!(read(&g.path("devices"), "devices.list"), "c 1:3 rwm");
    let huge = g.path("hugetlb");
    assert!(
        huge.starts_with("/sys/fs/cgroup/unified"),
        "hugetlb lives on cgroup2 here: {}",
        huge.display()
    );
    assert_eq!(read(&huge, "hugetlb.2MB.max"), "4194304");

    // v1 charges pages where they were first touched, so allocate after joining.
    let pid = g.spawn_sh(r#"x=$(head -c 1000000 /dev/zero | tr '\0' a); sleep 1000"#);
    for p in g.m.paths() {
        wait_until("pid in cgroup.procs", || {
            read(p, "cgroup.procs")
                .lines()
                .any(|l| l == pid.to_string())
        });
    }
    wait_until("shell and sleep", || g.m.pids().unwrap().len() == 2);
    assert!(g.m.pids().unwrap().contains(&pid));

    // Growing memory+swap must write memsw first; both land.
    g.m.update(&res(r#"{"cpu": {"shares": 1024, "quota": 50000}, "memory": {"limit": 134217728, "swap": 268435456}, "pids": {"limit": 64}}"#)).unwrap();
    assert_eq!(read(&cpu, "cpu.shares"), "1024");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), (128 * MB).to_string());
    assert_eq!(read(&g.path("pids"), "pids.max"), "64");

    // Rejected updates leave every value in force.
    for (json, needle) in [
        (
            r#"{"pids": {"limit": 5}, "cpu": {"shares": 1}}"#,
            "cpu.shares",
        ),
        (
            r#"{"pids": {"limit": 5}, "memory": {"limit": 268435456, "swap": 1048576}}"#,
            "memory.swap",
        ),
        (
            r#"{"pids": {"limit": 5}, "cpu": {"cpus": "0-63"}}"#,
            "cpu.cpus",
        ),
        (
            r#"{"pids": {"limit": 5}, "blockIO": {"weight": 5}}"#,
            "blockIO.weight",
        ),
    ] {
        let e = g.m.update(&res(json)).unwrap_err().to_string();
        assert!(e.contains(needle) && !e.contains('\n'), "{json}: {e}");
        assert_eq!(read(&g.path("pids"), "pids.max"), "64", "{json}");
        assert_eq!(read(&cpu, "cpu.shares"), "1024", "{json}");
        assert_eq!(
            read(&mem, "memory.limit_in_bytes"),
            (128 * MB).to_string(),
            "{json}"
        );
    }

    // The child's `head | tr` pipeline may still be running: wait for it to settle to sh + sleep.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut s = g.m.stats().unwrap();
    while s.pids.current != 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        s = g.m.stats().unwrap();
    }
    assert!(
        s.memory.usage.usage > 0 && s.memory.usage.limit == 128 * MB as u64,
        "{:?}",
        s.memory.usage
    );
    assert_eq!(s.pids.current, 2);
    assert_eq!(s.pids.limit, 64);
    assert!(s.cpu.usage.total > 0, "{:?}", s.cpu.usage);
    assert!(s.hugetlb.contains_key("2MB"), "{:?}", s.hugetlb);
    let j = serde_json::to_value(&s).unwrap();
    assert!(j["memory"]["usage"]["usage"].as_u64().unwrap() > 0);

    let paths: Vec<PathBuf> = g.m.paths().map(Path::to_owned).collect();
    g.m.kill_all(libc::SIGKILL).unwrap();
    for c in &mut g.children {
        c.wait().unwrap();
    }
    g.m.destroy().unwrap();
    for p in &paths {
        assert!(!p.exists(), "{} still exists", p.display());
    }
}

#[test]
fn blkio_weight_only_where_the_kernel_has_it() {
    if !root_or_skip("blkio_weight_only_where_the_kernel_has_it") {
        return;
    }
    let g = Guard::new("blkio", r#"{"pids": {"limit": 10}}"#);
    let dir = g.path("blkio");
    let r = g.m.update(&res(
        r#"{"pids": {"limit": 20}, "blockIO": {"weight": 300}}"#,
    ));
    if dir.join("blkio.weight").exists() || dir.join("blkio.bfq.weight").exists() {
        r.unwrap();
        let f = if dir.join("blkio.weight").exists() {
            "blkio.weight"
        } else {
            "blkio.bfq.weight"
        };
        assert!(read(&dir, f).contains("300"));
    } else {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e}");
        assert_eq!(
            read(&g.path("pids"), "pids.max"),
            "10",
            "nothing written on a rejected update"
        );
    }
    // Throttle files exist with every scheduler.
    let dev = std::fs::metadata("/dev/vda")
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::rdev(&m));
    if let Some(rdev) = dev {
        let (ma, mi) = (libc::major(rdev), libc::minor(rdev));
        g.m.update(&res(&format!(r#"{{"blockIO": {{"throttleReadBpsDevice": [{{"major": {ma}, "minor": {mi}, "rate": 1048576}}]}}}}"#))).unwrap();
        assert_eq!(
            read(&dir, "blkio.throttle.read_bps_device"),
            format!("{ma}:{mi} 1048576")
        );
    }
}

#[test]
fn memory_below_usage_is_refused_and_old_limit_kept() {
    if !root_or_skip("memory_below_usage_is_refused_and_old_limit_kept") {
        return;
    }
    let mut g = Guard::new(
        "busy",
        r#"{"memory": {"limit": 134217728, "swap": 134217728}}"#,
    );
    let mem = g.path("memory");
    // The shell holds ~16MB of anonymous memory that cannot be reclaimed without swap.
    g.spawn_sh(r#"x=$(head -c 16000000 /dev/zero | tr '\0' a); touch /dev/null; sleep 1000"#);
    wait_until("usage above 12MB", || {
        read(&mem, "memory.usage_in_bytes").parse::<u64>().unwrap() > 12 << 20
    });
    let e =
        g.m.update(&res(r#"{"memory": {"limit": 1048576, "swap": 1048576}}"#))
            .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::MemoryBelowUsage { .. }), "{msg}");
    assert!(msg.contains("1048576") && msg.contains("usage"), "{msg}");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), (128 * MB).to_string());
    assert_eq!(
        read(&mem, "memory.memsw.limit_in_bytes"),
        (128 * MB).to_string()
    );
    // checkBeforeUpdate refuses before touching the kernel.
    let e =
        g.m.update(&res(
            r#"{"memory": {"limit": 2097152, "checkBeforeUpdate": true}}"#,
        ))
        .unwrap_err();
    assert!(matches!(e, Error::BelowUsage { what: "memory", .. }), "{e}");
    assert!(
        e.to_string()
            .contains("rejecting memory limit 2097152 below usage"),
        "{e}"
    );
}

#[test]
fn freeze_and_thaw() {
    if !root_or_skip("freeze_and_thaw") {
        return;
    }
    let mut g = Guard::new("freeze", r#"{}"#);
    let pid = g.spawn_sh("exec sleep 1000");
    wait_until("sleep running", || {
        std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap()
            .starts_with("sleep")
    });
    assert!(!g.m.is_frozen().unwrap());
    g.m.freeze().unwrap();
    assert!(g.m.is_frozen().unwrap());
    assert_eq!(read(&g.path("freezer"), "freezer.state"), "FROZEN");
    assert_eq!(proc_state(pid), 'D', "frozen tasks show as D");
    g.m.thaw().unwrap();
    assert!(!g.m.is_frozen().unwrap());
    wait_until("sleep thawed", || proc_state(pid) == 'S');
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    if !root_or_skip("pids_limit_stops_a_fork_loop") {
        return;
    }
    let mut g = Guard::new("forks", r#"{"pids": {"limit": 8}}"#);
    let pids = g.path("pids");
    g.spawn_sh("i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done; sleep 1000");
    wait_until("fork failures", || {
        read(&pids, "pids.events")
            .split_whitespace()
            .nth(1)
            .unwrap()
            != "0"
    });
    assert!(read(&pids, "pids.current").parse::<u32>().unwrap() <= 8);
    let inside = g.m.pids().unwrap();
    assert!(inside.len() > 1 && inside.len() <= 8, "{inside:?}");
    g.m.kill_all(libc::SIGKILL).unwrap();
    wait_until("all killed", || g.m.pids().unwrap().is_empty());
}

#[test]
fn memory_hog_is_oom_killed() {
    if !root_or_skip("memory_hog_is_oom_killed") {
        return;
    }
    let mut g = Guard::new(
        "oom",
        r#"{"memory": {"limit": 33554432, "swap": 33554432}}"#,
    );
    assert_eq!(g.m.oom_kill_count().unwrap(), 0);
    // tail must keep the one endless "line" (no newline in /dev/zero) in memory: the limit kills it.
    g.spawn_sh("head -c 300000000 /dev/zero | tail; exit 0");
    let status = g.children[0].wait().unwrap();
    assert!(status.success(), "the shell itself survives: {status:?}");
    assert!(g.m.oom_kill_count().unwrap() > 0);
    let s = g.m.stats().unwrap();
    assert!(s.memory.usage.max > 16 << 20, "{:?}", s.memory.usage);
}

#[test]
fn relative_path_is_under_own_cgroup() {
    if !root_or_skip("relative_path_is_under_own_cgroup") {
        return;
    }
    let rel = format!("berth-rel-{}", std::process::id());
    let m = Manager::new(Some(&rel), "rel").unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mem_own = own
        .lines()
        .find_map(|l| {
            l.strip_prefix(|c: char| c.is_ascii_digit())
                .and_then(|l| l.strip_prefix(":memory:"))
        })
        .unwrap();
    let want = Path::new("/sys/fs/cgroup/memory")
        .join(mem_own.trim_start_matches('/'))
        .join(&rel);
    assert_eq!(m.path("memory").unwrap(), want);
    m.create().unwrap();
    let exists = want.is_dir();
    m.destroy().unwrap();
    assert!(exists && !want.exists());
}

#[test]
fn bad_paths_are_rejected() {
    assert!(Manager::new(Some("/a/../../etc"), "x")
        .unwrap_err()
        .to_string()
        .contains("cgroupsPath"));
    assert!(Manager::new(None, "a/b")
        .unwrap_err()
        .to_string()
        .contains("a/b"));
    if root_or_skip("bad_paths_are_rejected") {
        let m = Manager::new(None, "never-created").unwrap();
        assert_eq!(
            m.path("memory").unwrap(),
            Path::new("/sys/fs/cgroup/memory/berth/never-created")
        );
        m.destroy().unwrap(); // missing directories are fine
    }
}
