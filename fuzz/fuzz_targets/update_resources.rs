//! `berth update -r FILE` reads an untrusted `linux.resources` JSON: parsing
//! and planning the update must never panic, and an accepted update writes
//! only control files directly inside the container's cgroup directories.
//! Planned against two fake cgroup trees made once in $TMPDIR: a pure v2 host
//! and a hybrid one shaped like berth's CI machines (v1 controllers, hugetlb
//! on cgroup2). Planning reads the trees and writes nothing. The trees stay
//! behind (scripts/fuzz-ci.sh points TMPDIR at a directory it removes).
//! The bytes go through `berth_container::update_request::parse`, what the CLI
//! calls (runc's key matching, zeros read as "unchanged").
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use berth_cgroups::Manager;
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxResources;

fn files(dir: &Path, list: &[(&str, &str)]) {
    fs::create_dir_all(dir).unwrap();
    for (name, value) in list {
        fs::write(dir.join(name), value).unwrap();
    }
}

fn v2_tree(root: &Path) -> Manager {
    files(
        root,
        &[(
            "cgroup.controllers",
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )],
    );
    files(
        &root.join("b"),
        &[
            ("cpuset.cpus.effective", "0-3\n"),
            ("cpuset.mems.effective", "0\n"),
        ],
    );
    files(
        &root.join("b/c1"),
        &[
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
            ("memory.current", "4096"),
            ("pids.max", "max"),
            ("io.weight", "default 100"),
            ("io.bfq.weight", "default 100"),
            ("io.max", ""),
            ("hugetlb.2MB.max", "max"),
            ("hugetlb.1GB.max", "max"),
            ("rdma.max", ""),
            ("misc.max", ""),
        ],
    );
    let mi = format!(
        "41 31 0:38 / {} rw,relatime - cgroup2 cgroup2 rw\n",
        root.display()
    );
    Manager::from_mountinfo(&mi, None, Some("/b/c1"), "c1").unwrap()
}

fn hybrid_tree(root: &Path) -> Manager {
    let v1: &[(&str, &[(&str, &str)])] = &[
        (
            "cpu",
            &[
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "-1"),
                ("cpu.cfs_burst_us", "0"),
                ("cpu.idle", "0"),
                ("cpu.rt_period_us", "1000000"),
                ("cpu.rt_runtime_us", "0"),
            ],
        ),
        ("cpuacct", &[]),
        ("cpuset", &[("cpuset.cpus", ""), ("cpuset.mems", "")]),
        (
            "memory",
            &[
                ("memory.limit_in_bytes", "9223372036854771712"),
                ("memory.memsw.limit_in_bytes", "9223372036854771712"),
                ("memory.soft_limit_in_bytes", "9223372036854771712"),
                ("memory.kmem.tcp.limit_in_bytes", "9223372036854771712"),
                ("memory.usage_in_bytes", "4096"),
                ("memory.swappiness", "60"),
                (
                    "memory.oom_control",
                    "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                ),
            ],
        ),
        ("devices", &[]),
        ("freezer", &[]),
        (
            "blkio",
            &[
                ("blkio.bfq.weight", "100"),
                ("blkio.bfq.weight_device", ""),
                ("blkio.throttle.read_bps_device", ""),
                ("blkio.throttle.write_bps_device", ""),
                ("blkio.throttle.read_iops_device", ""),
                ("blkio.throttle.write_iops_device", ""),
            ],
        ),
        ("pids", &[("pids.max", "max")]),
    ];
    let mut mi = String::new();
    for (i, (ctrl, list)) in v1.iter().enumerate() {
        let mount = root.join(ctrl);
        files(&mount.join("b/c1"), list);
        mi.push_str(&format!(
            "{} 31 0:{} / {} rw,relatime - cgroup cgroup rw,{ctrl}\n",
            32 + i,
            29 + i,
            mount.display()
        ));
    }
    files(
        &root.join("cpuset/b"),
        &[
            ("cpuset.effective_cpus", "0-1\n"),
            ("cpuset.effective_mems", "0\n"),
        ],
    );
    let unified = root.join("unified");
    files(&unified, &[("cgroup.controllers", "hugetlb\n")]);
    files(
        &unified.join("b/c1"),
        &[("hugetlb.2MB.max", "max"), ("hugetlb.1GB.max", "max")],
    );
    mi.push_str(&format!(
        "41 31 0:38 / {} rw,relatime - cgroup2 cgroup2 rw\n",
        unified.display()
    ));
    Manager::from_mountinfo(&mi, None, Some("/b/c1"), "c1").unwrap()
}

fn managers() -> &'static [Manager; 2] {
    static M: OnceLock<[Manager; 2]> = OnceLock::new();
    M.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("berth-fuzz-update-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        [v2_tree(&root.join("v2")), hybrid_tree(&root.join("hybrid"))]
    })
}

fn check(m: &Manager, r: &LinuxResources) -> Result<Vec<(PathBuf, String)>, String> {
    let plan = m.plan_update(r).map_err(|e| e.to_string())?;
    let dirs: Vec<&Path> = m.paths().collect();
    for (path, _) in &plan {
        assert!(
            path.parent().is_some_and(|p| dirs.contains(&p)),
            "write outside the container's cgroup: {}",
            path.display()
        );
    }
    Ok(plan)
}

fuzz_target!(|data: &[u8]| {
    let Ok(r) = berth_container::update_request::parse(data) else {
        return;
    };
    let json = serde_json::to_vec(&r).expect("resources serialise");
    let again: LinuxResources = serde_json::from_slice(&json).expect("written resources parse");
    let mut no_devices = r.clone();
    no_devices.set_devices(None);
    for m in managers() {
        let plan = check(m, &r);
        // The same plan after a JSON round trip (maps are rebuilt in another order),
        // and device rules never change an update.
        assert_eq!(check(m, &again), plan, "plan changed after a round trip");
        assert_eq!(
            check(m, &no_devices),
            plan,
            "device rules changed an update"
        );
    }
});
