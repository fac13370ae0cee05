//! The `cgroup` mount type: mount what the host has.
//!
//! cgroup v1 and hybrid hosts get a tmpfs at the destination with one
//! directory per hierarchy (named as on the host: `cpu`, `memory`,
//! `systemd`, `unified`, ...); a pure v2 host gets cgroup2 directly at the
//! destination. In a cgroup namespace each hierarchy is mounted fresh (the
//! kernel shows the namespace root); without one, the container's own cgroup
//! directory is bind-mounted, never the host's root (rootless containers bind
//! too when the kernel refuses the fresh mount). `ro` makes every hierarchy and
//! the tmpfs read-only, as runc does.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{mkdirat, Mode};

use super::mount_options::MountOptions;
use super::mounts::{mount_setattr, move_mount, open_tree};
use super::safe_path::{fd_path, open_in_root, open_or_create, Kind};
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub(super) struct Hierarchy {
    /// Host mount point, e.g. /sys/fs/cgroup/cpu.
    mountpoint: PathBuf,
    /// The mount's root inside the hierarchy (mountinfo field 4).
    root: PathBuf,
    /// Sorted controllers (and `name=` for named v1 hierarchies); empty for v2.
    controllers: Vec<String>,
    v2: bool,
}

/// Lazily read host cgroup facts, once per `prepare`.
#[derive(Default)]
pub(super) struct CgroupCtx {
    pub in_cgroupns: bool,
    hierarchies: Option<Vec<Hierarchy>>,
    own: Option<Vec<(Vec<String>, PathBuf)>>,
}

/// cgroup hierarchies in a mountinfo text, first mount of each hierarchy only.
pub(super) fn parse_mountinfo(text: &str) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for m in berth_cgroups::cgroup_mounts(text) {
        let v2 = m.version == berth_cgroups::Version::V2;
        let mut controllers: Vec<String> = if v2 {
            Vec::new()
        } else {
            m.super_options
                .split(',')
                .filter(|o| {
                    o.starts_with("name=")
                        || *o == "debug"
                        || berth_cgroups::V1_CONTROLLERS.contains(o)
                })
                .map(str::to_string)
                .collect()
        };
        controllers.sort();
        if out
            .iter()
            .any(|h| h.v2 == v2 && h.controllers == controllers)
        {
            continue;
        }
        out.push(Hierarchy {
            mountpoint: m.mount_point,
            root: PathBuf::from(m.root),
            controllers,
            v2,
        });
    }
    out
}

/// /proc/self/cgroup: (sorted controllers, path); v2 has no controllers.
pub(super) fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, PathBuf)> {
    berth_cgroups::parse_proc_cgroup(text)
        .into_iter()
        .map(|(mut c, p)| {
            c.sort();
            (c, PathBuf::from(p))
        })
        .collect()
}

impl CgroupCtx {
    pub fn new(in_cgroupns: bool) -> Self {
        CgroupCtx {
            in_cgroupns,
            hierarchies: None,
            own: None,
        }
    }

    fn hierarchies(&mut self) -> Result<&[Hierarchy]> {
        if self.hierarchies.is_none() {
            let t = std::fs::read_to_string("/proc/self/mountinfo")
                .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
            self.hierarchies = Some(parse_mountinfo(&t));
        }
        Ok(self.hierarchies.as_deref().unwrap_or(&[]))
    }

    fn own_path(&mut self, h: &Hierarchy) -> Result<PathBuf> {
        if self.own.is_none() {
            let t = std::fs::read_to_string("/proc/self/cgroup")
                .map_err(|e| Error::io("read", "/proc/self/cgroup", e))?;
            self.own = Some(parse_proc_cgroup(&t));
        }
        let own = self.own.as_deref().unwrap_or(&[]);
        let p = own
            .iter()
            .find(|(c, _)| {
                if h.v2 {
                    c.is_empty()
                } else {
                    *c == h.controllers
                }
            })
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| PathBuf::from("/"));
        // Path of our cgroup below the host mount's root.
        let rel = p.strip_prefix(&h.root).unwrap_or(Path::new(""));
        Ok(h.mountpoint.join(rel))
    }
}

