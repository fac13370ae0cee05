//! A container that runs without a cgroup (rootless, with no cgroup v2 subtree
//! delegated to its user). `ps` and `kill --all` find its processes through init's pid
//! namespace instead: every process in it is the container's, and nothing can leave it.
//! Freezing, limits and usage statistics need a cgroup: those are refused with the reason.

use std::os::unix::fs::MetadataExt;

use oci_spec::runtime::LinuxNamespaceType;

use crate::state::Saved;
use crate::{Error, Result};

/// Why an operation that only a cgroup can do is refused.
pub(crate) fn refuse(what: &str, saved: &Saved) -> Error {
    Error::unsupported(
        format!("{what} {}", saved.id()),
        "the container runs without a cgroup (it was created without root and no cgroup v2 subtree was delegated to its user)",
    )
}

/// Host pids of every process in init's pid namespace; empty once init is gone (its
/// namespace died with it).
pub(crate) fn pids(saved: &Saved) -> Result<Vec<i32>> {
    let own_pid_ns = saved
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|list| {
            list.iter().any(|n| {
                n.typ() == LinuxNamespaceType::Pid
                    && n.path().as_ref().is_none_or(|p| p.as_os_str().is_empty())
            })
        });
    if !own_pid_ns {
        return Err(Error::unsupported(
            format!("listing the processes of {}", saved.id()),
            "the container runs without a cgroup and without a pid namespace of its own, so its processes cannot be told from the host's",
        ));
    }
    if !crate::procfs::is_same_live_process(saved.pid, saved.start_time) {
        return Ok(Vec::new());
    }
    let key =
        |pid: &str| std::fs::metadata(format!("/proc/{pid}/ns/pid")).map(|m| (m.dev(), m.ino()));
    let ns = key(&saved.pid.to_string())
        .map_err(|e| Error::io("read pid namespace of", format!("/proc/{}", saved.pid), e))?;
    let entries = std::fs::read_dir("/proc").map_err(|e| Error::io("read", "/proc", e))?;
    let mut out: Vec<i32> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        // Processes this user may not inspect are not the container's.
        .filter(|pid| key(&pid.to_string()).is_ok_and(|k| k == ns))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// Signals every process of the container.
pub(crate) fn kill_all(saved: &Saved, signal: i32) -> Result<()> {
    for pid in pids(saved)? {
        // SAFETY: kill(2) with plain values; a process that exited meanwhile is fine.
        if unsafe { libc::kill(pid, signal) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(Error::io("signal", format!("/proc/{pid}"), e));
            }
        }
    }
    Ok(())
}
