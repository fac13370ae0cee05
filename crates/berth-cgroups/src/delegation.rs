//! Cgroups for a caller without root (rootless containers).
//!
//! Only cgroup v2 can be handed to an ordinary user: an administrator (or systemd's
//! `Delegate=yes`) chowns a directory with its `cgroup.procs` and `cgroup.subtree_control`
//! to the user, and the kernel then lets that user make children there, enable the
//! controllers the directory is offered, and move its own processes within the subtree.
//! v1 hierarchies are never used without root. Without a delegated subtree the container
//! runs without a cgroup, which is allowed (as in runc) only when the config sets no limits.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

use crate::error::{Error, Result};
use crate::layout::{self, Version};
use crate::manager::Manager;
use crate::{fsio, resources};

/// Where the planner looks while checking limits: the delegated top stands in for the
/// container's directory (not made yet), which will offer the same controllers.
struct Offered<'a> {
    top: &'a Path,
    controllers: &'a [String],
}

impl resources::Locate for Offered<'_> {
    fn locate(&self, controller: &str) -> Option<(Version, &Path)> {
        let found = controller.is_empty()
            || controller == "unified"
            || self.controllers.iter().any(|c| c == controller);
        found.then_some((Version::V2, self.top))
    }
}

impl Manager {
    /// The cgroup of a container created by an unprivileged caller. `cgroups_path` is
    /// `linux.cgroupsPath`; without one the container's directory goes next to the
    /// caller's own v2 cgroup (which holds processes, so no controller could be enabled
    /// below it), as runc places it. Device rules are not checked: they need privileges
    /// and are left to the bind-mounted host nodes' permissions.
    ///
    /// Errors, before anything is made: a given path outside a delegated subtree, and
    /// limits that no usable cgroup can hold. Without delegation and limits the manager
    /// has no directory at all ([`has_cgroup`](Self::has_cgroup) is false).
    pub fn unprivileged(
        cgroups_path: Option<&str>,
        id: &str,
        resources: Option<&LinuxResources>,
    ) -> Result<Manager> {
        // SAFETY: geteuid has no failure mode.
        let uid = unsafe { libc::geteuid() };
        let given = cgroups_path.filter(|p| !p.is_empty());
        let mut limits = resources.cloned().unwrap_or_default();
        limits.set_devices(None);
        let full = Manager::new(Some(given.unwrap_or(id)), id)?;
        let v2 = full.nodes.into_iter().find(|n| n.version == Version::V2);
        let node = v2.map(|mut n| {
            if given.is_none() {
                n.dir = sibling_of_own(&n.dir, &n.mount, id);
            }
            n
        });
        let top = node
            .as_ref()
            .and_then(|n| delegated_top(&n.dir, &n.mount, uid));
        let (mut node, top) = match (node, top) {
            (Some(node), Some(top)) => (node, top),
            (node, _) => return without_delegation(id, given, node.map(|n| n.dir), &limits, uid),
        };
        // The kernel moves a process only with write access to the cgroup.procs of the
        // common ancestor of where it is and where it goes: berth itself must run inside.
        let own = own_v2_dir(&node.mount)?;
        if !own.starts_with(&top) {
            return Err(Error::NotDelegated {
                field: "berth's own cgroup",
                value: own.display().to_string(),
                dir: own.clone(),
                uid,
            });
        }
        let offered = fsio::read(&top.join("cgroup.controllers"))?;
        node.controllers
            .retain(|c| offered.split_whitespace().any(|o| o == c));
        let why = format!(
            "the controller is not offered to {} (cgroup.controllers: {:?}), the subtree delegated to uid {uid}",
            top.display(),
            offered.trim()
        );
        check_limits(
            &Offered {
                top: &top,
                controllers: &node.controllers,
            },
            &limits,
            &why,
        )?;
        node.delegated = Some(top);
        Ok(Manager {
            id: id.to_owned(),
            nodes: vec![node],
        })
    }

    /// False for an unprivileged container that runs without any cgroup.
    pub fn has_cgroup(&self) -> bool {
        !self.nodes.is_empty()
    }

    /// In a delegated subtree a missing controller is one the subtree is not offered,
    /// not one the host lacks: says so.
    pub(crate) fn explain_missing(&self, e: Error) -> Error {
        match (e, self.nodes.iter().find_map(|n| n.delegated.as_ref())) {
            (Error::NoController { field, controller }, Some(top)) => Error::RootlessLimit {
                controller,
                field,
                reason: format!(
                    "the controller is not offered to {}, the subtree delegated to this user",
                    top.display()
                ),
            },
            (e, _) => e,
        }
    }
}

/// No usable subtree: a given path is an error, limits are an error, else no cgroup.
fn without_delegation(
    id: &str,
    given: Option<&str>,
    dir: Option<PathBuf>,
    limits: &LinuxResources,
    uid: u32,
) -> Result<Manager> {
    if let Some(path) = given {
        return Err(Error::NotDelegated {
            field: "linux.cgroupsPath",
            value: path.to_owned(),
            dir: dir.unwrap_or_else(|| PathBuf::from(path)),
            uid,
        });
    }
    let none = Manager {
        id: id.to_owned(),
        nodes: Vec::new(),
    };
    // runc's words first: engines and runc's own tests look for them.
    let why = format!(
        "container could not join or create cgroup: no cgroup v2 subtree is delegated to uid {uid}; delegate one, or drop the limits to run without a cgroup"
    );
    check_limits(&none, limits, &why)?;
    Ok(none)
}

/// Plans the limits against `loc` and turns a missing controller into a rootless error.
fn check_limits(loc: &impl resources::Locate, limits: &LinuxResources, why: &str) -> Result<()> {
    match resources::plan(loc, limits, true) {
        Err(Error::NoController { field, controller }) => Err(Error::RootlessLimit {
            controller,
            field,
            reason: why.to_owned(),
        }),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// `<mount>/<own cgroup>/<id>` becomes `<mount>/<parent of own cgroup>/<id>`.
fn sibling_of_own(dir: &Path, mount: &Path, id: &str) -> PathBuf {
    match dir.parent().and_then(Path::parent) {
        Some(grand) if grand.starts_with(mount) => grand.join(id),
        _ => dir.to_owned(),
    }
}

/// The caller's own directory in the cgroup2 hierarchy mounted at `mount`.
fn own_v2_dir(mount: &Path) -> Result<PathBuf> {
    let text = fsio::read(Path::new("/proc/self/cgroup"))?;
    let own = layout::parse_proc_cgroup(&text);
    let path = own
        .iter()
        .find(|(ctrls, _)| ctrls.is_empty())
        .map_or("/", |(_, p)| p.as_str());
    Ok(mount.join(path.trim_start_matches('/')))
}

/// The outermost directory of the subtree delegated to `uid` that holds `dir` (or would,
/// once made): the nearest existing ancestor-or-self must be the user's, and the subtree
/// extends up while directories and their cgroup.procs stay the user's.
fn delegated_top(dir: &Path, mount: &Path, uid: u32) -> Option<PathBuf> {
    let owned = |p: &Path| {
        let mine = |f: &Path| f.metadata().is_ok_and(|m| m.uid() == uid);
        mine(p) && mine(&p.join("cgroup.procs"))
    };
    let mut cur = dir;
    while !cur.exists() {
        cur = cur.parent().filter(|p| p.starts_with(mount))?;
    }
    if !owned(cur) {
        return None;
    }
    while let Some(p) = cur.parent().filter(|p| p.starts_with(mount) && owned(p)) {
        cur = p;
    }
    Some(cur.to_owned())
}
