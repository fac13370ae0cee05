//! start, kill, delete and the status queries on an existing container.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::LinuxNamespaceType;

use crate::error::Operation;
use crate::state::{self, Lock, Root, Saved, Status, EXEC_FIFO};
use crate::{config, hooks, invalid, Error, Result};

/// Releases a created container's init: it runs startContainer hooks and execs.
pub fn start(root: &Root, id: &str) -> Result<Saved> {
    let lock = Lock::existing(root, id)?;
    let saved = lock.load(id)?;
    match saved.status(root) {
        Status::Created => {}
        status => return Err(wrong(id, Operation::Start, status)),
    }
    let fifo_path = lock.path.join(EXEC_FIFO);
    // O_NONBLOCK: opening for write fails with ENXIO, instead of hanging, if init is gone.
    let mut fifo = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| Error::io("open exec fifo", &fifo_path, e))?;
    let poststart = config::hooks(&saved.config, "poststart");
    // poststart hooks run after the user's program has started. Init's end of the
    // fifo is CLOEXEC, so a reader opened now (while init still holds a writer) sees
    // POLLHUP once init has exec'd or died. Only paid when there are such hooks.
    let exec_watch = if poststart.is_empty() {
        None
    } else {
        Some(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&fifo_path)
                .map_err(|e| Error::io("open exec fifo", &fifo_path, e))?,
        )
    };
    log::debug!(
        "start {id}: releasing init (pid {}) through the exec fifo",
        saved.pid
    );
    fifo.write_all(&[0])
        .map_err(|e| Error::io("write exec fifo", &fifo_path, e))?;
    drop(fifo);
    std::fs::remove_file(&fifo_path).map_err(|e| Error::io("remove", &fifo_path, e))?;
    if let Some(watch) = &exec_watch {
        // events 0: never consume init's byte, only wait for the last writer to go.
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::empty())];
        while let Err(nix::errno::Errno::EINTR) = poll(&mut fds, PollTimeout::NONE) {}
    }
    let state_json = oci_json(&saved, Status::Running);
    for (i, hook) in poststart.iter().enumerate() {
        // As runc: a failing poststart hook stops the container and is start's error.
        if let Err(e) = hooks::run("poststart", i, hook, &state_json, None) {
            if let Some(fd) = saved.pidfd() {
                let _ = signal_pidfd(&fd, libc::SIGKILL);
            }
            return Err(e);
        }
    }
    Ok(saved)
}

pub fn oci_json(saved: &Saved, status: Status) -> String {
    serde_json::to_string(&saved.oci_state(status)).unwrap_or_default()
}

/// Parses a signal as runc accepts it: "KILL", "SIGKILL", "9", any case.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        // 0 sends nothing: the check that the container runs.
        if (0..=64).contains(&n) {
            return Ok(n);
        }
        return invalid!("signal", s, "invalid signal number");
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .map(|sig| sig as i32)
        .map_err(|_| Error::invalid("signal", s, "unknown signal"))
}

fn signal_pidfd(fd: &OwnedFd, sig: i32) -> Result<()> {
    if let Err(e) = crate::sys::pidfd_send_signal(fd.as_fd(), sig) {
        return Err(Error::sys(format!("send signal {sig}"), e));
    }
    Ok(())
}

/// Sends `sig` (0 only checks that the container runs) to init, or with
/// `all` to every process in the cgroup. As runc: SIGKILL to a container
/// that shares its pid namespace reaches every process in the cgroup, since
/// they do not die with init (they are still killed after init is gone);
/// `all` on a container with nothing left to signal is not an error.
pub fn kill(root: &Root, id: &str, sig: i32, all: bool) -> Result<()> {
    let saved = state::peek(root, id)?;
    let status = saved.status(root);
    if all && !saved.cgroup.has_cgroup() {
        // No cgroup (rootless, nothing delegated): the processes of init's pid namespace,
        // which are gone with init.
        return match status {
            Status::Stopped => Ok(()),
            _ => crate::no_cgroup::kill_all(&saved, sig),
        };
    }
    if saved.cgroup.has_cgroup()
        && (all || (sig == libc::SIGKILL && !has_own_pid_ns(&saved.config)))
    {
        let empty = saved.cgroup.pids().map_or(true, |p| p.is_empty());
        log::debug!("kill {id}: signal {sig} to every process in the cgroup (empty: {empty})");
        return match (status == Status::Stopped && empty, all) {
            (true, true) => Ok(()),
            (true, false) => Err(wrong(id, Operation::Kill, status)),
            (false, _) => Ok(saved.cgroup.kill_all(sig)?),
        };
    }
    let fd = match (status, saved.pidfd()) {
        (Status::Stopped, _) | (_, None) => {
            return Err(wrong(id, Operation::Kill, Status::Stopped))
        }
        (_, Some(fd)) => fd,
    };
    signal_pidfd(&fd, sig)
}

