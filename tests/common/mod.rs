//! Shared helpers for the integration tests: the berth binary, a busybox
//! bundle per test, and a private state root so tests never see each other.
#![allow(dead_code)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::JoinHandle;

use serde_json::{json, Value};

pub mod cgroups;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The berth binary: $BERTH_BIN, else the newest of target/{release,debug}/berth.
pub fn berth_bin() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join("target"));
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join("berth"))
        .filter(|p| p.exists())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("berth binary not built: run `cargo build -p berth-cli` or set BERTH_BIN")
}

/// Returns a reason to skip when the test cannot run here (not root, no rootfs).
pub fn skip_reason() -> Option<String> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("needs root to create namespaces and cgroups".into());
    }
    if !rootfs().join("bin/busybox").exists() {
        return Some(format!(
            "no busybox rootfs at {}: run scripts/make-rootfs.sh",
            rootfs().display()
        ));
    }
    None
}

#[macro_export]
macro_rules! require_root {
    () => {
        if let Some(why) = common::skip_reason() {
            berth_testkit::skip(&why);
            return;
        }
    };
}

pub fn rootfs() -> PathBuf {
    repo().join("tests/rootfs")
}

/// A bundle directory and a state root private to one test; removed on drop
/// (after force-deleting any container left in the root).
pub struct Env {
    pub name: String,
    pub dir: PathBuf,
    pub root: PathBuf,
}

impl Env {
    pub fn new(name: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("berth-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.join("state");
        Env {
            name: name.to_string(),
            dir,
            root,
        }
    }

    /// A bundle named `b` whose config is the default spec edited by `edit`.
    pub fn bundle(&self, b: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let bundle = self.dir.join(b);
        std::fs::create_dir_all(&bundle).unwrap();
        let mut spec = default_spec();
        edit(&mut spec);
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
        bundle
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root").arg(&self.root).args(args);
        c
    }

    /// Runs berth to completion. Output goes through files, not pipes: a created
    /// container inherits berth's stdio and would hold a pipe open forever.
    pub fn run(&self, args: &[&str]) -> Output {
        output_via_files(self.cmd(args), &self.dir)
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).unwrap()
    }

    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"].as_str().unwrap().to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.cmd(&["delete", "-f", &id]).output();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd` to completion with stdin closed and its output collected through
/// files in `dir`, not pipes: a created container inherits berth's stdio and would
/// hold a pipe open forever.
pub fn output_via_files(mut cmd: Command, dir: &Path) -> Output {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_path = dir.join(format!(".out-{n}"));
    let err_path = dir.join(format!(".err-{n}"));
    let status = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let out = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    };
    let _ = std::fs::remove_file(out_path);
    let _ = std::fs::remove_file(err_path);
    out
}

/// Asserts a failed command: exit 1, a one-line `berth: ...` message containing
/// `needle`, and no panic. Returns the message.
pub fn assert_one_line_error(out: &Output, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout {} stderr {err}",
        stdout(out)
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(
        err.starts_with("berth: ") && !err.contains("panicked"),
        "{err}"
    );
    assert!(err.contains(needle), "{needle:?} not in {err}");
    err
}

/// runc's default config, with the shared busybox rootfs read-only and no terminal.
pub fn default_spec() -> Value {
    json!({
        "ociVersion": "1.2.1",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
                "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": rootfs(), "readonly": true },
        "hostname": "berth",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] },
            { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"] }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" }
            ],
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    })
}

