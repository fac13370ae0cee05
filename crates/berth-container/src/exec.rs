//! `exec`: a new process inside a running container. It joins every namespace
//! of init at once through init's pidfd, is placed in the container's cgroup
//! before it runs anything of the container, forks once more so it is really
//! inside the pid namespace, then takes the process's user, capabilities and
//! seccomp exactly as init did.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::caps::CapPlan;
use crate::init::fork_with;
use crate::seccomp::SeccompPlan;
use crate::state::{self, Root, Saved, Status};
use crate::sync::{self, Channel, Tag};
use crate::{console, invalid, process, Error, Result};

#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
}

pub struct Execed {
    pub pid: i32,
    /// The pty master, when a terminal was asked for without a console socket.
    pub console: Option<OwnedFd>,
}

/// The container's process defaults, for building an exec process from flags.
pub fn container_process(root: &Root, id: &str) -> Result<Process> {
    let saved = state::peek(root, id)?;
    Ok(saved.config.process().clone().unwrap_or_default())
}

pub fn exec(root: &Root, opts: &ExecOptions) -> Result<Execed> {
    let saved = state::peek(root, &opts.id)?;
    match saved.status(root) {
        Status::Stopped => return invalid!("cannot exec in a stopped container"),
        Status::Paused if !opts.ignore_paused => return invalid!("cannot exec in a paused container (use --ignore-paused to force)"),
        _ => {}
    }
    let p = &opts.process;
    crate::config::validate_process(p)?;
    let terminal = p.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() && opts.detach {
        return invalid!("cannot allocate tty if berth will detach without setting console socket");
    }
    let caps = CapPlan::new(p.capabilities().as_ref())?;
    let seccomp = match saved.config.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(SeccompPlan::new(s)?),
        None => None,
    };
    let pidfd = saved.pidfd().ok_or_else(|| Error::Invalid("cannot exec in a stopped container".into()))?;
    let flags = namespace_flags(&saved);
    let joined_user = flags.contains(CloneFlags::CLONE_NEWUSER);
    let (parent_end, child_end) = sync::pair()?;
    let first = match fork_with(0)? {
        None => {
            drop(parent_end);
            let args = Child { process: p, caps: &caps, seccomp: seccomp.as_ref(), pidfd: &pidfd, flags, joined_user, chan: &child_end, preserve_fds: opts.preserve_fds };
            let err = child(&args).unwrap_or_else(|e| e);
            let _ = child_end.send(Tag::Failed, &err.to_string());
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(255) }
        }
        Some(pid) => pid,
    };
    drop(child_end);
    let reap_first = || {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(first), None);
    };
    if let Err(e) = saved.cgroup.add_process(first) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(first), nix::sys::signal::Signal::SIGKILL);
        reap_first();
        return Err(e.into());
    }
    let result = parent(&parent_end, terminal, opts);
    reap_first();
    let (pid, console) = result?;
    if let Some(f) = &opts.pid_file {
        crate::create::write_pid_file(f, pid)?;
    }
    Ok(Execed { pid, console })
}

fn parent(chan: &Channel, terminal: bool, opts: &ExecOptions) -> Result<(i32, Option<OwnedFd>)> {
    chan.send(Tag::Continue, "")?;
    let msg = chan.expect(Tag::Pid, "exec process")?;
    let pid: i32 = msg.payload.parse().map_err(|_| Error::Init(format!("bad pid {:?}", msg.payload)))?;
    let kill = || {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    };
    let mut console = None;
    let steps = (|| {
        if terminal {
            let m = chan.expect(Tag::Console, "the exec process's terminal")?;
            let master = m.fd.ok_or_else(|| Error::Init("terminal message carried no fd".into()))?;
            match &opts.console_socket {
                Some(sock) => console::send_to_socket(sock, master.as_raw_fd())?,
                None => console = Some(master),
            }
        }
        chan.expect(Tag::Ready, "exec process")?;
        Ok(())
    })();
    if let Err(e) = steps {
        kill();
        return Err(e);
    }
    Ok((pid, console))
}

struct Child<'a> {
    process: &'a Process,
    caps: &'a CapPlan,
    seccomp: Option<&'a SeccompPlan>,
    pidfd: &'a OwnedFd,
    flags: CloneFlags,
    joined_user: bool,
    chan: &'a Channel,
    preserve_fds: u32,
}

fn child(a: &Child) -> Result<Error> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
    // SAFETY: close_range only changes fd flags.
    unsafe { libc::syscall(libc::SYS_close_range, 3 + a.preserve_fds, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    // The parent puts us in the cgroup before we touch the container.
    a.chan.expect(Tag::Continue, "cgroup placement")?;
    nix::sched::setns(a.pidfd.as_fd(), a.flags).map_err(|e| Error::sys(format!("join the container's namespaces {:?}", a.flags), e))?;
    if a.joined_user {
        let (u, g) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
        nix::unistd::setresgid(g, g, g).map_err(|e| Error::sys("setgid 0 in user namespace", e))?;
        nix::unistd::setresuid(u, u, u).map_err(|e| Error::sys("setuid 0 in user namespace", e))?;
    }
    // setns into a pid namespace only affects children: fork once more.
    if let Some(pid) = fork_with(libc::CLONE_PARENT as libc::c_long)? {
        a.chan.send(Tag::Pid, &pid.to_string())?;
        // SAFETY: the intermediate process is done.
        unsafe { libc::_exit(0) }
    }
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    if a.process.terminal().unwrap_or(false) {
        let size = a.process.console_size().as_ref().map(|b| (b.height() as u16, b.width() as u16));
        let pty = console::open_pty(size)?;
        console::attach_stdio(&pty.slave)?;
        a.chan.send_with_fd(Tag::Console, "", Some(pty.master.as_raw_fd()))?;
    }
    let program = process::Program::resolve(a.process)?;
    process::become_user(a.process, a.caps, a.seccomp, a.joined_user)?;
    a.chan.send(Tag::Ready, "")?;
    Ok(process::finish(a.process, a.seccomp, &program))
}

/// Every namespace the container has (new or joined), as setns flags.
fn namespace_flags(saved: &Saved) -> CloneFlags {
    let mut flags = CloneFlags::empty();
    for ns in saved.config.linux().as_ref().and_then(|l| l.namespaces().as_deref()).unwrap_or(&[]) {
        flags |= crate::namespaces::clone_flag(ns.typ());
        if ns.typ() == LinuxNamespaceType::Time {
            flags |= CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        }
    }
    flags
}
