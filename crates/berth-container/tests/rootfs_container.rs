//! The rootfs set up for real: a forked child unshares its mount namespace
//! (and pid/net/ipc), runs validate → prepare → enter → (console) → finalize
//! on a busybox rootfs, and checks what the kernel shows from inside. The
//! parent checks that nothing reached the host. Needs root.

use std::collections::HashMap;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_container::rootfs::{self, RootfsCtx};
use nix::sched::{unshare, CloneFlags};
use oci_spec::runtime::{Mount, Spec};

/// These containers have no runtime to ask: no spec mount here needs one.
fn no_runtime_source(i: usize) -> berth_container::Result<std::os::fd::OwnedFd> {
    Err(berth_container::Error::Init(format!(
        "mounts[{i}]: no runtime in this test"
    )))
}

fn is_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    berth_testkit::skip("needs root (mount namespaces, mknod, pivot_root)");
    false
}

struct TestDir(PathBuf);
impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// tempdir with rootfs/{bin/busybox,proc,sys,dev,etc,tmp,rodir}; returns (dir, rootfs).
fn make_rootfs(tag: &str) -> (TestDir, PathBuf) {
    let base = std::env::temp_dir().join(format!("berth-rootfs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let rootfs = base.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp", "rodir"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
        .expect("copy /bin/busybox (apt-get install busybox-static)");
    std::fs::write(rootfs.join("rodir/file"), "ro").unwrap();
    let rootfs = std::fs::canonicalize(&rootfs).unwrap();
    (TestDir(base), rootfs)
}

/// Run `f` in a forked child (in a fresh pid namespace when asked, as its
/// pid 1) after unsharing `flags`; the child reports through a pipe and
/// always `_exit`s.
fn in_child(flags: CloneFlags, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only runs `f` and _exits.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let res = (|| {
                unshare(flags).map_err(|e| format!("unshare: {e}"))?;
                if flags.contains(CloneFlags::CLONE_NEWPID) {
                    // SAFETY: as above.
                    match unsafe { nix::unistd::fork() }.map_err(|e| e.to_string())? {
                        nix::unistd::ForkResult::Child => {}
                        nix::unistd::ForkResult::Parent { child } => {
                            let st = nix::sys::wait::waitpid(child, None);
                            unsafe {
                                libc::_exit(
                                    if matches!(st, Ok(nix::sys::wait::WaitStatus::Exited(_, 0))) {
                                        0
                                    } else {
                                        1
                                    },
                                )
                            };
                        }
                    }
                }
                f()
            })();
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| res))
                .unwrap_or(Err("panic".into()));
            let msg = match res {
                Ok(()) => "OK".to_string(),
                Err(e) => format!("ERR {e}"),
            };
            let mut w = std::fs::File::from(w);
            let _ = w.write_all(msg.as_bytes());
            drop(w);
            unsafe { libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut s = String::new();
            std::fs::File::from(r).read_to_string(&mut s).unwrap();
            nix::sys::wait::waitpid(child, None).unwrap();
            if s == "OK" {
                Ok(())
            } else if s.is_empty() {
                Err("child died without reporting".into())
            } else {
                Err(s)
            }
        }
    }
}

macro_rules! ensure {
    ($c:expr, $($a:tt)*) => { if !$c { return Err(format!($($a)*)); } };
}

#[derive(Debug)]
struct MountEntry {
    opts: String,
    optional: String,
    fstype: String,
    super_opts: String,
}

fn mountinfo() -> Result<HashMap<String, MountEntry>, String> {
    let t =
        std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| format!("mountinfo: {e}"))?;
    let mut m = HashMap::new();
    for l in t.lines() {
        let (pre, post) = l.split_once(" - ").ok_or("bad mountinfo")?;
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        m.insert(
            pre[4].replace("\\040", " "),
            MountEntry {
                opts: pre[5].into(),
                optional: pre[6..].join(" "),
                fstype: post[0].into(),
                super_opts: post[2].into(),
            },
        );
    }
    Ok(m)
}

