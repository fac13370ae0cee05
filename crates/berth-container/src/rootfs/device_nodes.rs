//! Device nodes and /dev symlinks, and the console.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, fstatat, makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mounts::{clone_fd, move_mount, open_tree};
use super::safe_path::{clean, open_or_create, Kind};
use crate::{invalid, Error, Result};

/// The devices every container gets (runtime-spec "Default Devices").
pub const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// One node to create: name in its parent directory, and what it must be.
struct Node<'a> {
    name: &'a std::ffi::OsStr,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    /// Host path to bind from when mknod is not allowed.
    host: &'a Path,
}

pub(super) fn sflag(t: LinuxDeviceType) -> Option<SFlag> {
    match t {
        LinuxDeviceType::C | LinuxDeviceType::U => Some(SFlag::S_IFCHR),
        LinuxDeviceType::B => Some(SFlag::S_IFBLK),
        LinuxDeviceType::P => Some(SFlag::S_IFIFO),
        LinuxDeviceType::A => None,
    }
}

fn err(what: &str, p: &Path, e: Errno) -> Error {
    Error::sys(format!("{what} {}", p.display()), e)
}

fn make_node(parent: BorrowedFd<'_>, n: &Node<'_>, full: &Path, in_user_ns: bool) -> Result<()> {
    if in_user_ns && n.kind != SFlag::S_IFIFO {
        return bind_host_node(parent, n, full);
    }
    match make_node_here(parent, n, full) {
        // root of a user namespace it did not make (a rootless engine's): no mknod either.
        Err(Error::Sys {
            op,
            source: Errno::EPERM,
        }) if op.starts_with("mknod ") && n.kind != SFlag::S_IFIFO => {
            bind_host_node(parent, n, full)
        }
        r => r,
    }
}

