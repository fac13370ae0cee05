//! Bind-mount sources opened by the runtime on init's behalf.
//!
//! Two kinds of bind mount cannot be opened by the container init itself:
//! - id-mapped mounts, whose MOUNT_ATTR_IDMAP needs host privileges ([`idmap`]);
//! - any bind when the container has a user namespace: its root is an
//!   unprivileged host uid and cannot reach a source only the caller can
//!   (a 0700 directory, for example).
//!
//! For those, init asks the runtime for mount number N when it comes to it.
//! A forked helper of the runtime joins init's mount namespace (so sources
//! under the rootfs see the mounts init has made so far, in the spec's order),
//! clones the source with open_tree(2), id-maps the clone when asked, and
//! hands the detached mount back; init attaches it with move_mount(2).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::sched::CloneFlags;
use nix::sys::stat::Mode;
use oci_spec::runtime::Mount;

use super::idmap;
use super::mount_options::MountOptions;
use crate::{sync, Error, Result};

const GOT_FD: u8 = 0;
const FAILED: u8 = 1;

/// Opens spec mount `m` (checked as `field`, options `o`) for the init
/// process `init_pid`, as a detached mount.
pub fn open_for_init(init_pid: i32, field: &str, m: &Mount, o: &MountOptions) -> Result<OwnedFd> {
    let (ours, theirs) = sync::pair()?;
    let child = crate::sys::fork_with(0)
        .map_err(|e| Error::sys(format!("{field}: fork to open the bind source"), e))?;
    let Some(pid) = child else {
        drop(ours);
        let _ = match helper(init_pid, m, o) {
            Ok(fd) => theirs.send_packet(GOT_FD, &[], Some(fd.as_raw_fd())),
            Err(e) => theirs.send_packet(FAILED, e.to_message().as_bytes(), None),
        };
        // SAFETY: a forked helper leaves without running the runtime's destructors.
        unsafe { libc::_exit(0) }
    };
    drop(theirs);
    let got = ours.recv_packet("the bind source");
    crate::launch::parent::reap(pid);
    let dest = m.destination().display();
    match got? {
        Some(p) if p.tag == GOT_FD => {
            p.fd.ok_or_else(|| Error::Init(format!("{field}: no mount came back for {dest}")))
        }
        Some(p) if p.tag == FAILED => Err(Error::Init(format!(
            "{field} (destination {dest}): {}",
            String::from_utf8_lossy(&p.body)
        ))),
        _ => Err(Error::Init(format!(
            "{field}: the helper opening the bind source for {dest} died"
        ))),
    }
}

fn helper(init_pid: i32, m: &Mount, o: &MountOptions) -> Result<OwnedFd> {
    // The mapping's user namespace is made before joining init's mount
    // namespace; a mount without mappings of its own uses init's.
    let userns = if !o.idmap {
        None
    } else if let Some((u, g)) = idmap::mappings(m) {
        Some(idmap::userns_with(u, g)?)
    } else {
        Some(open_ns(init_pid, "user")?)
    };
    let mnt = open_ns(init_pid, "mnt")?;
    nix::sched::setns(mnt, CloneFlags::CLONE_NEWNS)
        .map_err(|e| Error::sys("join the container's mount namespace", e))?;
    let source = m.source().as_deref().unwrap_or(Path::new(""));
    let mut flags = libc::OPEN_TREE_CLONE;
    if o.recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    let tree = super::mounts::open_tree(None, source, flags)
        .map_err(|e| Error::sys(format!("bind mount source {}", source.display()), e))?;
    if let Some(ns) = userns {
        idmap::apply(tree.as_fd(), ns.as_fd(), o.idmap_recursive).map_err(|e| {
            let why = if e == Errno::EINVAL {
                // The usual cause: a file system without id-mapped mount support here.
                format!(" ({})", idmap::unsupported_hint(tree.as_fd()))
            } else {
                String::new()
            };
            Error::sys(format!("id-map the mount of {}{why}", source.display()), e)
        })?;
    }
    Ok(tree)
}

fn open_ns(pid: i32, ns: &str) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/ns/{ns}");
    open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {path}"), e))
}
