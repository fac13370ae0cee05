//! Detects where each cgroup controller lives from one read of /proc/self/mountinfo.
//! A controller bound to a v1 hierarchy is used there; the rest come from cgroup2 (hybrid
//! hosts put some controllers, e.g. hugetlb, only on /sys/fs/cgroup/unified).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Controllers berth manages on v1. Of the named hierarchies only `name=systemd`
/// is joined (see [`NAMED_JOINED`]).
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// The one named v1 hierarchy a container joins, as runc's cgroupfs driver
/// does: no limits live there, but tools read a process's place in it.
pub const NAMED_JOINED: &str = "name=systemd";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    V1,
    V2,
}

/// One mounted cgroup hierarchy as seen in mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mount {
    pub version: Version,
    pub mount_point: PathBuf,
    /// The hierarchy path visible at the mount point (not "/" inside cgroup namespaces).
    pub root: String,
    /// For v1: from the super options. For v2: filled from cgroup.controllers later.
    pub controllers: Vec<String>,
}

/// Undoes mountinfo's octal escapes (\040 for space, etc).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `cgroup` or `cgroup2` line of mountinfo, with its paths unescaped.
pub struct CgroupMount<'a> {
    pub version: Version,
    pub mount_point: PathBuf,
    /// The hierarchy path visible at the mount point (mountinfo's field 4).
    pub root: String,
    /// The super options; for v1 they name the controllers (and `name=`).
    pub super_options: &'a str,
}

/// Every visible cgroup and cgroup2 mount of a mountinfo text, in order. A mount
/// covered by a later one (e.g. cgroup2 mounted over a hybrid /sys/fs/cgroup in a
/// new mount namespace) is left out: its files cannot be reached by path.
pub fn cgroup_mounts(text: &str) -> impl Iterator<Item = CgroupMount<'_>> {
    let tree: Vec<TreeEntry> = text.lines().filter_map(tree_entry).collect();
    text.lines().filter_map(move |line| {
        let (pre, post) = line.split_once(" - ")?;
        let pre: Vec<&str> = pre.split(' ').collect();
        let mut post = post.split(' ');
        let (fstype, _src, super_options) = (post.next()?, post.next()?, post.next()?);
        if pre.len() < 5 {
            return None;
        }
        let version = match fstype {
            "cgroup2" => Version::V2,
            "cgroup" => Version::V1,
            _ => return None,
        };
        if tree_entry(line).is_some_and(|m| is_covered(&tree, &m)) {
            return None;
        }
        Some(CgroupMount {
            version,
            mount_point: PathBuf::from(unescape(pre[4])),
            root: unescape(pre[3]),
            super_options,
        })
    })
}

/// A mountinfo line's place in the mount tree.
struct TreeEntry {
    id: u32,
    parent: u32,
    mount_point: PathBuf,
}

fn tree_entry(line: &str) -> Option<TreeEntry> {
    let mut f = line.split(' ');
    let id = f.next()?.parse().ok()?;
    let parent = f.next()?.parse().ok()?;
    let mount_point = PathBuf::from(unescape(f.nth(2)?));
    Some(TreeEntry {
        id,
        parent,
        mount_point,
    })
}

/// Whether a path walk to `m`'s mount point ends somewhere else: a mount stacked
/// on `m` at its own mount point, or a mount stacked on one of `m`'s ancestors at
/// or above the point where the walk would have entered the next mount down the
/// chain towards `m`.
fn is_covered(tree: &[TreeEntry], m: &TreeEntry) -> bool {
    if tree
        .iter()
        .any(|n| n.parent == m.id && n.id != m.id && n.mount_point == m.mount_point)
    {
        return true;
    }
    let mut below = m;
    for _ in 0..tree.len() {
        let Some(a) = tree
            .iter()
            .find(|p| p.id == below.parent && p.id != below.id)
        else {
            return false;
        };
        if tree.iter().any(|n| {
            n.parent == a.id
                && n.id != a.id
                && n.id != below.id
                && below.mount_point.starts_with(&n.mount_point)
        }) {
            return true;
        }
        below = a;
    }
    false // a malformed text with a parent cycle
}

