//! Performing the mounts of config.json inside the rootfs.
//!
//! Bind mounts use the fd-based mount API: open_tree(2) clones the source,
//! mount_setattr(2) applies ro/nosuid/... to the *detached* clone (so the
//! mount is never visible with the wrong flags, and flags the kernel locks in
//! a user namespace are left alone), and move_mount(2) attaches it to the fd
//! of the destination resolved inside the rootfs. Other file systems are
//! mounted with mount(2) onto `/proc/self/fd/N` of the resolved destination.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, SFlag};
use oci_spec::runtime::Mount;

use super::mount_options::MountOptions;
use super::safe_path::{fd_path, open_in_root, open_or_create, Kind};
use super::tmpfs_mode;
use crate::{Error, Result};

fn cstr(p: &Path) -> nix::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

/// open_tree(2): `flags` are OPEN_TREE_* and AT_* bits.
pub(super) fn open_tree(
    dir: Option<BorrowedFd<'_>>,
    path: &Path,
    flags: libc::c_uint,
) -> nix::Result<OwnedFd> {
    let c = cstr(path)?;
    let dfd = dir.map(|d| d.as_raw_fd()).unwrap_or(libc::AT_FDCWD);
    crate::sys::open_tree(dfd, &c, flags)
}

/// Clone the mount (tree) at `fd` itself.
pub(super) fn clone_fd(fd: BorrowedFd<'_>, recursive: bool) -> nix::Result<OwnedFd> {
    let rec = if recursive {
        libc::AT_RECURSIVE as libc::c_uint
    } else {
        0
    };
    open_tree(
        Some(fd),
        Path::new(""),
        libc::OPEN_TREE_CLONE | libc::AT_EMPTY_PATH as libc::c_uint | rec,
    )
}

/// move_mount(2) the detached tree `from` onto the file or directory `to`.
pub(super) fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    crate::sys::move_mount(from, to)
}

/// mount_setattr(2) on the mount `fd` refers to.
pub(super) fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    propagation: u64,
) -> nix::Result<()> {
    // SAFETY: mount_attr is plain data; all-zero is a valid value.
    let mut attr: libc::mount_attr = unsafe { std::mem::zeroed() };
    attr.attr_set = set;
    attr.attr_clr = clr;
    attr.propagation = propagation;
    let mut flags = libc::AT_EMPTY_PATH as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    crate::sys::mount_setattr(fd, flags, &mut attr)
}

/// Change propagation of the mount at `fd` (must be the mount's root).
pub(super) fn set_propagation(fd: BorrowedFd<'_>, flags: MsFlags) -> nix::Result<()> {
    mount(
        None::<&str>,
        &fd_path(fd),
        None::<&str>,
        flags,
        None::<&str>,
    )
}

fn sys(what: &str, dest: &Path, e: Errno) -> Error {
    Error::sys(format!("{what} {}", dest.display()), e)
}

/// Bind `source` (a host path) onto `dest` inside the rootfs; `tree` is the
/// source already cloned by the runtime, when it did that for us.
pub(super) fn bind(
    root: BorrowedFd<'_>,
    source: &Path,
    dest: &Path,
    o: &MountOptions,
    tree: Option<OwnedFd>,
    in_user_ns: bool,
) -> Result<()> {
    let tree = match tree {
        Some(t) => t,
        None => {
            let mut flags = libc::OPEN_TREE_CLONE;
            if o.recursive {
                flags |= libc::AT_RECURSIVE as libc::c_uint;
            }
            open_tree(None, source, flags)
                .map_err(|e| Error::sys(format!("bind mount source {}", source.display()), e))?
        }
    };
    let st = fstat(&tree).map_err(|e| sys("stat bind source for", dest, e))?;
    let kind = if SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT) == SFlag::S_IFDIR {
        Kind::Dir
    } else {
        Kind::File
    };
    let target = open_or_create(root, dest, kind)?;
    if o.has_attrs() {
        // Only a user namespace locks flags; elsewhere the source's do not matter.
        let source_flags = if in_user_ns {
            super::bind_flags::current(tree.as_fd())
                .map_err(|e| sys("read the mount flags of the bind source for", dest, e))?
        } else {
            0
        };
        if let Some((set, clr)) = super::bind_flags::attrs(o, source_flags, in_user_ns) {
            mount_setattr(tree.as_fd(), false, set, clr, 0)
                .map_err(|e| sys("set mount attributes of", dest, e))?;
        }
    }
    if o.has_rec_attrs() {
        mount_setattr(tree.as_fd(), true, o.rec_attr_set, o.rec_attr_clr, 0)
            .map_err(|e| sys("set recursive mount attributes of", dest, e))?;
    }
    move_mount(tree.as_fd(), target.as_fd()).map_err(|e| sys("bind mount onto", dest, e))?;
    // After move_mount the tree fd is the attached mount's root.
    for p in &o.propagation {
        set_propagation(tree.as_fd(), *p).map_err(|e| sys("set propagation of", dest, e))?;
    }
    Ok(())
}

