//! Namespaces from `linux.namespaces`: which to create, which to join by path,
//! and the check that a path really is a namespace of the declared type.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};

use crate::{invalid, Error, Result};

/// `ioctl(fd, NS_GET_NSTYPE)`: returns the CLONE_NEW* type of a namespace fd.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}

/// A namespace to join: its type, an open fd checked against the type, and
/// the path it was opened from (for errors).
pub struct Joined {
    pub typ: LinuxNamespaceType,
    pub file: File,
    pub path: std::path::PathBuf,
}

/// What the init must do with namespaces.
pub struct Plan {
    /// New namespaces to create.
    pub new: CloneFlags,
    /// Namespaces to join by path, in the order of `linux.namespaces`.
    pub join: Vec<Joined>,
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Plan> {
        let list: &[LinuxNamespace] = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or(&[]);
        let mut plan = Plan {
            new: CloneFlags::empty(),
            join: Vec::new(),
        };
        for (i, ns) in list.iter().enumerate() {
            match ns.path() {
                None => plan.new |= clone_flag(ns.typ()),
                Some(p) if p.as_os_str().is_empty() => plan.new |= clone_flag(ns.typ()),
                Some(path) => {
                    let file = File::open(path)
                        .map_err(|e| Error::io("linux.namespaces: open namespace", path, e))?;
                    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd.
                    let got = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE) };
                    if got != ns.typ() as i32 {
                        return invalid!(
                            format!("linux.namespaces[{i}].path"),
                            path.display(),
                            "not a {} namespace",
                            ns.typ()
                        );
                    }
                    plan.join.push(Joined {
                        typ: ns.typ(),
                        file,
                        path: path.clone(),
                    });
                }
            }
        }
        Ok(plan)
    }

    pub fn creates(&self, t: LinuxNamespaceType) -> bool {
        self.new.contains(clone_flag(t))
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|j| j.typ == t)
    }

    /// The common case needs one fork: the parent clones init with
    /// CLONE_NEWPID and init unshares the rest. A user namespace must own the
    /// pid namespace (so init can mount /proc), and pid/time namespaces joined
    /// by path or a new time namespace only affect children: those are entered
    /// by init followed by a second fork, so the parent never changes its own.
    pub fn needs_second_fork(&self) -> bool {
        self.creates(LinuxNamespaceType::User)
            || self.creates(LinuxNamespaceType::Time)
            || self.join.iter().any(|j| {
                matches!(
                    j.typ,
                    LinuxNamespaceType::User | LinuxNamespaceType::Pid | LinuxNamespaceType::Time
                )
            })
    }

    /// Joins every namespace given by path (pid and time only take effect
    /// for the next fork). As runc: the others first, while the runtime's own
    /// privileges hold, since a namespace that the joined user namespace does
    /// not own can only be entered then; then the user namespace; then those
    /// the first pass was not allowed into (a rootless caller gets the right
    /// from the joined user namespace).
    pub fn join_all(&self) -> Result<()> {
        let mut later = Vec::new();
        for j in self
            .join
            .iter()
            .filter(|j| j.typ != LinuxNamespaceType::User)
        {
            match nix::sched::setns(j.file.as_fd(), clone_flag(j.typ)) {
                Ok(()) => {}
                Err(nix::errno::Errno::EPERM) => later.push(j),
                Err(e) => return Err(join_error(j, e)),
            }
        }
        if let Some(user) = self.joined(LinuxNamespaceType::User) {
            setns(user)?;
        }
        later.into_iter().try_for_each(setns)
    }

    /// Joins the network namespace at `path` instead of creating one
    /// (berth-net's `container:<id>` mode).
    pub fn join_network(&mut self, path: &std::path::Path) -> Result<()> {
        let file = File::open(path).map_err(|e| Error::io("open network namespace", path, e))?;
        self.new -= CloneFlags::CLONE_NEWNET;
        self.join.retain(|j| j.typ != LinuxNamespaceType::Network);
        self.join.push(Joined {
            typ: LinuxNamespaceType::Network,
            file,
            path: path.to_path_buf(),
        });
        Ok(())
    }

    /// The fds of the namespaces to join (init keeps them open until it has joined).
    pub fn fds(&self) -> Vec<std::os::fd::RawFd> {
        self.join.iter().map(|j| j.file.as_raw_fd()).collect()
    }

    pub fn joined(&self, t: LinuxNamespaceType) -> Option<&Joined> {
        self.join.iter().find(|j| j.typ == t)
    }
}

pub fn setns(j: &Joined) -> Result<()> {
    nix::sched::setns(j.file.as_fd(), clone_flag(j.typ)).map_err(|e| join_error(j, e))
}

fn join_error(j: &Joined, e: nix::Error) -> Error {
    Error::sys(
        format!(
            "linux.namespaces: join {} namespace {}",
            j.typ,
            j.path.display()
        ),
        e,
    )
}

/// The inode of a process's namespace link (tests compare these).
pub fn inode(pid: &str, kind: &str) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))?.ino())
}

/// Writes `/proc/PID/uid_map` and `gid_map` (one "containerID hostID size"
/// line per mapping; an empty list is not written). `field` prefixes the
/// error's field name ("linux." gives "linux.uidMappings").
pub(crate) fn write_id_maps(
    pid: i32,
    field: &str,
    uids: &[oci_spec::runtime::LinuxIdMapping],
    gids: &[oci_spec::runtime::LinuxIdMapping],
) -> Result<()> {
    for (file, name, maps) in [
        ("uid_map", "uidMappings", uids),
        ("gid_map", "gidMappings", gids),
    ] {
        if maps.is_empty() {
            continue;
        }
        let text: String = maps
            .iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect();
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, &text).map_err(|e| {
            Error::invalid(
                format!("{field}{name}"),
                text.trim().replace('\n', ", "),
                format!("write {path}: {e}"),
            )
        })?;
    }
    Ok(())
}