/// True when the container made its own pid namespace (not shared, not joined by path).
fn has_own_pid_ns(spec: &oci_spec::runtime::Spec) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|nss| {
            nss.iter()
                .any(|ns| ns.typ() == LinuxNamespaceType::Pid && ns.path().is_none())
        })
}

/// Waits up to `limit` for the process behind `fd` to exit.
fn wait_exit(fd: &OwnedFd, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        let ms =
            PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(n) if n > 0 => return true,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    let lock = match Lock::existing(root, id) {
        Err(Error::NotFound(_)) if force => return Ok(()),
        r => r?,
    };
    let saved = match lock.load(id) {
        Ok(s) => s,
        // A directory without state is a create that never finished (killed,
        // or failed without its own undo): undo what its intent names.
        Err(Error::NotFound(_)) => return undo_unfinished_create(root, id, lock),
        Err(e) => return Err(e),
    };
    let status = saved.status(root);
    log::debug!(
        "delete {id}: status {status}{}",
        if force { ", forced" } else { "" }
    );
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(wrong(id, Operation::Delete, status));
    }
    if status != Status::Stopped {
        if status == Status::Paused {
            let _ = saved.cgroup.thaw();
        }
        if let Some(fd) = saved.pidfd() {
            signal_pidfd(&fd, libc::SIGKILL)?;
            if !wait_exit(&fd, Duration::from_secs(10)) {
                return Err(Error::KillTimeout { id: id.to_string() });
            }
        }
    }
    // Processes that outlived init (exec'd into a shared pid namespace) go too;
    // an empty cgroup (the common case) needs no freeze-and-signal round.
    if saved.cgroup.pids().map_or(true, |p| !p.is_empty()) {
        let _ = saved.cgroup.kill_all(libc::SIGKILL);
    }
    saved.cgroup.destroy()?;
    if saved.network {
        crate::network::teardown(root.path(), id)?;
    }
    let state_json = oci_json(&saved, Status::Stopped);
    for (i, hook) in config::hooks(&saved.config, "poststop").iter().enumerate() {
        if let Err(e) = hooks::run("poststop", i, hook, &state_json, None) {
            log::warn!("{e}");
        }
    }
    lock.remove()
}

/// Undoes a create that died before saving its state, from its intent
/// record. Each step tolerates what was never made.
fn undo_unfinished_create(root: &Root, id: &str, lock: Lock) -> Result<()> {
    if let Some(intent) = lock.load_intent()? {
        if let Some((pid, start_time)) = intent.pid {
            if let Ok(fd) = crate::sys::pidfd_open(pid) {
                if crate::procfs::is_same_live_process(pid, start_time) {
                    signal_pidfd(&fd, libc::SIGKILL)?;
                    wait_exit(&fd, Duration::from_secs(10));
                }
            }
        }
        if let Some(cgroup) = &intent.cgroup {
            // Anything of the container that was placed (init before it reported its pid).
            if cgroup.pids().is_ok_and(|p| !p.is_empty()) {
                let _ = cgroup.kill_all(libc::SIGKILL);
            }
            cgroup.destroy()?;
        }
        if intent.network {
            crate::network::teardown(root.path(), id)?;
        }
    }
    lock.remove()
}

/// One container as `list` shows it.
pub struct Listed {
    pub saved: Saved,
    pub status: Status,
}

pub fn list(root: &Root) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    for id in root.ids()? {
        // A container deleted meanwhile simply drops out of the list.
        if let Ok(saved) = state::peek(root, &id) {
            let status = saved.status(root);
            out.push(Listed { saved, status });
        }
    }
    Ok(out)
}

fn wrong(id: &str, op: Operation, status: Status) -> Error {
    Error::WrongState {
        id: id.to_string(),
        op,
        status,
    }
}
