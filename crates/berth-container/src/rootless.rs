//! Creating a container as an unprivileged user ("rootless", as podman and Docker
//! run it): what such a caller cannot get is refused before anything is made. The
//! cgroup side is berth-cgroups' `Manager::unprivileged`; the maps are `id_maps`.

use oci_spec::runtime::{LinuxNamespaceType, Spec};

#[cfg(feature = "net")]
use crate::invalid;
use crate::namespaces::Plan;
use crate::network::Config;
use crate::{Error, Result};

/// True when berth runs without root: every create takes the rootless path. Kept from
/// the first call, so a forked init, root in its own user namespace, still answers
/// for the runtime that made it (create asks before it forks).
pub(crate) fn active() -> bool {
    static ACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| !nix::unistd::geteuid().is_root())
}

/// True inside a user namespace other than the host's (its uid_map is not the
/// identity over every id). Inside a container's init, where euid is 0 either way.
pub fn in_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
        .unwrap_or(false)
}

/// Refuses a config an unprivileged caller cannot run, with the reason.
pub(crate) fn check(spec: &Spec, ns: &Plan, net: Option<&Config>) -> Result<()> {
    let uid = nix::unistd::geteuid();
    // Every other namespace (and mount, hostname, ...) needs CAP_SYS_ADMIN, which an
    // ordinary user has only in a user namespace of its own.
    if !ns.creates(LinuxNamespaceType::User) && !ns.joins(LinuxNamespaceType::User) {
        return Err(Error::missing(
            "a user namespace in linux.namespaces",
            format!("running without root (uid {uid}); `berth spec --rootless` writes one"),
        ));
    }
    let linux = spec.linux().as_ref();
    let has = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| m.is_some_and(|m| !m.is_empty());
    let uids = has(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gids = has(linux.and_then(|l| l.gid_mappings().as_ref()));
    if ns.creates(LinuxNamespaceType::User) && !(uids && gids) {
        return Err(Error::missing(
            if uids {
                "linux.gidMappings"
            } else {
                "linux.uidMappings"
            },
            format!("running without root (uid {uid}) needs both uidMappings and gidMappings, to map the container's ids to yours"),
        ));
    }
    check_network(net)
}

/// Refuses `exec` into a created, not yet started container without root: until it
/// execs, init is not dumpable and its memory still belongs to the host's user namespace
/// (it is the runtime's own image), so the kernel lets no unprivileged process open or
/// enter its namespaces (ptrace access). runc's init is dumpable instead, running from a
/// copy of its binary; berth keeps init closed (ARCHITECTURE.md, the exec stage).
pub(crate) fn check_exec_before_start(id: &str) -> Result<()> {
    if active() {
        return Err(Error::unsupported(
            format!("exec {id}"),
            format!("the container is created but not started, and without root its namespaces cannot be entered until it starts (berth start {id} first)"),
        ));
    }
    Ok(())
}

/// Waits (briefly) until a just started container can be entered without root: between
/// `start` and its program's execve, init is still not dumpable (see above). Polls the
/// same access check setns makes, by opening init's user namespace; after a second the
/// exec goes ahead and reports whatever the kernel says.
pub(crate) fn wait_until_enterable(pid: i32) {
    if !active() {
        return;
    }
    let path = format!("/proc/{pid}/ns/user");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while std::time::Instant::now() < deadline {
        match std::fs::File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            _ => return,
        }
    }
}

#[cfg(feature = "net")]
fn check_network(net: Option<&Config>) -> Result<()> {
    match net.map(|c| &c.mode) {
        Some(mode @ (berth_net::Mode::Bridge | berth_net::Mode::Container(_))) => invalid!(
            "berth.network.mode",
            mode,
            "needs root (bridges, veth pairs and NAT rules are made in the host's network namespace); without root use mode none or host"
        ),
        _ => Ok(()),
    }
}

#[cfg(not(feature = "net"))]
fn check_network(net: Option<&Config>) -> Result<()> {
    match net {
        None => Ok(()),
        Some(c) => match *c {},
    }
}