/// Parses mountinfo text into cgroup mounts, first mount of each hierarchy winning.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut mounts: Vec<Mount> = Vec::new();
    for m in cgroup_mounts(text) {
        match m.version {
            Version::V2 if !mounts.iter().any(|m| m.version == Version::V2) => {
                mounts.push(Mount {
                    version: Version::V2,
                    mount_point: m.mount_point,
                    root: m.root,
                    controllers: vec![],
                });
            }
            Version::V1 => {
                let controllers: Vec<String> = m
                    .super_options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || *o == NAMED_JOINED)
                    .map(str::to_owned)
                    .collect();
                // Other named hierarchies and repeated (bind) mounts of a controller are skipped.
                let seen = mounts
                    .iter()
                    .any(|m| m.controllers.iter().any(|c| controllers.contains(c)));
                if !controllers.is_empty() && !seen {
                    mounts.push(Mount {
                        version: Version::V1,
                        mount_point: m.mount_point,
                        root: m.root,
                        controllers,
                    });
                }
            }
            Version::V2 => {}
        }
    }
    mounts
}

/// Parses /proc/self/cgroup into (controllers, path) pairs; the v2 line has no controllers.
pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
            let ctrls = ctrls
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
            Some((ctrls, path.to_owned()))
        })
        .collect()
}

/// Resolves the container cgroup directory inside one hierarchy.
/// Absolute `inner` is relative to the mount point (as runc does). A relative one is placed
/// under the calling process's own cgroup in that hierarchy, from /proc/self/cgroup.
pub(crate) fn resolve_dir(
    m: &Mount,
    inner: &str,
    own: Option<&[(Vec<String>, String)]>,
) -> Result<PathBuf> {
    let rel = inner.trim_start_matches('/');
    if inner.starts_with('/') {
        return Ok(m.mount_point.join(rel));
    }
    let own = own.ok_or_else(|| Error::NoHierarchy {
        source_name: "/proc/self/cgroup".into(),
    })?;
    let entry = own.iter().find(|(ctrls, _)| match m.version {
        Version::V2 => ctrls.is_empty(),
        Version::V1 => m.controllers.iter().any(|c| ctrls.contains(c)),
    });
    let own_path = entry.map(|(_, p)| p.as_str()).unwrap_or("/");
    // The part of our own path that is visible under this mount.
    let visible = own_path
        .strip_prefix(m.root.as_str())
        .unwrap_or(own_path)
        .trim_start_matches('/');
    Ok(m.mount_point.join(visible).join(rel))
}

/// Rejects cgroup paths that would escape the hierarchy.
pub(crate) fn check_inner(inner: &str) -> Result<()> {
    if inner.is_empty() || inner.split('/').any(|c| c == "..") || inner.contains('\0') {
        return Err(crate::error::invalid(
            "linux.cgroupsPath",
            inner,
            "must be non-empty and contain no '..' components",
        ));
    }
    if is_systemd_form(inner) {
        return Err(crate::error::invalid(
            "linux.cgroupsPath",
            inner,
            "is systemd's slice:prefix:name form, and berth has no systemd cgroup driver (give a cgroupfs path)",
        ));
    }
    Ok(())
}

/// `slice:prefix:name` as runc's systemd driver reads it: three ':'-separated
/// parts, no '/', and a first part that is empty or a `.slice` unit.
fn is_systemd_form(inner: &str) -> bool {
    let parts: Vec<&str> = inner.split(':').collect();
    parts.len() == 3
        && !inner.contains('/')
        && (parts[0].is_empty() || parts[0].ends_with(".slice"))
}

