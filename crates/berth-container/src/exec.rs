//! `exec`: a new process inside a running container. It joins every namespace
//! of init at once through init's pidfd, is placed in the container's cgroup
//! before it runs anything of the container, forks once more so it is really
//! inside the pid namespace, then takes the process's user, capabilities and
//! seccomp exactly as init did.
//!
//! The conversation on the sync channel:
//! ```text
//! parent                         first child                 exec process (grandchild)
//!   fork ───────────────────────▶ non-dumpable, close fds
//!   place in cgroup
//!   Continue ──────────────────▶ setns(pidfd, all)
//!                                fork(CLONE_PARENT) ───────▶ (waits)
//!   ◀──────────────────── Pid(n) _exit(0)
//!   reap first child, Continue ─────────────────────────────▶ setsid, pty, user, caps
//!   ◀─────────────────────────────────────────── [Console(fd)] Ready
//!   ◀──────────────────────────────── EOF (execve closed the channel) or Failed(msg)
//! ```
//! Every failure from the first fork on is an [`Error::Init`]: the process
//! could not be started (runc exits 255 for those); earlier ones are bad input.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::caps::CapPlan;
use crate::exec_stage::ExecStage;
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
    /// `--user` naming a user or group (`name[:group]`, `uid:group`): looked up in the
    /// container's /etc/passwd and /etc/group, and overriding process.user's uid and gid.
    pub user: Option<String>,
    /// `--cgroup`: a sub-cgroup of the container's (`path` or `controller[,controller]:path`).
    pub cgroup: Option<String>,
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
        Status::Stopped => return Err(Error::State("cannot exec in a stopped container".into())),
        Status::Paused if !opts.ignore_paused => {
            return Err(Error::State(
                "cannot exec in a paused container (use --ignore-paused to force)".into(),
            ))
        }
        _ => {}
    }
    let p = &opts.process;
    crate::config::validate_process(p)?;
    crate::lsm::check_process(p)?;
    let terminal = p.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() && opts.detach {
        return invalid!("cannot allocate tty if berth will detach without setting console socket");
    }
    if !terminal && opts.console_socket.is_some() {
        return invalid!("cannot use console socket if berth will not detach or allocate tty");
    }
    let caps = CapPlan::new(p.capabilities().as_ref())?;
    let seccomp = match saved
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
    {
        Some(s) => Some(SeccompPlan::new(s)?),
        None => None,
    };
    let pidfd = saved
        .pidfd()
        .ok_or_else(|| Error::State("cannot exec in a stopped container".into()))?;
    let flags = namespace_flags(&saved);
    let joined_user = flags.contains(CloneFlags::CLONE_NEWUSER);
    // In a user namespace whose setgroups is "deny", setgroups(2) fails: keep the groups.
    let skip_setgroups = joined_user
        && std::fs::read_to_string(format!("/proc/{}/setgroups", saved.pid))
            .is_ok_and(|s| s.trim() == "deny");
    let child = Child {
        process: p,
        user: opts.user.as_deref(),
        caps: &caps,
        seccomp: seccomp.as_ref(),
        pidfd: &pidfd,
        flags,
        joined_user,
        skip_setgroups,
        preserve_fds: opts.preserve_fds,
    };
    let (pid, console) = start(&saved, &child, opts).map_err(|e| match e {
        Error::Init(_) => e,
        other => Error::Init(other.to_string()),
    })?;
    if let Some(f) = &opts.pid_file {
        crate::create::write_pid_file(f, pid)?;
    }
    Ok(Execed { pid, console })
}