/// mknod is not permitted in a user namespace: bind the host's node over an empty file.
fn bind_host_node(parent: BorrowedFd<'_>, n: &Node<'_>, full: &Path) -> Result<()> {
    let beneath = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS;
    let target = match openat2(
        parent,
        n.name,
        OpenHow::new()
            .flags(OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
            .mode(Mode::from_bits_truncate(0o644))
            .resolve(beneath),
    ) {
        Ok(fd) => fd,
        // Already there (the image's node): mount over it without opening the device.
        Err(Errno::EEXIST) => openat2(
            parent,
            n.name,
            OpenHow::new()
                .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
                .resolve(beneath),
        )
        .map_err(|e| err("open device", full, e))?,
        Err(e) => return Err(err("create device mount point", full, e)),
    };
    let tree = open_tree(None, n.host, libc::OPEN_TREE_CLONE)
        .map_err(|e| err("bind host device", n.host, e))?;
    move_mount(tree.as_fd(), target.as_fd()).map_err(|e| err("bind device onto", full, e))
}

fn make_node_here(parent: BorrowedFd<'_>, n: &Node<'_>, full: &Path) -> Result<()> {
    let perm = Mode::from_bits_truncate(n.mode);
    let dev = makedev(n.major, n.minor);
    match mknodat(parent, n.name, n.kind, perm, dev) {
        Ok(()) => {}
        Err(Errno::EEXIST) => {
            let st = fstatat(parent, n.name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| err("stat", full, e))?;
            let same = st.st_mode & libc::S_IFMT == n.kind.bits()
                && (n.kind == SFlag::S_IFIFO || st.st_rdev == dev);
            if same {
                return Ok(());
            }
            unlinkat(parent, n.name, UnlinkatFlags::NoRemoveDir)
                .map_err(|e| err("replace", full, e))?;
            mknodat(parent, n.name, n.kind, perm, dev).map_err(|e| err("mknod", full, e))?;
        }
        Err(e) => return Err(err("mknod", full, e)),
    }
    if n.uid != 0 || n.gid != 0 {
        fchownat(
            parent,
            n.name,
            Some(Uid::from_raw(n.uid)),
            Some(Gid::from_raw(n.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| err("chown", full, e))?;
    }
    Ok(())
}

/// Create the default devices, `linux.devices` and the /dev symlinks.
/// The process umask must be 0 (prepare sets it).
pub(super) fn setup(
    root: BorrowedFd<'_>,
    devices: &[LinuxDevice],
    in_user_ns: bool,
    has_kcore: bool,
) -> Result<()> {
    let dev = open_or_create(root, Path::new("/dev"), Kind::Dir)?;
    let cleaned: Vec<_> = devices.iter().map(|d| clean(d.path())).collect();
    for (name, major, minor) in DEFAULT_DEVICES {
        let full = Path::new("/dev").join(name);
        if cleaned.contains(&full) {
            continue;
        }
        let n = Node {
            name: std::ffi::OsStr::new(name),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
            host: &full,
        };
        make_node(dev.as_fd(), &n, &full, in_user_ns)?;
    }
    for (i, (d, full)) in devices.iter().zip(&cleaned).enumerate() {
        if full == Path::new("/dev/ptmx") {
            // Always the devpts symlink below; a node (or, in a user namespace, a bind
            // mount that could not be unlinked) would only be in its way.
            continue;
        }
        let Some(kind) = sflag(d.typ()) else {
            return invalid!(
                format!("linux.devices[{i}].type"),
                d.typ().as_str(),
                "not a device type"
            );
        };
        let (Some(parent), Some(name)) = (full.parent(), full.file_name()) else {
            return invalid!(
                format!("linux.devices[{i}].path"),
                d.path().display(),
                "not a file below /dev"
            );
        };
        let parent_fd: OwnedFd;
        let pfd = if parent == Path::new("/dev") {
            dev.as_fd()
        } else {
            parent_fd = open_or_create(root, parent, Kind::Dir)?;
            parent_fd.as_fd()
        };
        let n = Node {
            name,
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
            host: full,
        };
        make_node(pfd, &n, full, in_user_ns)?;
    }
    let mut links: Vec<(&str, &str)> = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if has_kcore {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(err("symlink", &Path::new("/dev").join(name), e)),
        }
    }
    // /dev/ptmx must be the devpts one; replace whatever the image has.
    match symlinkat("pts/ptmx", dev.as_fd(), "ptmx") {
        Ok(()) => {}
        Err(Errno::EEXIST) => {
            unlinkat(dev.as_fd(), "ptmx", UnlinkatFlags::NoRemoveDir)
                .and_then(|()| symlinkat("pts/ptmx", dev.as_fd(), "ptmx"))
                .map_err(|e| err("symlink", Path::new("/dev/ptmx"), e))?;
        }
        Err(e) => return Err(err("symlink", Path::new("/dev/ptmx"), e)),
    }
    Ok(())
}

/// Unix98 pty slaves have majors 136..=143.
fn is_pty_slave(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR
        && (136..=143).contains(&nix::sys::stat::major(st.st_rdev))
}

/// Bind the pty slave `slave` (a path inside the container) over /dev/console.
/// Neither path may be a symlink or cross into another file system through
/// one, the slave must really be a pty, and /dev/console must be a plain
/// file or char device of /dev itself, so the bind cannot be redirected
/// onto procfs or a host path (CVE-2025-52565).
pub fn mount_console(slave: &Path) -> Result<()> {
    let no_links = ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS;
    let root = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("open", Path::new("/"), e))?;
    let src = openat2(
        root.as_fd(),
        &super::safe_path::rel(&clean(slave)),
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(no_links),
    )
    .map_err(|e| err("open console pty", slave, e))?;
    let st = fstat(&src).map_err(|e| err("stat", slave, e))?;
    if !is_pty_slave(&st) {
        return Err(Error::unsafe_path(
            slave,
            "the console is not a pty slave device; refusing to use it",
        ));
    }
    let dev = openat2(
        root.as_fd(),
        "dev",
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(no_links),
    )
    .map_err(|e| err("open", Path::new("/dev"), e))?;
    let beneath = ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_XDEV;
    let console = Path::new("/dev/console");
    let target = match openat2(
        dev.as_fd(),
        "console",
        OpenHow::new()
            .flags(OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
            .mode(Mode::from_bits_truncate(0o600))
            .resolve(beneath),
    ) {
        Ok(fd) => fd,
        Err(Errno::EEXIST) => {
            let fd = openat2(
                dev.as_fd(),
                "console",
                OpenHow::new()
                    .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
                    .resolve(beneath),
            )
            .map_err(|e| err("open", console, e))?;
            let st = fstat(&fd).map_err(|e| err("stat", console, e))?;
            let t = st.st_mode & libc::S_IFMT;
            if t != libc::S_IFREG && t != libc::S_IFCHR {
                return Err(Error::unsafe_path(
                    console,
                    "exists and is not a file or character device; refusing to mount the console on it",
                ));
            }
            fd
        }
        Err(e) => return Err(err("create", console, e)),
    };
    let tree = clone_fd(src.as_fd(), false).map_err(|e| err("clone", slave, e))?;
    move_mount(tree.as_fd(), target.as_fd()).map_err(|e| err("bind console onto", console, e))
}