pub(crate) fn is_under(p: &Path, base: &Path) -> bool {
    p.starts_with(base) && p != base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_cgroups_paths_are_refused() {
        for p in [
            "system.slice:docker:abc",
            ":berth:x",
            "machine.slice:libpod:c1",
        ] {
            let e = check_inner(p).unwrap_err().to_string();
            assert!(e.contains("systemd") && e.contains(p), "{e}");
        }
        for p in ["/berth/x", "a:b", "kubepods/burstable:x:y", "x:y:z"] {
            assert!(check_inner(p).is_ok(), "{p}");
        }
    }

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:32 / /mnt/mem\\040copy rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_mounts() {
        let m = parse_mountinfo(HYBRID);
        // The second memory mount is a repeat; name=systemd is joined like a controller.
        assert_eq!(m.len(), 5, "{m:?}");
        assert_eq!(m[0].controllers, vec!["cpu"]);
        assert_eq!(m[1].controllers, vec!["cpuacct"]);
        assert_eq!(m[2].mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
        assert_eq!(m[3].controllers, vec![NAMED_JOINED]);
        assert_eq!(m[4].version, Version::V2);
        assert_eq!(m[4].mount_point, PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn mounts_covered_by_later_ones_are_left_out() {
        // cgroup2 mounted over the hybrid tree in a new mount namespace: only it is visible.
        let over = format!("{HYBRID}50 31 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        // (The memory bind at /mnt is elsewhere, so it stays.)
        let m = parse_mountinfo(&over);
        let points: Vec<_> = m.iter().map(|m| m.mount_point.to_str().unwrap()).collect();
        assert_eq!(points, ["/mnt/mem copy", "/sys/fs/cgroup"], "{m:?}");
        assert_eq!(m[1].version, Version::V2);
        // A tmpfs over /sys/fs/cgroup/memory hides memory alone; a mount inside cpu does not hide cpu.
        let partly = format!(
            "{HYBRID}51 35 0:50 / /sys/fs/cgroup/memory rw - tmpfs tmpfs rw\n\
             52 32 0:51 / /sys/fs/cgroup/cpu/sub rw - tmpfs tmpfs rw\n"
        );
        let m = parse_mountinfo(&partly);
        let points: Vec<_> = m.iter().map(|m| m.mount_point.to_str().unwrap()).collect();
        assert_eq!(
            points,
            [
                "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup/cpuacct",
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/unified",
                "/mnt/mem copy"
            ]
        );
        // A tmpfs over /sys hides everything below it.
        let sys = "20 1 0:20 / /sys rw - sysfs sysfs rw\n\
                   31 20 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                   32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
                   60 20 0:60 / /sys rw - tmpfs tmpfs rw\n";
        assert!(parse_mountinfo(sys).is_empty());
    }

    #[test]
    fn comounted_and_escapes() {
        let t =
            "29 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n\
                 30 26 0:27 /docker/abc /a\\040b rw - cgroup cgroup rw,memory\n";
        let m = parse_mountinfo(t);
        assert_eq!(m[0].controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(m[1].mount_point, PathBuf::from("/a b"));
        assert_eq!(m[1].root, "/docker/abc");
    }

    #[test]
    fn relative_paths_follow_own_cgroup() {
        let m =
            &parse_mountinfo("1 1 0:1 /docker/abc /cg/memory rw - cgroup cgroup rw,memory\n")[0];
        let own = parse_proc_cgroup("4:memory:/docker/abc/sub\n0::/\n");
        assert_eq!(
            resolve_dir(m, "x/y", Some(&own)).unwrap(),
            PathBuf::from("/cg/memory/sub/x/y")
        );
        assert_eq!(
            resolve_dir(m, "/x", Some(&own)).unwrap(),
            PathBuf::from("/cg/memory/x")
        );
        let v2 = &parse_mountinfo("1 1 0:1 / /cg rw - cgroup2 cgroup2 rw\n")[0];
        let own = parse_proc_cgroup("0::/user.slice\n");
        assert_eq!(
            resolve_dir(v2, "c1", Some(&own)).unwrap(),
            PathBuf::from("/cg/user.slice/c1")
        );
        assert!(check_inner("/a/../b").is_err());
    }
}
