//! cgroup v2 code paths, run against a fake cgroup2 tree in a temp dir (this host's v2
//! hierarchy only carries hugetlb). The manager is pointed at it through `from_mountinfo`.

use crate::device_filter::tests::{rule, run};
use crate::device_filter::{ACC_READ, ACC_WRITE, DEV_CHAR};
use crate::{Manager, Version};
use oci_spec::runtime::*;
use std::fs;
use std::path::{Path, PathBuf};

struct Tree(PathBuf);
impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A fake pure-v2 mount with the files a kernel would show in a leaf cgroup.
fn fake_v2(name: &str) -> (Tree, Manager, PathBuf) {
    let root = std::env::temp_dir().join(format!("berth-cg-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids rdma\n",
    )
    .unwrap();
    fs::write(root.join("cgroup.subtree_control"), "").unwrap();
    let mi = format!(
        "41 31 0:38 / {} rw,relatime - cgroup2 cgroup2 rw\n",
        root.display()
    );
    let m = Manager::from_mountinfo(&mi, None, Some("/b/c1"), "c1").unwrap();
    // create() makes the dirs; the kernel would then populate files, which we do by hand.
    m.create().unwrap();
    let b = root.join("b");
    let d = b.join("c1");
    fs::write(b.join("cpuset.cpus.effective"), "0-3\n").unwrap();
    fs::write(b.join("cpuset.mems.effective"), "0\n").unwrap();
    for (f, v) in [
        ("cpu.weight", "100"),
        ("cpu.max", "max 100000"),
        ("cpu.max.burst", "0"),
        ("cpu.idle", "0"),
        ("cpuset.cpus", ""),
        ("cpuset.mems", ""),
        ("memory.max", "max"),
        ("memory.swap.max", "max"),
        ("memory.low", "0"),
        ("memory.high", "max"),
        ("pids.max", "max"),
        ("io.weight", "default 100"),
        ("io.max", ""),
        ("hugetlb.2MB.max", "max"),
        ("cgroup.freeze", "0"),
        ("cgroup.events", "populated 0\nfrozen 0\n"),
        ("cgroup.procs", ""),
        ("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n"),
        ("memory.current", "4096"),
        ("memory.stat", "anon 10\nfile 20\n"),
        ("cpu.stat", "usage_usec 7\nuser_usec 3\nsystem_usec 4\n"),
        ("pids.current", "1"),
        (
            "io.stat",
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
        ),
        ("hugetlb.2MB.current", "0"),
    ] {
        fs::write(d.join(f), v).unwrap();
    }
    (Tree(root), m, d)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap().trim().to_owned()
}

fn res(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

#[test]
fn rdma_limits_go_to_rdma_max_and_bad_names_write_nothing() {
    let (_t, m, d) = fake_v2("rdma");
    m.apply(&res(r#"{"rdma": {"mlx5_1": {"hcaHandles": 3}, "mlx4_0": {"hcaHandles": 2, "hcaObjects": 1000}}}"#))
        .unwrap();
    // One write per device, sorted: this plain file keeps only the last (mlx5_1); the kernel keeps each.
    assert_eq!(
        read(&d.join("rdma.max")),
        "mlx5_1 hca_handle=3 hca_object=max"
    );
    let e = m
        .apply(&res(r#"{"rdma": {"bad dev": {"hcaHandles": 1}}}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("resources.rdma") && e.contains("bad dev"), "{e}");
    assert_eq!(
        read(&d.join("rdma.max")),
        "mlx5_1 hca_handle=3 hca_object=max"
    );
}

#[test]
fn layout_and_subtree_control() {
    let (t, m, d) = fake_v2("layout");
    assert!(m.is_unified());
    assert_eq!(m.path("memory"), Some(d.as_path()));
    assert_eq!(m.path("hugetlb"), Some(d.as_path()));
    assert_eq!(
        read(&t.0.join("cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +hugetlb +pids +rdma"
    );
    assert_eq!(
        read(&t.0.join("b/cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +hugetlb +pids +rdma"
    );
    // Serializes for the container state file.
    let back: Manager = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn apply_writes_v2_files() {
    let (_t, m, d) = fake_v2("apply");
    m.apply(&res(r#"{
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "cpus": "1-2", "mems": "0"},
        "memory": {"limit": 104857600, "swap": 209715200, "reservation": 52428800},
        "pids": {"limit": 64},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
        "unified": {"memory.high": "90000000"}
    }"#)).unwrap();
    assert_eq!(read(&d.join("cpu.weight")), "39");
    assert_eq!(read(&d.join("cpu.max")), "50000 100000");
    assert_eq!(read(&d.join("cpu.max.burst")), "1000");
    assert_eq!(read(&d.join("cpuset.cpus")), "1-2");
    assert_eq!(read(&d.join("memory.max")), "104857600");
    assert_eq!(
        read(&d.join("memory.swap.max")),
        "104857600",
        "OCI swap is memory+swap; v2 takes swap alone"
    );
    assert_eq!(read(&d.join("memory.low")), "52428800");
    assert_eq!(read(&d.join("pids.max")), "64");
    assert_eq!(read(&d.join("io.weight")), "4950");
    assert_eq!(read(&d.join("io.max")), "8:0 rbps=1048576");
    assert_eq!(read(&d.join("hugetlb.2MB.max")), "4194304");
    assert_eq!(read(&d.join("memory.high")), "90000000");
}

#[test]
fn unlimited_values_become_max() {
    let (_t, m, d) = fake_v2("max");
    m.apply(&res(r#"{"cpu": {"quota": -1, "period": 50000}, "memory": {"limit": -1}, "pids": {"limit": -1}}"#)).unwrap();
    assert_eq!(read(&d.join("cpu.max")), "max 50000");
    assert_eq!(read(&d.join("memory.max")), "max");
    assert_eq!(read(&d.join("memory.swap.max")), "max");
    assert_eq!(read(&d.join("pids.max")), "max");
}

#[test]
fn update_keeps_quota_when_only_period_changes_and_rolls_back() {
    let (_t, m, d) = fake_v2("update");
    m.apply(&res(
        r#"{"cpu": {"quota": 20000, "period": 100000}, "pids": {"limit": 10}}"#,
    ))
    .unwrap();
    m.update(&res(r#"{"cpu": {"period": 50000}}"#)).unwrap();
    assert_eq!(read(&d.join("cpu.max")), "20000 50000");
    // A write that fails midway (file made a directory) restores what was already written.
    fs::remove_file(d.join("memory.low")).unwrap();
    fs::create_dir(d.join("memory.low")).unwrap();
    let e = m
        .update(&res(
            r#"{"pids": {"limit": 99}, "memory": {"reservation": 1000}}"#,
        ))
        .unwrap_err()
        .to_string();
    assert!(e.contains("memory.low"), "{e}");
    assert_eq!(read(&d.join("pids.max")), "10");
}

#[test]
fn plan_update_lists_the_writes_of_update_and_makes_none() {
    let (_t, m, d) = fake_v2("plan");
    let r = res(
        r#"{"cpu": {"shares": 1024, "period": 50000}, "pids": {"limit": 7},
        "devices": [{"allow": false, "access": "rwm"}]}"#,
    );
    let plan = m.plan_update(&r).unwrap();
    // Device rules are left out, as update leaves them out.
    let want: Vec<(PathBuf, String)> = vec![
        (d.join("cpu.weight"), "39".into()),
        (d.join("cpu.max"), "max 50000".into()),
        (d.join("pids.max"), "7".into()),
    ];
    assert_eq!(plan, want);
    assert_eq!(read(&d.join("cpu.max")), "max 100000");
    assert_eq!(read(&d.join("pids.max")), "max");
    m.update(&r).unwrap();
    for (f, v) in &want {
        assert_eq!(&read(f), v);
    }
    let e = m
        .plan_update(&res(r#"{"cpu": {"shares": 1}}"#))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cpu.shares"), "{e}");
}

#[test]
fn invalid_input_writes_nothing() {
    let (_t, m, d) = fake_v2("invalid");
    for (json, needle) in [
        (
            r#"{"pids": {"limit": 5}, "cpu": {"shares": 1}}"#,
            "cpu.shares",
        ),
        (
            r#"{"pids": {"limit": 5}, "memory": {"limit": 200, "swap": 100}}"#,
            "memory.swap",
        ),
        (
            r#"{"pids": {"limit": 5}, "cpu": {"cpus": "0-7"}}"#,
            "4 is not available",
        ),
        (
            r#"{"pids": {"limit": 5}, "cpu": {"realtimeRuntime": 1000}}"#,
            "realtime",
        ),
        (
            r#"{"pids": {"limit": 5}, "hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}"#,
            "hugetlb.3MB.max",
        ),
        (
            r#"{"pids": {"limit": 5}, "unified": {"cgroup.procs": "1"}}"#,
            "cgroup.procs",
        ),
        (
            r#"{"pids": {"limit": 5}, "unified": {"memory.nonexistent": "1"}}"#,
            "memory.nonexistent",
        ),
        (
            r#"{"pids": {"limit": 5}, "network": {"classID": 3}}"#,
            "net_cls",
        ),
        (
            r#"{"pids": {"limit": 5}, "hugepageLimits": [{"pageSize": "x\u00e9B", "limit": 1}]}"#,
            "pageSize",
        ),
        (
            r#"{"pids": {"limit": 5}, "cpu": {"quota": 10}}"#,
            "cpu.quota",
        ),
        (
            r#"{"pids": {"limit": 5}, "memory": {"swappiness": 101}}"#,
            "swappiness",
        ),
        (
            r#"{"pids": {"limit": 5}, "blockIO": {"weight": 2000}}"#,
            "blockIO.weight",
        ),
    ] {
        let e = m.apply(&res(json)).unwrap_err().to_string();
        assert!(e.contains(needle), "{json}: {e}");
        assert_eq!(
            read(&d.join("pids.max")),
            "max",
            "{json} wrote pids.max before failing"
        );
    }
}

#[test]
fn freeze_uses_cgroup_freeze() {
    let (_t, m, d) = fake_v2("freeze");
    assert!(!m.is_frozen().unwrap());
    // Nothing flips cgroup.events in a fake tree, so freezing must time out (not hang or lie).
    let e = m.freeze().unwrap_err().to_string();
    assert!(
        e.contains("cgroup.freeze") && e.contains("timed out"),
        "{e}"
    );
    assert_eq!(read(&d.join("cgroup.freeze")), "1");
    fs::write(d.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
    assert!(m.is_frozen().unwrap());
    m.freeze().unwrap();
}

#[test]
fn stats_and_oom_from_v2_files() {
    let (_t, m, _d) = fake_v2("stats");
    let s = m.stats().unwrap();
    assert_eq!(s.cpu.usage.total, 7000);
    assert_eq!(s.cpu.usage.kernel, 4000);
    assert_eq!(s.memory.usage.usage, 4096);
    assert_eq!(s.memory.usage.limit, u64::MAX);
    assert_eq!(s.memory.usage.failcnt, 3);
    assert_eq!(s.memory.cache, 20);
    assert_eq!(s.pids.current, 1);
    assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
    assert_eq!(s.blkio.io_serviced_recursive[1].op, "Write");
    assert!(s.hugetlb.contains_key("2MB"));
    assert_eq!(m.oom_kill_count().unwrap(), 2);
    assert_eq!(s.memory.oom_kill, 2);
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["memory"]["oomKill"], 2);
    assert_eq!(j["blkio"]["ioServiceBytesRecursive"][0]["value"], 10);
    assert!(j["memory"]["kernelTCP"].is_object());
}

#[test]
fn devices_go_to_bpf_on_v2() {
    let (_t, m, d) = fake_v2("devices");
    let rules = vec![
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rw"),
    ];
    let mut r = LinuxResources::default();
    r.set_devices(Some(rules.clone()));
    let plan = crate::resources::plan(&m, &r, true).unwrap();
    assert!(plan.writes.is_empty(), "no devices.* files on v2");
    let (dir, got) = plan.devices.unwrap();
    assert_eq!(dir, d);
    let prog = crate::device_filter::program(&got);
    assert_eq!(run(&prog, DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
    assert_eq!(run(&prog, DEV_CHAR, ACC_READ, 1, 5), 0);
}

#[test]
fn hybrid_uses_each_controller_where_it_lives() {
    let root = std::env::temp_dir().join(format!("berth-cg-hybrid-{}", std::process::id()));
    fs::create_dir_all(root.join("unified")).unwrap();
    let _t = Tree(root.clone());
    fs::write(root.join("unified/cgroup.controllers"), "hugetlb\n").unwrap();
    let mi = format!(
        "32 31 0:29 / {r}/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n35 31 0:32 / {r}/memory rw - cgroup cgroup rw,memory\n\
         40 31 0:37 / {r}/systemd rw - cgroup cgroup rw,name=systemd\n41 31 0:38 / {r}/unified rw - cgroup2 cgroup2 rw\n",
        r = root.display()
    );
    let m = Manager::from_mountinfo(
        &mi,
        Some("9:name=systemd:/s\n4:memory:/x\n1:cpu,cpuacct:/\n0::/y\n"),
        Some("rel"),
        "c",
    )
    .unwrap();
    assert_eq!(m.path("cpu"), m.path("cpuacct"));
    assert_eq!(m.path("cpu").unwrap(), root.join("cpu,cpuacct/rel"));
    assert_eq!(m.path("memory").unwrap(), root.join("memory/x/rel"));
    assert_eq!(m.path("hugetlb").unwrap(), root.join("unified/y/rel"));
    assert_eq!(m.path("freezer"), None);
    // The named systemd hierarchy is joined, as runc joins it.
    assert_eq!(m.path("name=systemd").unwrap(), root.join("systemd/s/rel"));
    assert!(!m.is_unified());
    let _ = Version::V1;
}

#[test]
fn add_process_to_joins_existing_sub_cgroups_only() {
    let (_t, m, d) = fake_v2("addto");
    let to = |pid: i32, entries: &[&str]| {
        let e: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        m.add_process_to(pid, &e)
    };
    fs::create_dir_all(d.join("sub/x")).unwrap();
    fs::create_dir_all(d.join("other")).unwrap();
    to(4321, &["sub/x"]).unwrap();
    assert_eq!(read(&d.join("sub/x/cgroup.procs")), "4321");
    // A leading '/' is still relative to the container; "/" is the container's own.
    to(4322, &["/sub/x"]).unwrap();
    assert_eq!(read(&d.join("sub/x/cgroup.procs")), "4322");
    to(4320, &["/"]).unwrap();
    assert_eq!(read(&d.join("cgroup.procs")), "4320");
    // controller:path on v2: memory lives on the one v2 node, and wins over a plain path.
    to(4323, &["sub/x", "memory,pids:other"]).unwrap();
    assert_eq!(read(&d.join("other/cgroup.procs")), "4323");
    // Nothing is created.
    let e = to(1, &["nonexistent"]).unwrap_err().to_string();
    assert!(
        e.contains(" adding pid 1 to ") && e.contains("o such file or directory"),
        "{e}"
    );
    assert!(!d.join("nonexistent").exists());
    for bad in ["../escape", "a/../../b", "./a"] {
        let e = to(1, &[bad]).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{bad:?}")) && e.contains("bad sub cgroup path"),
            "{bad}: {e}"
        );
    }
    for bad in [":a", "memory,:a"] {
        let e = to(1, &[bad]).unwrap_err().to_string();
        assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
    }
    // A controller this host does not have is named.
    let e = to(1, &["whaaat:/"]).unwrap_err().to_string();
    assert!(e.contains("unknown controller whaaat"), "{e}");
}
