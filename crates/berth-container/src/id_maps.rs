//! Writing a new user namespace's uid_map and gid_map (from the parent, once the child
//! has unshared it).
//!
//! root writes any mapping itself. An unprivileged caller may write, itself, only a
//! one-line map of its own uid, and of its own gid after denying setgroups
//! (user_namespaces(7)); wider maps go through the setuid helpers newuidmap and
//! newgidmap, which allow exactly the ranges /etc/subuid and /etc/subgid grant the caller.

use std::fs;
use std::process::{Command, Stdio};

use oci_spec::runtime::{LinuxIdMapping, Spec};

use crate::{Error, Result};

struct Kind {
    file: &'static str,
    field: &'static str,
    helper: &'static str,
    own: u32,
}

pub(crate) fn write(pid: i32, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let none = Vec::new();
    let uid = linux
        .and_then(|l| l.uid_mappings().as_ref())
        .unwrap_or(&none);
    let gid = linux
        .and_then(|l| l.gid_mappings().as_ref())
        .unwrap_or(&none);
    let privileged = nix::unistd::geteuid().is_root();
    let kinds = [
        (
            Kind {
                file: "uid_map",
                field: "linux.uidMappings",
                helper: "newuidmap",
                own: nix::unistd::geteuid().as_raw(),
            },
            uid,
        ),
        (
            Kind {
                file: "gid_map",
                field: "linux.gidMappings",
                helper: "newgidmap",
                own: nix::unistd::getegid().as_raw(),
            },
            gid,
        ),
    ];
    for (kind, maps) in kinds {
        if maps.is_empty() {
            continue;
        }
        let own_only = maps.len() == 1 && maps[0].host_id() == kind.own && maps[0].size() == 1;
        if privileged || own_only {
            if !privileged && kind.file == "gid_map" {
                // The kernel takes an unprivileged gid_map only once setgroups(2) is off
                // for good in the namespace: dropping groups could otherwise grant access.
                let path = format!("/proc/{pid}/setgroups");
                fs::write(&path, "deny").map_err(|e| Error::io("write", path, e))?;
            }
            direct(pid, &kind, maps)?;
        } else {
            helper(pid, &kind, maps)?;
        }
    }
    Ok(())
}

fn text(maps: &[LinuxIdMapping], sep: &str) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}", m.container_id(), m.host_id(), m.size()))
        .collect::<Vec<_>>()
        .join(sep)
}

fn direct(pid: i32, kind: &Kind, maps: &[LinuxIdMapping]) -> Result<()> {
    let path = format!("/proc/{pid}/{}", kind.file);
    fs::write(&path, text(maps, "\n") + "\n")
        .map_err(|e| Error::invalid(kind.field, text(maps, ", "), format!("write {path}: {e}")))
}

/// Runs newuidmap/newgidmap `pid inside outside count ...`; its own complaint (a range
/// not granted in /etc/subuid, say) becomes the one-line error.
fn helper(pid: i32, kind: &Kind, maps: &[LinuxIdMapping]) -> Result<()> {
    let mut cmd = Command::new(kind.helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                " (install the uidmap package)"
            } else {
                ""
            };
            Error::invalid(
                kind.field,
                text(maps, ", "),
                format!("without root needs {}: {e}{hint}", kind.helper),
            )
        })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let file = if kind.file == "uid_map" {
        "/etc/subuid"
    } else {
        "/etc/subgid"
    };
    Err(Error::invalid(
        kind.field,
        text(maps, ", "),
        format!(
            "{} refused it (only ranges granted in {file} can be mapped without root): {said}",
            kind.helper
        ),
    ))
}
