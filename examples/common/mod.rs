//! Bundle helpers shared by the examples: a busybox bundle in a temp dir.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{json, Value};

/// The busybox rootfs made by `scripts/make-rootfs.sh` (or $BERTH_ROOTFS).
pub fn rootfs() -> PathBuf {
    std::env::var("BERTH_ROOTFS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rootfs"))
}

/// Writes a bundle whose container runs `args` with the given resources and annotations.
pub fn bundle(name: &str, args: &[&str], resources: Value, annotations: Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-example-{name}"));
    std::fs::create_dir_all(&dir).expect("create bundle dir");
    let spec = json!({
        "ociVersion": "1.2.1",
        "process": { "terminal": false, "user": { "uid": 0, "gid": 0 }, "args": args, "cwd": "/",
                     "env": ["PATH=/bin:/sbin:/usr/bin"], "noNewPrivileges": true },
        "root": { "path": rootfs(), "readonly": true },
        "hostname": name,
        "annotations": annotations,
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid", "noexec", "nodev"] }
        ],
        "linux": {
            "resources": resources,
            "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }]
        }
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .expect("write config.json");
    dir
}

/// Waits for a container init that this process created (it is our child).
pub fn wait_exit(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid on our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// The first of `names` that exists in the cgroup directory `dir`, with its
/// value: the same limit has a v1 name and a v2 name (memory.limit_in_bytes
/// or memory.max, cpu.shares or cpu.weight).
pub fn cgroup_value(dir: &std::path::Path, names: &[&str]) -> std::io::Result<(String, String)> {
    for n in names {
        match std::fs::read_to_string(dir.join(n)) {
            Ok(v) => return Ok((n.to_string(), v.trim().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("none of {names:?} in {}", dir.display()),
    ))
}