/// A private, writable busybox rootfs under the test's dir that
/// the test may plant symlinks and attacks in (the shared one is read-only).
pub fn private_rootfs(env: &Env) -> PathBuf {
    let r = env.dir.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::copy(rootfs().join("bin/busybox"), r.join("bin/busybox")).unwrap();
    for a in ["sh", "cat", "ls", "stat", "head", "touch", "grep"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    r
}

/// A new user namespace mapping container root to host uid/gid 100000 (65536
/// ids), without the network namespace and sysfs mount that would need more.
pub fn user_namespace(s: &mut Value) {
    let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
    ns.push(json!({ "type": "user" }));
    ns.retain(|n| n["type"] != "network");
    s["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    s["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    s["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "sysfs");
}

/// Sets process.args.
pub fn args(spec: &mut Value, a: &[&str]) {
    spec["process"]["args"] = json!(a);
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every cgroup directory for `path`, in each mounted hierarchy.
pub fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    cgroups::Cgroup::new(path).all_dirs()
}

/// Builds tests/attackers/escape.c (a static program: runs in any rootfs) into `dir`.
pub fn build_attacker(dir: &Path) -> PathBuf {
    let out = dir.join("escape");
    let src = repo().join("tests/attackers/escape.c");
    let st = Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc is needed to build the attacker (scripts/deps.sh installs it)");
    assert!(st.success(), "building {} failed", src.display());
    out
}

/// Listens on `<dir>/<name>` and takes one fd from the first connection.
pub fn receiver(
    env: &Env,
    name: &str,
) -> (PathBuf, JoinHandle<std::io::Result<(String, OwnedFd)>>) {
    let path = env.dir.join(name);
    let listener = UnixListener::bind(&path).unwrap();
    let h = std::thread::spawn(move || {
        let (s, _) = listener.accept()?;
        recv_fd(&s)
    });
    (path, h)
}

/// recvmsg with one SCM_RIGHTS fd; returns the message text (runc sends a name: the pty's, "pidfd").
pub fn recv_fd(s: &UnixStream) -> std::io::Result<(String, OwnedFd)> {
    let mut buf = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = [0u64; 16];
    // SAFETY: msghdr is plain data; every pointer in it refers to live buffers above.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: recvmsg fills the buffers msg points at.
    let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: walking the control buffer the kernel just filled, with the CMSG macros.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(std::io::Error::other("no SCM_RIGHTS in the message"));
        }
        let fd: RawFd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
        Ok((
            String::from_utf8_lossy(&buf[..n as usize]).into_owned(),
            OwnedFd::from_raw_fd(fd),
        ))
    }
}

/// Runs `ip` with `args` and returns its stdout; panics with its stderr if it fails.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A host network device for `linux.netDevices` tests: one end, `name`, of a
/// veth pair in the host's network namespace (veth stands in for runc's
/// `dummy`, a type this kernel lacks), its peer `peer` in a namespace of the
/// test's own, `netns`, where it can answer what the container sends. What is
/// left of either goes on drop, with the namespace.
pub struct HostDevice {
    pub name: String,
    pub peer: String,
    pub netns: String,
}

impl HostDevice {
    /// `tag` (up to 6 characters) tells one test's devices from another's;
    /// the test process's pid tells concurrent runs apart.
    pub fn new(tag: &str) -> HostDevice {
        let pid = std::process::id();
        let d = HostDevice {
            name: format!("nd{tag}{pid}"),
            peer: format!("np{tag}{pid}"),
            netns: format!("nd-{tag}-{pid}"),
        };
        assert!(d.name.len() <= 15, "{} is too long for a device", d.name);
        d.remove();
        ip(&["netns", "add", &d.netns]);
        ip(&[
            "link", "add", &d.name, "type", "veth", "peer", "name", &d.peer, "netns", &d.netns,
        ]);
        d
    }

    /// Whether `name` names a device in the host's network namespace.
    pub fn on_host(&self, name: &str) -> bool {
        Path::new("/sys/class/net").join(name).exists()
    }

    /// Whether the peer still exists (a veth goes with its peer).
    pub fn peer_exists(&self) -> bool {
        Command::new("ip")
            .args(["-n", &self.netns, "link", "show", &self.peer])
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    /// Waits (up to 10 s: the kernel frees a namespace in the background) until
    /// the kernel has destroyed the pair, as it destroys every virtual device
    /// of a network namespace that is freed. False if it never did.
    pub fn destroyed(&self) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.peer_exists() || self.on_host(&self.name) {
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        true
    }

    fn remove(&self) {
        for args in [
            &["link", "del", &self.name][..],
            &["netns", "del", &self.netns][..],
        ] {
            let _ = Command::new("ip")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for HostDevice {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Adds `linux.netDevices` entries: (host name, name inside or None).
pub fn net_devices(spec: &mut Value, devices: &[(&str, Option<&str>)]) {
    let map: serde_json::Map<String, Value> = devices
        .iter()
        .map(|(host, name)| {
            let v = match name {
                Some(n) => json!({ "name": n }),
                None => json!({}),
            };
            (host.to_string(), v)
        })
        .collect();
    spec["linux"]["netDevices"] = Value::Object(map);
}
