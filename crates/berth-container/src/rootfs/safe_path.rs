//! Resolving untrusted paths inside the container's root file system.
//!
//! Every path that comes from config.json (mount destinations, device paths,
//! masked and read-only paths) is looked up relative to an fd of the rootfs
//! with openat2(2) `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: `..` and absolute
//! symlinks are clamped to the rootfs, and /proc magic links cannot be used
//! to jump out of it. Missing components are created one at a time relative
//! to the directory fd that holds them, never by path, so a symlink swapped
//! in cannot redirect the creation either. The returned fd is what the caller
//! mounts onto (through `/proc/self/fd/N` or move_mount(2)).

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, Mode};

use crate::{Error, Result};

/// Symlinks followed while creating one path before giving up (as the kernel's limit).
const MAX_SYMLINKS: usize = 40;

/// What to create at the end of a missing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Lexically clean an absolute or relative path into its normal components:
/// `.` dropped, `..` pops (never above the root), repeated slashes collapsed.
pub fn clean_components(path: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The cleaned absolute form of `path` (`/a/./b/../c` -> `/a/c`).
pub fn clean(path: &Path) -> PathBuf {
    let mut p = PathBuf::from("/");
    p.extend(clean_components(path));
    p
}

fn rel_of(comps: &[OsString]) -> PathBuf {
    if comps.is_empty() {
        PathBuf::from(".")
    } else {
        comps.iter().collect()
    }
}

/// `path` cleaned and made relative, for *at calls on a root fd (`.` for the root).
pub fn rel(path: &Path) -> PathBuf {
    rel_of(&clean_components(path))
}

fn how(flags: OFlag, resolve: ResolveFlag) -> OpenHow {
    OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(resolve)
}

/// openat2 inside `root`: `..` and symlinks stay within it, no magic links.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
    let rel = rel_of(&clean_components(path));
    openat2(
        root,
        &rel,
        how(
            flags,
            ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        ),
    )
}

/// Open one component below `dir` without following any symlink (ELOOP if it is one).
fn open_child(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlag) -> nix::Result<OwnedFd> {
    openat2(
        dir,
        name,
        how(
            flags,
            ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS,
        ),
    )
}

/// Open `path` inside `root` as an `O_PATH` fd, creating what is missing:
/// directories along the way and, at the end, a directory or an empty file
/// (mode 0644) as `kind` says. Dangling symlinks along the path are followed
/// *inside* the rootfs, so `/x -> /../../host` creates `<rootfs>/host`.
pub fn open_or_create(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Result<OwnedFd> {
    let comps = clean_components(path);
    let err = |e: Errno| Error::sys(format!("resolve {} inside the rootfs", path.display()), e);
    // Fast path: it exists (one syscall).
    match openat2(
        root,
        &rel_of(&comps),
        how(
            OFlag::O_PATH,
            ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        ),
    ) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(err(e)),
    }
    create_walk(root, comps, kind).map_err(err)
}

fn create_walk(root: BorrowedFd<'_>, comps: Vec<OsString>, kind: Kind) -> nix::Result<OwnedFd> {
    let mut remaining: std::collections::VecDeque<OsString> = comps.into();
    let mut prefix: Vec<OsString> = Vec::new();
    let mut cur: Option<OwnedFd> = None;
    let mut links = 0;
    while let Some(name) = remaining.pop_front() {
        let dir = cur.as_ref().map(|f| f.as_fd()).unwrap_or(root);
        let last = remaining.is_empty();
        match open_child(dir, &name, OFlag::O_PATH) {
            Ok(fd) => {
                prefix.push(name);
                cur = Some(fd);
                continue;
            }
            Err(Errno::ELOOP) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                let target = nix::fcntl::readlinkat(dir, name.as_os_str())?;
                let target = Path::new(&target);
                let mut joined: PathBuf = if target.is_absolute() {
                    PathBuf::from("/")
                } else {
                    let mut p = PathBuf::from("/");
                    p.extend(&prefix);
                    p
                };
                joined.push(target);
                joined.extend(remaining.iter());
                remaining = clean_components(&joined).into();
                prefix.clear();
                cur = None;
                continue;
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if last && kind == Kind::File {
            let h = OpenHow::new()
                .flags(OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDONLY | OFlag::O_CLOEXEC)
                .mode(Mode::from_bits_truncate(0o644))
                .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
            return match openat2(dir, name.as_os_str(), h) {
                Err(Errno::EEXIST) => open_child(dir, &name, OFlag::O_PATH),
                r => r,
            };
        }
        match mkdirat(dir, name.as_os_str(), Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        let fd = open_child(dir, &name, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        prefix.push(name);
        cur = Some(fd);
    }
    match cur {
        Some(fd) => Ok(fd),
        // The path was the root itself.
        None => nix::unistd::dup(root),
    }
}

/// `/proc/self/fd/N` for an fd, the path mount(2) is given so that it acts
/// on exactly the file the fd holds.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    use std::os::fd::AsRawFd;
    let mut p = PathBuf::from("/proc/self/fd");
    p.push(OsStr::from_bytes(fd.as_raw_fd().to_string().as_bytes()));
    p
}