fn has_opt(list: &str, o: &str) -> bool {
    list.split(',').any(|x| x == o)
}

fn errno_of<T>(r: std::io::Result<T>) -> Option<i32> {
    r.err().and_then(|e| e.raw_os_error())
}

fn chr(p: &str, major: u64, minor: u64, mode: u32) -> Result<(), String> {
    let m = std::fs::symlink_metadata(p).map_err(|e| format!("{p}: {e}"))?;
    ensure!(m.file_type().is_char_device(), "{p} is not a char device");
    let (ma, mi) = (
        nix::sys::stat::major(m.rdev()),
        nix::sys::stat::minor(m.rdev()),
    );
    ensure!(
        (ma, mi) == (major, minor),
        "{p} is {ma}:{mi}, want {major}:{minor}"
    );
    ensure!(
        m.permissions().mode() & 0o7777 == mode,
        "{p} mode {:o}, want {mode:o}",
        m.permissions().mode() & 0o7777
    );
    Ok(())
}

fn link(p: &str, target: &str) -> Result<(), String> {
    let t = std::fs::read_link(p).map_err(|e| format!("readlink {p}: {e}"))?;
    ensure!(
        t == Path::new(target),
        "{p} -> {}, want {target}",
        t.display()
    );
    Ok(())
}

fn host_mounts_mention(p: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(p.to_str().unwrap())
}