/// Forks the first child, places it, and walks the conversation; returns the exec'd pid.
fn start(saved: &Saved, c: &Child, opts: &ExecOptions) -> Result<(i32, Option<OwnedFd>)> {
    let (parent_end, child_end) = sync::pair()?;
    let first = match fork_with(0).map_err(fork_error)? {
        None => {
            drop(parent_end);
            let err = child(c, &child_end).unwrap_or_else(|e| e);
            let _ = child_end.send(Tag::Failed, &err.to_string());
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(255) }
        }
        Some(pid) => Pid::from_raw(pid),
    };
    drop(child_end);
    let reap =
        |pid: Pid| while let Err(nix::errno::Errno::EINTR) = nix::sys::wait::waitpid(pid, None) {};
    let placed = match &opts.cgroup {
        Some(sub) => saved.cgroup.add_process_to(first.as_raw(), sub),
        None => saved.cgroup.add_process(first.as_raw()),
    };
    if let Err(e) = placed {
        let _ = nix::sys::signal::kill(first, Signal::SIGKILL);
        reap(first);
        return Err(e.into());
    }
    let got_pid = parent_end
        .send(Tag::Continue, "")
        .and_then(|()| parent_end.expect(Tag::Pid, "the exec process"));
    // The first child is done either way (it exits right after sending the pid).
    reap(first);
    let pid: i32 = match got_pid?.payload.parse() {
        Ok(p) => p,
        Err(_) => return Err(Error::Init("the first exec child sent a bad pid".into())),
    };
    let mut console = None;
    let steps = (|| {
        parent_end.send(Tag::Continue, "")?;
        if c.process.terminal().unwrap_or(false) {
            let m = parent_end.expect(Tag::Console, "the exec process's terminal")?;
            let master =
                m.fd.ok_or_else(|| Error::Init("terminal message carried no fd".into()))?;
            match &opts.console_socket {
                Some(sock) => console::send_to_socket(sock, master.as_raw_fd())?,
                None => console = Some(master),
            }
        }
        let state = serde_json::to_value(saved.oci_state(Status::Running)).unwrap_or_default();
        crate::notify::expect_ready(&parent_end, c.seccomp, pid, &state, "the exec process")?;
        wait_for_execve(&parent_end, c.process)
    })();
    if let Err(e) = steps {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        reap(Pid::from_raw(pid));
        return Err(e);
    }
    Ok((pid, console))
}

/// What `Channel::recv` is told it is awaiting after Ready; an end of stream then
/// means execve closed the (close-on-exec) channel: the program runs.
const AWAITING_EXECVE: &str = "execve of the exec process";