/// Mount one hierarchy onto `target` (an fd of an empty directory).
fn mount_hierarchy(
    target: BorrowedFd<'_>,
    h: &Hierarchy,
    dest: &Path,
    o: &MountOptions,
    cg: &mut CgroupCtx,
) -> Result<()> {
    if cg.in_cgroupns {
        let (typ, data) = if h.v2 {
            ("cgroup2", String::new())
        } else {
            ("cgroup", h.controllers.join(","))
        };
        let data = (!data.is_empty()).then_some(data);
        match mount(
            Some(typ),
            &fd_path(target),
            Some(typ),
            o.flags,
            data.as_deref(),
        ) {
            Ok(()) => return Ok(()),
            // In a user namespace the kernel may refuse a fresh hierarchy: EPERM, or
            // EBUSY when the same hierarchy is already mounted right there (a rootless
            // config rbinds the host's /sys, cgroup2 included). Bind it as below, as runc
            // falls back on these two errors. What is bound (this process's cgroup, or
            // the whole hierarchy when the namespace hides where that is) grants nothing
            // in a user namespace: the host's files keep their host owners.
            Err(Errno::EPERM | Errno::EBUSY) if crate::rootless::in_user_namespace() => {}
            Err(e) => return Err(Error::sys(format!("mount {typ} on {}", dest.display()), e)),
        }
    }
    let source = cg.own_path(h)?;
    let tree = open_tree(None, &source, libc::OPEN_TREE_CLONE).map_err(|e| {
        Error::sys(
            format!("bind cgroup {} onto {}", source.display(), dest.display()),
            e,
        )
    })?;
    if o.has_attrs() {
        mount_setattr(tree.as_fd(), false, o.attr_set, o.attr_clr, 0)
            .map_err(|e| Error::sys(format!("set mount attributes of {}", dest.display()), e))?;
    }
    move_mount(tree.as_fd(), target)
        .map_err(|e| Error::sys(format!("bind cgroup onto {}", dest.display()), e))
}

pub(super) fn mount_cgroup(
    root: BorrowedFd<'_>,
    dest: &Path,
    o: &MountOptions,
    cg: &mut CgroupCtx,
) -> Result<()> {
    let hs: Vec<Hierarchy> = cg.hierarchies()?.to_vec();
    if hs.is_empty() {
        return Err(Error::unsupported(
            format!("a cgroup mount on {}", dest.display()),
            "the host has no cgroup file system mounted",
        ));
    }
    let target = open_or_create(root, dest, Kind::Dir)?;
    if hs.iter().all(|h| h.v2) {
        return mount_hierarchy(target.as_fd(), &hs[0], dest, o, cg);
    }
    // v1 or hybrid: a tmpfs holding one directory per hierarchy.
    let tmpfs_flags = o.flags & !MsFlags::MS_RDONLY;
    mount(
        Some("tmpfs"),
        &fd_path(target.as_fd()),
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )
    .map_err(|e| Error::sys(format!("mount tmpfs for cgroups on {}", dest.display()), e))?;
    drop(target);
    let top = open_in_root(root, dest, OFlag::O_PATH | OFlag::O_DIRECTORY)
        .map_err(|e| Error::sys(format!("reopen {}", dest.display()), e))?;
    for h in &hs {
        let Some(name) = h.mountpoint.file_name() else {
            continue;
        };
        let sub = dest.join(name);
        let dir = mkdir_in(top.as_fd(), name)
            .map_err(|e| Error::sys(format!("create {}", sub.display()), e))?;
        mount_hierarchy(dir.as_fd(), h, &sub, o, cg)?;
        // cpu,cpuacct -> symlinks cpu and cpuacct, as on the host.
        let name_s = name.to_string_lossy();
        if name_s.contains(',') {
            for part in name_s.split(',') {
                match nix::unistd::symlinkat(name, top.as_fd(), part) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(Error::sys(format!("symlink {}/{part}", dest.display()), e))
                    }
                }
            }
        }
    }
    if o.flags.contains(MsFlags::MS_RDONLY) {
        mount(
            None::<&str>,
            &fd_path(top.as_fd()),
            None::<&str>,
            o.flags | MsFlags::MS_REMOUNT,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("remount {} read-only", dest.display()), e))?;
    }
    Ok(())
}

/// mkdir in a directory we just created on a fresh tmpfs, and open it.
fn mkdir_in(dir: BorrowedFd<'_>, name: &std::ffi::OsStr) -> nix::Result<OwnedFd> {
    match mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => return Err(e),
    }
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_mountinfo() {
        let t = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpuacct,cpu\n\
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n\
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n\
99 31 0:29 /x /mnt/cpu\\040dup rw - cgroup cgroup rw,cpu,cpuacct\n";
        let h = parse_mountinfo(t);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(h[0].mountpoint, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(h[1].controllers, vec!["name=systemd"]);
        assert!(h[2].v2 && h[2].controllers.is_empty());
        let escaped = parse_mountinfo("1 1 0:1 / /a\\040b rw - cgroup cgroup rw,pids\n");
        assert_eq!(escaped[0].mountpoint, Path::new("/a b"));
    }

    #[test]
    fn proc_cgroup_lines() {
        let c = parse_proc_cgroup("4:cpu,cpuacct:/berth/x\n1:name=systemd:/berth/x\n0::/berth/x\n");
        assert_eq!(
            c[0],
            (
                vec!["cpu".to_string(), "cpuacct".to_string()],
                PathBuf::from("/berth/x")
            )
        );
        assert_eq!(c[2], (vec![], PathBuf::from("/berth/x")));
    }
}