#[test]
fn full_container_rootfs() {
    if !is_root() {
        return;
    }
    let (dir, rootfs) = make_rootfs("full");
    let tag = format!("berth-escape-{}", std::process::id());
    // A host directory an absolute symlink in the image points at, and a bind source.
    let host_target = dir.0.join("host-target");
    std::fs::create_dir(&host_target).unwrap();
    let src = dir.0.join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("hello"), "from the host").unwrap();
    std::fs::write(dir.0.join("hostfile"), "a file").unwrap();
    std::os::unix::fs::symlink(format!("/../../../tmp/{tag}"), rootfs.join("evil")).unwrap();
    std::os::unix::fs::symlink(&host_target, rootfs.join("abs")).unwrap();
    let j = format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"{root}","readonly":true}},
  "mounts":[
   {{"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]}},
   {{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]}},
   {{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]}},
   {{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]}},
   {{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]}},
   {{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]}},
   {{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}},
   {{"destination":"/data","type":"bind","source":"{src}","options":["rbind","ro","nosuid","rprivate"]}},
   {{"destination":"/etc/hostfile","source":"{hostfile}","options":["bind","noexec"]}},
   {{"destination":"/shared","type":"tmpfs","source":"tmpfs","options":["noatime","shared"]}},
   {{"destination":"/evil","type":"tmpfs","source":"tmpfs","options":["mode=700"]}},
   {{"destination":"/abs","type":"bind","source":"{src}","options":["bind"]}}
  ],
  "linux":{{
   "devices":[{{"path":"/dev/mynull","type":"c","major":1,"minor":3,"fileMode":384,"uid":1000,"gid":1001}},
              {{"path":"/dev/sub/loopx","type":"b","major":7,"minor":200,"fileMode":416}},
              {{"path":"/dev/myfifo","type":"p","fileMode":420}}],
   "maskedPaths":["/proc/kcore","/proc/keys","/proc/timer_list","/sys/firmware","/does/not/exist"],
   "readonlyPaths":["/proc/sys","/rodir"],
   "sysctl":{{"net.ipv4.ip_forward":"1","kernel.shm_rmid_forced":"1"}},
   "rootfsPropagation":"private"
  }}}}"#,
        root = rootfs.display(),
        src = src.display(),
        hostfile = dir.0.join("hostfile").display()
    );
    let spec: Spec = serde_json::from_str(&j).unwrap();
    rootfs::validate(&spec).unwrap();
    let host_kcore = Path::new("/proc/kcore").exists();
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let abs_in = host_target.display().to_string();
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWIPC;
    let res = in_child(flags, || {
        let ctx = RootfsCtx {
            spec: &spec,
            rootfs: &rootfs,
            extra_mounts: &[],
            in_user_ns: false,
            own_mount_ns: true,
            runtime_source: &no_runtime_source,
        };
        rootfs::prepare(&ctx).map_err(|e| format!("prepare: {e}"))?;
        rootfs::enter(&ctx, false).map_err(|e| format!("enter: {e}"))?;
        rootfs::finalize(&spec).map_err(|e| format!("finalize: {e}"))?;

        let mi = mountinfo()?;
        let get = |p: &str| {
            mi.get(p).ok_or_else(|| {
                format!(
                    "{p} is not a mount point; have {:?}",
                    mi.keys().collect::<Vec<_>>()
                )
            })
        };
        ensure!(get("/proc")?.fstype == "proc", "/proc fstype");
        let dev = get("/dev")?;
        ensure!(
            dev.fstype == "tmpfs" && has_opt(&dev.opts, "nosuid"),
            "/dev: {dev:?}"
        );
        ensure!(
            !has_opt(&dev.opts, "relatime") && !has_opt(&dev.opts, "noatime"),
            "/dev not strictatime: {dev:?}"
        );
        ensure!(
            has_opt(&dev.super_opts, "size=65536k") && has_opt(&dev.super_opts, "mode=755"),
            "/dev data: {dev:?}"
        );
        let pts = get("/dev/pts")?;
        ensure!(
            pts.fstype == "devpts"
                && has_opt(&pts.super_opts, "ptmxmode=666")
                && has_opt(&pts.super_opts, "mode=620"),
            "{pts:?}"
        );
        let shm = get("/dev/shm")?;
        // tmpfs leaves its default mode (1777) out of mountinfo.
        ensure!(
            has_opt(&shm.opts, "nodev")
                && has_opt(&shm.opts, "noexec")
                && has_opt(&shm.super_opts, "size=65536k"),
            "{shm:?}"
        );
        ensure!(get("/dev/mqueue")?.fstype == "mqueue", "mqueue");
        let sys = get("/sys")?;
        ensure!(sys.fstype == "sysfs" && has_opt(&sys.opts, "ro"), "{sys:?}");
        let cg = get("/sys/fs/cgroup")?;
        ensure!(
            has_opt(&cg.opts, "ro") && has_opt(&cg.opts, "nosuid"),
            "cgroup top: {cg:?}"
        );
        let host_cg = std::fs::read_dir("/sys/fs/cgroup")
            .map_err(|e| e.to_string())?
            .count();
        ensure!(host_cg > 0, "no cgroup hierarchies inside");
        for (p, e) in &mi {
            if p.starts_with("/sys/fs/cgroup/") {
                ensure!(
                    e.fstype.starts_with("cgroup") && has_opt(&e.opts, "ro"),
                    "{p}: {e:?}"
                );
            }
        }
        let data = get("/data")?;
        ensure!(
            has_opt(&data.opts, "ro") && has_opt(&data.opts, "nosuid"),
            "/data: {data:?}"
        );
        ensure!(
            !data.optional.contains("shared") && !data.optional.contains("master"),
            "/data not private: {data:?}"
        );
        ensure!(
            std::fs::read_to_string("/data/hello").ok().as_deref() == Some("from the host"),
            "/data/hello"
        );
        ensure!(
            errno_of(std::fs::write("/data/new", "x")) == Some(libc::EROFS),
            "/data writable"
        );
        ensure!(
            has_opt(&get("/etc/hostfile")?.opts, "noexec"),
            "hostfile noexec"
        );
        ensure!(
            std::fs::read_to_string("/etc/hostfile").ok().as_deref() == Some("a file"),
            "hostfile content"
        );
        let sh = get("/shared")?;
        ensure!(
            sh.optional.contains("shared:") && has_opt(&sh.opts, "noatime"),
            "/shared: {sh:?}"
        );
        // Symlinked destinations landed inside the rootfs.
        let evil = get(&format!("/tmp/{tag}"))?;
        ensure!(
            evil.fstype == "tmpfs" && has_opt(&evil.super_opts, "mode=700"),
            "evil: {evil:?}"
        );
        ensure!(get(&abs_in).is_ok(), "abs bind not at {abs_in}");
        ensure!(
            std::fs::read_to_string("/abs/hello").ok().as_deref() == Some("from the host"),
            "/abs/hello"
        );
        // Devices and links.
        for (n, ma, mi_) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
        ] {
            chr(&format!("/dev/{n}"), ma, mi_, 0o666)?;
        }
        chr("/dev/mynull", 1, 3, 0o600)?;
        let m = std::fs::metadata("/dev/mynull").unwrap();
        ensure!(
            (m.uid(), m.gid()) == (1000, 1001),
            "mynull owner {}:{}",
            m.uid(),
            m.gid()
        );
        let m = std::fs::symlink_metadata("/dev/sub/loopx").map_err(|e| e.to_string())?;
        ensure!(
            m.file_type().is_block_device()
                && m.rdev() == nix::sys::stat::makedev(7, 200)
                && m.mode() & 0o7777 == 0o640,
            "loopx"
        );
        let m = std::fs::symlink_metadata("/dev/myfifo").map_err(|e| e.to_string())?;
        ensure!(
            m.file_type().is_fifo() && m.mode() & 0o7777 == 0o644,
            "myfifo"
        );
        link("/dev/fd", "/proc/self/fd")?;
        link("/dev/stdin", "/proc/self/fd/0")?;
        link("/dev/stdout", "/proc/self/fd/1")?;
        link("/dev/stderr", "/proc/self/fd/2")?;
        link("/dev/ptmx", "pts/ptmx")?;
        if host_kcore {
            link("/dev/core", "/proc/kcore")?;
        }
        // Masked paths.
        if host_kcore {
            chr("/proc/kcore", 1, 3, 0o666)?;
        }
        chr("/proc/keys", 1, 3, 0o666)?;
        let mut buf = Vec::new();
        std::fs::File::open("/proc/keys")
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|e| e.to_string())?;
        ensure!(buf.is_empty(), "masked /proc/keys is not empty");
        chr("/proc/timer_list", 1, 3, 0o666)?;
        let fw = get("/sys/firmware")?;
        ensure!(
            fw.fstype == "tmpfs" && has_opt(&fw.opts, "ro"),
            "/sys/firmware: {fw:?}"
        );
        ensure!(
            std::fs::read_dir("/sys/firmware")
                .map_err(|e| e.to_string())?
                .count()
                == 0,
            "/sys/firmware not empty"
        );
        // Sysctls (written before /proc/sys became read-only).
        let fwd =
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").map_err(|e| e.to_string())?;
        ensure!(fwd.trim() == "1", "ip_forward {fwd}");
        let shm = std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced")
            .map_err(|e| e.to_string())?;
        ensure!(shm.trim() == "1", "shm_rmid_forced {shm}");
        // Read-only paths and root.
        ensure!(
            errno_of(std::fs::write("/proc/sys/net/ipv4/ip_forward", "0")) == Some(libc::EROFS),
            "/proc/sys writable"
        );
        ensure!(
            errno_of(std::fs::write("/rodir/file", "x")) == Some(libc::EROFS),
            "/rodir writable"
        );
        ensure!(
            errno_of(std::fs::write("/newfile", "x")) == Some(libc::EROFS),
            "/ writable"
        );
        ensure!(has_opt(&get("/")?.opts, "ro"), "/ not ro");
        // tmpfs mounts stay writable under a read-only root.
        std::fs::write("/dev/shm/ok", "x").map_err(|e| format!("/dev/shm: {e}"))?;
        Ok(())
    });
    res.unwrap();
    // Nothing leaked to the host.
    assert!(
        !host_mounts_mention(&rootfs),
        "rootfs mounts visible on the host"
    );
    assert!(
        !host_mounts_mention(&host_target),
        "host target was mounted on"
    );
    assert_eq!(
        std::fs::read_dir(&host_target).unwrap().count(),
        0,
        "host target was written to"
    );
    assert!(
        !Path::new("/tmp").join(&tag).exists(),
        "/tmp/{tag} created on the host"
    );
    assert!(
        rootfs.join("tmp").join(&tag).is_dir(),
        "symlinked destination not created inside the rootfs"
    );
    assert!(
        rootfs.join(host_target.strip_prefix("/").unwrap()).is_dir(),
        "absolute symlink target not created inside the rootfs"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward
    );
    drop(dir);
}