/// Success is the end of the stream (the exec stage's execve closed the
/// channel); a failed execve of the program is the stage's errno.
fn wait_for_execve(chan: &Channel, p: &Process) -> Result<()> {
    match chan.recv(AWAITING_EXECVE) {
        Ok(m) if m.tag == Tag::ExecFailed => {
            let errno = nix::errno::Errno::from_raw(m.payload.parse().unwrap_or(0));
            let prog = p.args().as_ref().and_then(|a| a.first()).cloned();
            Err(Error::sys(
                format!("exec {}", prog.unwrap_or_default()),
                errno,
            ))
        }
        Ok(m) => Err(Error::Init(format!(
            "unexpected {:?} from the exec process",
            m.tag
        ))),
        Err(Error::Init(m)) if m == format!("container init exited before {AWAITING_EXECVE}") => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn fork_error(e: Error) -> Error {
    match e {
        Error::Sys { source, .. } => Error::sys("fork the exec process", source),
        other => other,
    }
}

struct Child<'a> {
    process: &'a Process,
    user: Option<&'a str>,
    caps: &'a CapPlan,
    seccomp: Option<&'a SeccompPlan>,
    pidfd: &'a OwnedFd,
    flags: CloneFlags,
    joined_user: bool,
    skip_setgroups: bool,
    preserve_fds: u32,
}

fn child(a: &Child, chan: &Channel) -> Result<Error> {
    nix::sys::prctl::set_dumpable(false).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
    // The log file's fd is about to be closed: nothing may write to its number.
    log::set_max_level(log::LevelFilter::Off);
    // Every fd the caller leaked is really closed before anything of the
    // container is resolved; only the channel and init's pidfd stay.
    let first = 3 + a.preserve_fds as i32;
    process::close_fds_from(first, &[chan.as_raw_fd(), a.pidfd.as_raw_fd()])?;
    // The parent puts us in the cgroup before we touch the container.
    chan.expect(Tag::Continue, "cgroup placement")?;
    nix::sched::setns(a.pidfd.as_fd(), a.flags)
        .map_err(|e| Error::sys(format!("join the container's namespaces {:?}", a.flags), e))?;
    // Done with init's pidfd: nothing in the container gets to see it.
    process::close_fds_from(first, &[chan.as_raw_fd()])?;
    if a.joined_user {
        let (u, g) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
        nix::unistd::setresgid(g, g, g).map_err(|e| Error::sys("setgid 0 in user namespace", e))?;
        nix::unistd::setresuid(u, u, u).map_err(|e| Error::sys("setuid 0 in user namespace", e))?;
    }
    // setns into a pid namespace only affects children: fork once more. CLONE_PARENT
    // makes the exec process the caller's child, so `berth exec` can wait for it.
    if let Some(pid) = fork_with(libc::CLONE_PARENT as libc::c_long).map_err(fork_error)? {
        chan.send(Tag::Pid, &pid.to_string())?;
        // SAFETY: the intermediate process is done.
        unsafe { libc::_exit(0) }
    }
    // Our pid reaches the parent before anything else we say.
    chan.expect(Tag::Continue, "the exec process's pid to be read")?;
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    let with_user;
    let p = match a.user {
        Some(spec) => {
            with_user = resolve_user(a.process, spec)?;
            &with_user
        }
        None => a.process,
    };
    if p.terminal().unwrap_or(false) {
        let size = p
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        let pty = console::open_pty(size)?;
        console::attach_stdio(&pty.slave)?;
        chan.send_with_fd(Tag::Console, "", Some(pty.master.as_raw_fd()))?;
    }
    let stage = ExecStage::new()?;
    let program = process::Program::resolve(p)?;
    // Still root and before seccomp, as for init.
    crate::lsm::apply_exec_labels(p)?;
    let listener = process::become_user(p, a.caps, a.seccomp, a.skip_setgroups)?;
    let late_seccomp = crate::notify::send_listener(p, a.seccomp, listener, chan)?;
    chan.send(Tag::Ready, "")?;
    Ok(process::finish(
        p,
        late_seccomp,
        &program,
        &stage,
        chan.as_raw_fd(),
    ))
}

/// `name[:group]` or `uid:group` resolved in the container's /etc/passwd and /etc/group
/// (call inside the container's mount namespace). A user given by name takes its
/// passwd gid unless a group is named; a numeric uid keeps the process's gid.
fn resolve_user(p: &Process, spec: &str) -> Result<Process> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, None),
        Err(_) => {
            let entry = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 4 && f[0] == user)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "unable to find user {user}: no matching entries in passwd file"
                    ))
                })?;
            let uid = entry[2]
                .parse()
                .map_err(|_| Error::Invalid(format!("/etc/passwd: bad uid for {user}")))?;
            (
                uid,
                Some(
                    entry[3]
                        .parse()
                        .map_err(|_| Error::Invalid(format!("/etc/passwd: bad gid for {user}")))?,
                ),
            )
        }
    };
    let gid = match group {
        None => primary.unwrap_or(p.user().gid()),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
                groups
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .find(|f| f.len() >= 3 && f[0] == g)
                    .and_then(|f| f[2].parse().ok())
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "unable to find group {g}: no matching entries in group file"
                        ))
                    })?
            }
        },
    };
    let mut out = p.clone();
    out.user_mut().set_uid(uid);
    out.user_mut().set_gid(gid);
    Ok(out)
}

/// Every namespace the container has (new or joined), as setns flags.
fn namespace_flags(saved: &Saved) -> CloneFlags {
    let mut flags = CloneFlags::empty();
    for ns in saved
        .config
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_deref())
        .unwrap_or(&[])
    {
        flags |= crate::namespaces::clone_flag(ns.typ());
        if ns.typ() == LinuxNamespaceType::Time {
            flags |= CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);
        }
    }
    flags
}
