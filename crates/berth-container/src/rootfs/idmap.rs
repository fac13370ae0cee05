//! Id-mapped mounts (`mounts[].uidMappings/gidMappings`, options `idmap`
//! and `ridmap`).
//!
//! The kernel maps a mount's ids through a user namespace given by fd to
//! mount_setattr(2) with MOUNT_ATTR_IDMAP, on a detached mount (a fresh
//! open_tree(2) clone). A file owned by id N on disk shows as the id that N
//! (an id inside that namespace) is outside of it. So a mount's own mappings
//! need a user namespace with exactly those maps: a short-lived process
//! unshares one, the runtime writes its maps and keeps an fd on it, and the
//! process is killed (the namespace lives as long as the fd). Without
//! mappings of its own (`idmap` alone) the mount uses the container's user
//! namespace.
//!
//! This runs in the runtime (host credentials), never in the container init:
//! setting MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the source's file
//! system, which a process in the container's user namespace lacks.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, Mount};

use crate::{invalid, Error, Result};

/// Whether this build makes id-mapped mounts (`berth features` reports it).
pub const SUPPORTED: bool = true;

/// The mount's own mappings, if it has any (an empty list counts as none).
pub fn mappings(m: &Mount) -> Option<(&[LinuxIdMapping], &[LinuxIdMapping])> {
    let u = m.uid_mappings().as_deref().unwrap_or(&[]);
    let g = m.gid_mappings().as_deref().unwrap_or(&[]);
    (!u.is_empty() || !g.is_empty()).then_some((u, g))
}

/// Structural checks of a mount's mappings; `field` is e.g. `mounts[3]`.
pub fn check(field: &str, m: &Mount) -> Result<()> {
    let Some((u, g)) = mappings(m) else {
        return Ok(());
    };
    if u.is_empty() || g.is_empty() {
        let absent = if u.is_empty() {
            "uidMappings"
        } else {
            "gidMappings"
        };
        return Err(Error::missing(
            format!("{field}.{absent}"),
            "an id-mapped mount needs both uidMappings and gidMappings",
        ));
    }
    for (name, maps) in [("uidMappings", u), ("gidMappings", g)] {
        for (i, map) in maps.iter().enumerate() {
            if map.size() == 0 {
                return invalid!(format!("{field}.{name}[{i}].size"), 0, "must not be 0");
            }
            let end = |start: u32| u64::from(start) + u64::from(map.size());
            if end(map.container_id()) > 1 << 32 || end(map.host_id()) > 1 << 32 {
                return invalid!(
                    format!("{field}.{name}[{i}]"),
                    format!("{} {} {}", map.container_id(), map.host_id(), map.size()),
                    "the range goes past the last id"
                );
            }
        }
    }
    Ok(())
}

/// A user namespace whose maps are `uids` and `gids` (each line written as
/// "containerID hostID size"), as an fd.
pub fn userns_with(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let (ready_r, ready_w) = nix::unistd::pipe().map_err(|e| Error::sys("pipe", e))?;
    let (hold_r, hold_w) = nix::unistd::pipe().map_err(|e| Error::sys("pipe", e))?;
    let child = crate::sys::fork_with(0)
        .map_err(|e| Error::sys("fork a process for an id-mapped mount's user namespace", e))?;
    let Some(pid) = child else {
        drop(ready_r);
        drop(hold_w);
        // Tell the runtime the namespace exists, then wait until it is done with us.
        if nix::sched::unshare(CloneFlags::CLONE_NEWUSER).is_ok() {
            let _ = nix::unistd::write(&ready_w, b"1");
            let mut b = [0u8; 1];
            let _ = nix::unistd::read(&hold_r, &mut b);
        }
        // SAFETY: a forked helper leaves without running destructors.
        unsafe { libc::_exit(0) }
    };
    drop(ready_w);
    drop(hold_r);
    let r = map_userns(pid, ready_r.as_fd(), uids, gids);
    drop(hold_w);
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    crate::launch::parent::reap(pid);
    r
}

fn map_userns(
    pid: i32,
    ready: BorrowedFd<'_>,
    uids: &[LinuxIdMapping],
    gids: &[LinuxIdMapping],
) -> Result<OwnedFd> {
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(ready, &mut b) {
            Ok(1) => break,
            Err(Errno::EINTR) => continue,
            Ok(_) => {
                return Err(Error::Init(
                    "could not make a user namespace for an id-mapped mount".into(),
                ))
            }
            Err(e) => return Err(Error::sys("wait for the id-mapping process", e)),
        }
    }
    crate::namespaces::write_id_maps(pid, "id-mapped mount ", uids, gids)?;
    let path = format!("/proc/{pid}/ns/user");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {path}"), e))
}

/// Makes the detached mount `tree` id-mapped through `userns`; with
/// `recursive` every mount below it too (`ridmap`).
pub fn apply(tree: BorrowedFd<'_>, userns: BorrowedFd<'_>, recursive: bool) -> nix::Result<()> {
    // SAFETY: mount_attr is plain data; all-zero is a valid value.
    let mut attr: libc::mount_attr = unsafe { std::mem::zeroed() };
    attr.attr_set = libc::MOUNT_ATTR_IDMAP;
    attr.userns_fd = userns.as_raw_fd() as u64;
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    crate::sys::mount_setattr(tree, flags, &mut attr)
}

/// Names the file system of `tree` for an EINVAL from `apply`: the kernel
/// refuses id-mapped mounts of file systems that do not support them (tmpfs
/// before Linux 6.3, 9p, ...).
pub fn unsupported_hint(tree: BorrowedFd<'_>) -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let kernel = kernel.trim();
    let fs = match nix::sys::statfs::fstatfs(tree) {
        // f_type is i64 on x86_64 glibc but narrower on other targets.
        #[allow(clippy::unnecessary_cast)]
        Ok(st) => match st.filesystem_type().0 as i64 {
            0x0102_1994 => "tmpfs".to_string(),
            0x0102_1997 => "9p".to_string(),
            0x794c_7630 => "overlay".to_string(),
            0xef53 => "ext4".to_string(),
            other => format!("file system type {other:#x}"),
        },
        Err(_) => "its file system".to_string(),
    };
    format!("{fs} may not support id-mapped mounts on kernel {kernel}")
}
