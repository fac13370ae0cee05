//! maskedPaths, readonlyPaths and root.readonly, after pivot_root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, makedev};

use super::mounts::{clone_fd, mount_setattr, move_mount};
use super::safe_path::{fd_path, open_in_root, rel};
use crate::{Error, Result};

fn err(what: &str, p: &Path, e: Errno) -> Error {
    Error::sys(format!("{what} {}", p.display()), e)
}

/// Open `p` inside the root, `None` when it does not exist (nothing to do).
fn open_opt(root: BorrowedFd<'_>, p: &Path) -> Result<Option<OwnedFd>> {
    match open_in_root(root, p, OFlag::O_PATH) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(err("open", p, e)),
    }
}

/// Bind each path onto itself read-only (recursively), keeping its other flags.
pub(super) fn readonly_paths(root: BorrowedFd<'_>, paths: &[String]) -> Result<()> {
    for p in paths {
        let p = Path::new(p);
        let Some(fd) = open_opt(root, p)? else {
            continue;
        };
        let tree = clone_fd(fd.as_fd(), true).map_err(|e| err("bind", p, e))?;
        mount_setattr(tree.as_fd(), true, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(|e| err("make read-only", p, e))?;
        move_mount(tree.as_fd(), fd.as_fd()).map_err(|e| err("bind read-only onto", p, e))?;
    }
    Ok(())
}

/// Open the container's /dev/null and prove it is the real 1:3 char device,
/// not a symlink or a file the image planted there (CVE-2025-31133).
fn open_dev_null(root: BorrowedFd<'_>) -> Result<OwnedFd> {
    let p = Path::new("/dev/null");
    let fd = openat2(
        root,
        &rel(p),
        OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_SYMLINKS),
    )
    .map_err(|e| err("open", p, e))?;
    let st = fstat(&fd).map_err(|e| err("stat", p, e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != makedev(1, 3) {
        return Err(Error::unsafe_path(
            p,
            "not the null character device (1:3); refusing to mask paths with it",
        ));
    }
    Ok(fd)
}

/// Files get /dev/null bound over them, directories an empty read-only
/// tmpfs: one tmpfs, made for the first directory and cloned onto the others
/// (as runc), so masking many directories costs one superblock. A path listed
/// twice is masked once.
pub(super) fn masked_paths(root: BorrowedFd<'_>, paths: &[String]) -> Result<()> {
    let mut null: Option<OwnedFd> = None;
    let mut empty_dir: Option<OwnedFd> = None;
    let mut proc_checked = false;
    let mut done: Vec<std::path::PathBuf> = Vec::new();
    for p in paths {
        let p = Path::new(p);
        let cleaned = super::safe_path::clean(p);
        if done.contains(&cleaned) {
            continue;
        }
        done.push(cleaned);
        let Some(fd) = open_opt(root, p)? else {
            continue;
        };
        if !proc_checked {
            // mount(2) is given /proc/self/fd/N: /proc must be procfs.
            let self_fd = nix::fcntl::open(
                "/proc/self/fd",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| err("open", Path::new("/proc/self/fd"), e))?;
            super::sysctl::verify_proc(&self_fd, Path::new("/proc/self/fd"))?;
            proc_checked = true;
        }
        let st = fstat(&fd).map_err(|e| err("stat", p, e))?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            if let Some(shared) = &empty_dir {
                let tree =
                    clone_fd(shared.as_fd(), false).map_err(|e| err("mask directory", p, e))?;
                move_mount(tree.as_fd(), fd.as_fd()).map_err(|e| err("mask directory", p, e))?;
                continue;
            }
            mount(
                Some("tmpfs"),
                &fd_path(fd.as_fd()),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
            .map_err(|e| err("mask directory", p, e))?;
            // The fd names the directory under the tmpfs; look up the tmpfs's root.
            empty_dir = open_opt(root, p)?;
        } else {
            if null.is_none() {
                null = Some(open_dev_null(root)?);
            }
            let null_fd = null.as_ref().map(|f| f.as_fd()).unwrap_or(root);
            mount(
                Some(&fd_path(null_fd)),
                &fd_path(fd.as_fd()),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| err("mask", p, e))?;
        }
    }
    Ok(())
}

/// root.readonly: make the root mount read-only, keeping its other flags.
pub(super) fn readonly_root(root: BorrowedFd<'_>) -> Result<()> {
    mount_setattr(root, false, libc::MOUNT_ATTR_RDONLY, 0, 0)
        .map_err(|e| err("remount read-only", Path::new("/"), e))
}
