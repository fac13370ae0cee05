//! Entering the rootfs: pivot_root(2), or MS_MOVE + chroot with --no-pivot.

use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use crate::{Error, Result};

fn dir(p: &Path) -> Result<std::os::fd::OwnedFd> {
    open(
        p,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {}", p.display()), e))
}

/// Makes `rootfs` the process's root. In the caller's own mount namespace
/// (`own_mount_ns` false) only chroot(2) is safe: pivot_root would move the
/// root of every process there, and the host's mounts are not ours to touch.
pub fn enter(rootfs: &Path, no_pivot: bool, own_mount_ns: bool) -> Result<()> {
    let new_root = dir(rootfs)?;
    if !own_mount_ns {
        fchdir(&new_root).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
        chroot(".").map_err(|e| Error::sys("chroot into the rootfs", e))?;
    } else if no_pivot {
        hide_host_proc_and_sys(rootfs)?;
        fchdir(&new_root).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("move {} to /", rootfs.display()), e))?;
        chroot(".").map_err(|e| Error::sys("chroot into the rootfs", e))?;
    } else {
        let old_root = dir(Path::new("/"))?;
        fchdir(&new_root).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
        // Stack the old root on top of the new one, then detach it from there.
        pivot_root(".", ".")
            .map_err(|e| Error::sys(format!("pivot_root into {}", rootfs.display()), e))?;
        fchdir(&old_root).map_err(|e| Error::sys("chdir to the old root", e))?;
        // Whatever the caller did to propagation, the unmount must not reach the host.
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::sys("make the old root a slave", e))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::sys("detach the old root", e))?;
    }
    chdir("/").map_err(|e| Error::sys("chdir /", e))
}

/// Without pivot_root the host's mounts stay in the container's mount
/// namespace, only out of the chroot's sight. A fully visible procfs or
/// sysfs anywhere in the namespace lets a nested user namespace mount a fresh
/// one (the kernel's "too revealing" check passes), so, as runc does, every
/// proc and sysfs outside the rootfs is detached, or covered with an empty
/// tmpfs where it cannot be detached.
fn hide_host_proc_and_sys(rootfs: &Path) -> Result<()> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    let mut found: Vec<std::path::PathBuf> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fstype = right.split(' ').next().unwrap_or("");
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let point = std::path::PathBuf::from(berth_cgroups::unescape_mountinfo(point));
        if matches!(fstype, "proc" | "sysfs") && !point.starts_with(rootfs) {
            found.push(point);
        }
    }
    // Deepest first: a parent's detach takes its children along.
    for point in found.iter().rev() {
        if umount2(point, MntFlags::MNT_DETACH).is_ok() {
            continue;
        }
        match mount(
            Some("tmpfs"),
            point,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        ) {
            // Gone with an ancestor detached before it.
            Ok(()) | Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => {
                return Err(Error::sys(
                    format!("hide the host's {}", point.display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}