/// Mount a new file system of type `typ` onto `dest` inside the rootfs.
pub(super) fn mount_fs(
    root: BorrowedFd<'_>,
    source: &Path,
    typ: &str,
    dest: &Path,
    o: &MountOptions,
) -> Result<()> {
    let (target, data) = tmpfs_mode::target_and_data(root, typ, dest, &o.data)?;
    let data = (!data.is_empty()).then_some(data.as_str());
    let lower = if o.copy_up {
        Some(
            super::tmpcopyup::open_lower(target.as_fd())
                .map_err(|e| sys("tmpcopyup: open", dest, e))?,
        )
    } else {
        None
    };
    mount(
        Some(source),
        &fd_path(target.as_fd()),
        Some(typ),
        // A read-only tmpcopyup tmpfs is filled first and made read-only after.
        if o.copy_up {
            o.flags - MsFlags::MS_RDONLY
        } else {
            o.flags
        },
        data,
    )
    .map_err(|e| Error::sys(format!("mount {typ} on {}", dest.display()), e))?;
    if let Some(lower) = lower {
        let upper = open_in_root(root, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
            .map_err(|e| sys("reopen", dest, e))?;
        super::tmpcopyup::copy_tree(lower.as_fd(), upper.as_fd()).map_err(|e| {
            sys(
                "tmpcopyup: copy the directory's contents into the tmpfs on",
                dest,
                e,
            )
        })?;
        if o.flags.contains(MsFlags::MS_RDONLY) {
            mount_setattr(upper.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0)
                .map_err(|e| sys("make read-only", dest, e))?;
        }
    }
    if o.propagation.is_empty() && !o.has_rec_attrs() {
        return Ok(());
    }
    // The fd still names the directory under the new mount; look the mount up again.
    let mnt = open_in_root(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(|e| sys("reopen", dest, e))?;
    if o.has_rec_attrs() {
        mount_setattr(mnt.as_fd(), true, o.rec_attr_set, o.rec_attr_clr, 0)
            .map_err(|e| sys("set recursive mount attributes of", dest, e))?;
    }
    for p in &o.propagation {
        set_propagation(mnt.as_fd(), *p).map_err(|e| sys("set propagation of", dest, e))?;
    }
    Ok(())
}

/// Perform one spec mount.
pub(super) fn mount_one(
    root: BorrowedFd<'_>,
    m: &Mount,
    o: &MountOptions,
    tree: Option<OwnedFd>,
    in_user_ns: bool,
    cg: &mut super::cgroup::CgroupCtx,
) -> Result<()> {
    let dest = m.destination();
    if o.bind {
        let source = m.source().as_deref().unwrap_or(Path::new(""));
        return bind(root, source, dest, o, tree, in_user_ns);
    }
    let typ = m.typ().as_deref().unwrap_or("");
    if typ == "cgroup" || typ == "cgroup2" {
        return super::cgroup::mount_cgroup(root, dest, o, cg);
    }
    let default_source = PathBuf::from(typ);
    let source = m
        .source()
        .as_deref()
        .filter(|s| !s.as_os_str().is_empty())
        .unwrap_or(&default_source);
    mount_fs(root, source, typ, dest, o)
}