#[test]
fn no_pivot_console_extra_mounts_and_default_devices() {
    if !is_root() {
        return;
    }
    let (dir, rootfs) = make_rootfs("nopivot");
    std::fs::write(dir.0.join("resolv-spec"), "nameserver 10.0.0.1\n").unwrap();
    std::fs::write(dir.0.join("resolv-extra"), "nameserver 10.9.9.9\n").unwrap();
    std::fs::write(dir.0.join("hosts"), "127.0.0.1 box\n").unwrap();
    // The image plants /dev/console -> a procfs file and /dev/null -> a file.
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", rootfs.join("dev/console"))
        .unwrap();
    std::os::unix::fs::symlink("/etc/passwd", rootfs.join("dev/null")).unwrap();
    let j = format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"{root}"}},
  "mounts":[
   {{"destination":"/proc","type":"proc","source":"proc"}},
   {{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["newinstance","ptmxmode=0666"]}},
   {{"destination":"/etc/resolv.conf","type":"bind","source":"{rs}","options":["rbind","ro"]}}
  ],
  "linux":{{"rootfsPropagation":"rshared","maskedPaths":["/proc/keys"]}}}}"#,
        root = rootfs.display(),
        rs = dir.0.join("resolv-spec").display()
    );
    let spec: Spec = serde_json::from_str(&j).unwrap();
    rootfs::validate(&spec).unwrap();
    let bind = |dest: &str, src: PathBuf| -> Mount {
        serde_json::from_value(serde_json::json!({"destination": dest, "type": "bind", "source": src, "options": ["rbind", "ro"]}))
            .unwrap()
    };
    let extra = vec![
        bind("/etc/resolv.conf", dir.0.join("resolv-extra")),
        bind("/etc/hosts", dir.0.join("hosts")),
    ];
    let res = in_child(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID, || {
        let ctx = RootfsCtx {
            spec: &spec,
            rootfs: &rootfs,
            extra_mounts: &extra,
            in_user_ns: false,
            own_mount_ns: true,
            runtime_source: &no_runtime_source,
        };
        rootfs::prepare(&ctx).map_err(|e| format!("prepare: {e}"))?;
        rootfs::enter(&ctx, true).map_err(|e| format!("enter: {e}"))?;
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        ensure!(cwd == Path::new("/"), "cwd {}", cwd.display());
        ensure!(Path::new("/bin/busybox").exists(), "not in the rootfs");
        ensure!(
            std::fs::read_to_string("/etc/resolv.conf").ok().as_deref()
                == Some("nameserver 10.0.0.1\n"),
            "spec resolv.conf must win"
        );
        ensure!(
            std::fs::read_to_string("/etc/hosts").ok().as_deref() == Some("127.0.0.1 box\n"),
            "extra /etc/hosts"
        );
        // Default devices exist without a /dev mount; the planted /dev/null was replaced.
        chr("/dev/null", 1, 3, 0o666)?;
        chr("/dev/tty", 5, 0, 0o666)?;
        link("/dev/ptmx", "pts/ptmx")?;
        let mi = mountinfo()?;
        let root = mi.get("/").ok_or("no / mount")?;
        ensure!(
            root.optional.contains("shared:"),
            "rootfsPropagation rshared not applied: {root:?}"
        );
        // Console: a symlinked /dev/console is refused, a plain one gets the pty.
        let ptmx = CString::new("/dev/ptmx").unwrap();
        let master = unsafe {
            libc::open(
                ptmx.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
        };
        ensure!(
            master >= 0,
            "open /dev/ptmx: {}",
            std::io::Error::last_os_error()
        );
        let mut n: libc::c_uint = 0;
        let unlock: libc::c_int = 0;
        ensure!(
            unsafe { libc::ioctl(master, libc::TIOCGPTN, &mut n) } == 0,
            "TIOCGPTN"
        );
        ensure!(
            unsafe { libc::ioctl(master, libc::TIOCSPTLCK, &unlock) } == 0,
            "TIOCSPTLCK"
        );
        let slave = PathBuf::from(format!("/dev/pts/{n}"));
        let e = rootfs::mount_console(&slave)
            .err()
            .ok_or("symlinked /dev/console accepted")?;
        ensure!(e.to_string().contains("console"), "error: {e}");
        ensure!(
            std::fs::read_link("/proc/sys/kernel/core_pattern").is_err(),
            "core_pattern touched"
        );
        std::fs::remove_file("/dev/console").map_err(|e| e.to_string())?;
        ensure!(
            rootfs::mount_console(Path::new("/etc/hosts")).is_err(),
            "a non-pty console accepted"
        );
        rootfs::mount_console(&slave).map_err(|e| format!("mount_console: {e}"))?;
        let m = std::fs::metadata("/dev/console").map_err(|e| e.to_string())?;
        ensure!(
            m.file_type().is_char_device() && nix::sys::stat::major(m.rdev()) == 136,
            "console is not the pty"
        );
        ensure!(
            mountinfo()?.contains_key("/dev/console"),
            "console not a mount"
        );
        // maskedPaths refuses a /dev/null that is not the null device.
        std::fs::remove_file("/dev/null").map_err(|e| e.to_string())?;
        std::fs::write("/dev/null", "").map_err(|e| e.to_string())?;
        let e = rootfs::finalize(&spec)
            .err()
            .ok_or("finalize accepted a fake /dev/null")?;
        ensure!(e.to_string().contains("/dev/null"), "error: {e}");
        ensure!(
            !mountinfo()?.contains_key("/proc/keys"),
            "/proc/keys masked with a fake /dev/null"
        );
        Ok(())
    });
    res.unwrap();
    assert!(
        !host_mounts_mention(&rootfs),
        "rootfs mounts visible on the host"
    );
    drop(dir);
}

#[test]
fn devices_are_bound_from_the_host_when_mknod_is_not_allowed() {
    if !is_root() {
        return;
    }
    let (dir, rootfs) = make_rootfs("userns");
    let j = format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"{root}"}},
  "mounts":[{{"destination":"/proc","type":"proc","source":"proc"}},
            {{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]}}],
  "linux":{{"devices":[{{"path":"/dev/zero","type":"c","major":1,"minor":5}}]}}}}"#,
        root = rootfs.display()
    );
    let spec: Spec = serde_json::from_str(&j).unwrap();
    rootfs::validate(&spec).unwrap();
    let res = in_child(CloneFlags::CLONE_NEWNS, || {
        let ctx = RootfsCtx {
            spec: &spec,
            rootfs: &rootfs,
            extra_mounts: &[],
            in_user_ns: true,
            own_mount_ns: true,
            runtime_source: &no_runtime_source,
        };
        rootfs::prepare(&ctx).map_err(|e| format!("prepare: {e}"))?;
        rootfs::enter(&ctx, false).map_err(|e| format!("enter: {e}"))?;
        let mi = mountinfo()?;
        for (n, ma, mi_) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("tty", 5, 0),
            ("urandom", 1, 9),
        ] {
            let p = format!("/dev/{n}");
            ensure!(mi.contains_key(&p), "{p} is not a bind mount from the host");
            let m = std::fs::metadata(&p).map_err(|e| e.to_string())?;
            ensure!(
                m.file_type().is_char_device() && m.rdev() == nix::sys::stat::makedev(ma, mi_),
                "{p} numbers"
            );
        }
        let mut b = [1u8; 8];
        std::fs::File::open("/dev/zero")
            .and_then(|mut f| f.read_exact(&mut b))
            .map_err(|e| e.to_string())?;
        ensure!(b == [0; 8], "/dev/zero reads non-zero");
        Ok(())
    });
    res.unwrap();
    assert!(!host_mounts_mention(&rootfs));
    drop(dir);
}
