//! `exec`: a new process inside a running container, launched by the
//! shared launcher (`launch`): the child joins every namespace of init through
//! init's pidfd after the runtime placed it in the container's cgroup, forks
//! once more so it is really inside the pid namespace, then takes the
//! process's user, capabilities and seccomp exactly as init does. Every
//! failure from the fork on is an [`Error::NotStarted`]: the process never ran.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use crate::caps::CapPlan;
use crate::launch::messages::ToChild;
use crate::launch::{self, ExecJob, Job, Kind};
use crate::seccomp::SeccompPlan;
use crate::state::{self, Root, Saved, Status};
use crate::sync;
use crate::{console, fault, sys, Error, Result};

#[derive(Clone, Debug, Default)]
pub struct ExecOptions {
    pub id: String,
    pub process: Process,
    pub console_socket: Option<PathBuf>,
    /// `--pidfd-socket`: receives a pidfd of the process once it runs its program.
    pub pidfd_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// `--user` naming a user or group (`name[:group]`, `uid:group`): looked up in the
    /// container's /etc/passwd and /etc/group, and overriding process.user's uid and gid.
    pub user: Option<String>,
    /// `--cgroup`: existing sub-cgroups of the container's (`path` or
    /// `controller[,controller]:path`, repeatable); empty is the container's own.
    pub cgroup: Vec<String>,
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
        status @ Status::Stopped => return Err(wrong_state(&opts.id, status)),
        status @ Status::Paused if !opts.ignore_paused => {
            return Err(wrong_state(&opts.id, status))
        }
        Status::Created => crate::rootless::check_exec_before_start(&opts.id)?,
        _ => crate::rootless::wait_until_enterable(saved.pid),
    }
    // As runc: a process without rlimits of its own gets the container's.
    let with_limits;
    let p = match saved
        .config
        .process()
        .as_ref()
        .and_then(|c| c.rlimits().as_ref())
    {
        Some(limits) if opts.process.rlimits().as_ref().is_none_or(|l| l.is_empty()) => {
            let mut q = opts.process.clone();
            q.set_rlimits(Some(limits.clone()));
            with_limits = q;
            &with_limits
        }
        _ => &opts.process,
    };
    crate::config::validate_process(p)?;
    crate::lsm::check_process(p)?;
    let terminal = p.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() && opts.detach {
        return Err(Error::conflict(
            "process.terminal",
            "--detach",
            "cannot allocate tty if berth will detach without setting console socket",
        ));
    }
    if !terminal && opts.console_socket.is_some() {
        return Err(Error::conflict(
            "--console-socket",
            "process.terminal",
            "cannot use console socket if berth will not detach or allocate tty",
        ));
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
    let attrs = crate::attrs::Plan::new(&saved.config, p)?;
    let pidfd = saved
        .pidfd()
        .ok_or_else(|| wrong_state(&opts.id, Status::Stopped))?;
    let flags = namespace_flags(&saved);
    let joined_user = flags.contains(CloneFlags::CLONE_NEWUSER);
    // In a user namespace whose setgroups is "deny", setgroups(2) fails: keep the groups.
    let skip_setgroups = joined_user
        && std::fs::read_to_string(format!("/proc/{}/setgroups", saved.pid))
            .is_ok_and(|s| s.trim() == "deny");
    let child = Child {
        process: p,
        caps: &caps,
        seccomp: seccomp.as_ref(),
        attrs: &attrs,
    };
    // A container in its caller's mount namespace has no root of its own to
    // join: the process chroots into init's, which it reaches through this fd.
    let init_root = if flags.contains(CloneFlags::CLONE_NEWNS) {
        None
    } else {
        let path = format!("/proc/{}/root", saved.pid);
        Some(
            nix::fcntl::open(
                path.as_str(),
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_DIRECTORY
                    | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|e| Error::sys(format!("open {path}"), e))?,
        )
    };
    let job = ExecJob {
        user: opts.user.as_deref(),
        pidfd: &pidfd,
        init_root: init_root.as_ref(),
        flags,
        joined_user,
        skip_setgroups,
    };
    let (pid, console) = start(&saved, job, &child, opts).map_err(|e| match e {
        Error::Init(why) | Error::NotStarted(why) => Error::NotStarted(why),
        other => Error::NotStarted(other.to_string()),
    })?;
    if let Some(f) = &opts.pid_file {
        // A process the caller cannot find by its pid file is not left running (as runc).
        if let Err(e) = crate::create::write_pid_file(f, pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            launch::parent::reap(pid);
            return Err(e);
        }
    }
    Ok(Execed { pid, console })
}

/// Forks the child, places it, walks the conversation and waits for the
/// program's execve; returns the exec'd pid.
fn start(
    saved: &Saved,
    job: ExecJob,
    c: &Child,
    opts: &ExecOptions,
) -> Result<(i32, Option<OwnedFd>)> {
    let (parent_end, child_end) = sync::pair()?;
    let forked = sys::fork_with(0).map_err(|e| Error::sys("fork the exec process", e))?;
    let first = match forked {
        None => {
            drop(parent_end);
            launch::child::run(
                Job {
                    process: c.process,
                    caps: c.caps,
                    seccomp: c.seccomp,
                    attrs: c.attrs,
                    preserve_fds: opts.preserve_fds,
                    chan: child_end,
                    kind: Kind::Exec(job),
                },
                255,
            )
        }
        Some(pid) => pid,
    };
    drop(child_end);
    let kill_and_reap = |pid: i32| {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        launch::parent::reap(pid);
    };
    if let Err(e) = crate::affinity::set_initial(first, c.process) {
        kill_and_reap(first);
        return Err(e);
    }
    let placed = if opts.cgroup.is_empty() {
        saved.cgroup.add_process(first)
    } else {
        saved.cgroup.add_process_to(first, &opts.cgroup)
    };
    fault::point("exec-forked");
    if let Err(e) = placed
        .map_err(Error::from)
        .and_then(|()| parent_end.tell_child(&ToChild::InCgroup))
    {
        kill_and_reap(first);
        return Err(e);
    }
    let mut talk = ExecTalk {
        saved,
        opts,
        seccomp: c.seccomp,
        console: None,
    };
    let pid = match launch::parent::converse(&parent_end, first, &mut talk) {
        Ok(pid) => pid,
        Err(e) => {
            // The intermediate exits on its own; the grandchild, if any, is ours to stop.
            kill_and_reap(first);
            return Err(e);
        }
    };
    log::debug!(
        "exec process: joined the container, executing {:?} (runc: setns_init: about to exec)",
        c.process
            .args()
            .as_deref()
            .and_then(|a| a.first())
            .map_or("", String::as_str)
    );
    let sent = launch::parent::wait_for_execve(&parent_end, c.process).and_then(|()| {
        match &opts.pidfd_socket {
            Some(sock) => crate::fd_socket::send_pidfd(sock, pid),
            None => Ok(()),
        }
    });
    if let Err(e) = sent {
        kill_and_reap(pid);
        return Err(e);
    }
    Ok((pid, talk.console))
}

/// The runtime's side of an exec's launch (see `launch`'s header).
struct ExecTalk<'a> {
    saved: &'a Saved,
    opts: &'a ExecOptions,
    seccomp: Option<&'a SeccompPlan>,
    console: Option<OwnedFd>,
}

impl launch::parent::Conversation for ExecTalk<'_> {
    fn who(&self) -> &'static str {
        "the exec process"
    }

    fn pid_known(&mut self, _pid: i32) -> Result<ToChild> {
        fault::point("exec-pid-recorded");
        Ok(ToChild::PidRecorded)
    }

    fn console(&mut self, master: OwnedFd) -> Result<()> {
        match &self.opts.console_socket {
            Some(sock) => console::send_to_socket(sock, master.as_raw_fd()),
            None => {
                self.console = Some(master);
                Ok(())
            }
        }
    }

    fn seccomp_listener(&mut self, pid: i32, listener: OwnedFd) -> Result<()> {
        let state = serde_json::to_value(self.saved.oci_state(Status::Running)).unwrap_or_default();
        crate::notify::deliver(self.seccomp, pid, &state, listener)
    }
}

struct Child<'a> {
    process: &'a Process,
    caps: &'a CapPlan,
    seccomp: Option<&'a SeccompPlan>,
    attrs: &'a crate::attrs::Plan,
}

/// `name[:group]` or `uid:group` resolved in the container's /etc/passwd and /etc/group
/// (call inside the container's mount namespace). A user given by name takes its
/// passwd gid unless a group is named; a numeric uid keeps the process's gid.
pub(crate) fn resolve_user(p: &Process, spec: &str) -> Result<Process> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let (uid, gid) = crate::passwd::lookup_user(&passwd, &group, spec, p.user().gid())?;
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

fn wrong_state(id: &str, status: Status) -> Error {
    Error::WrongState {
        id: id.to_string(),
        op: crate::error::Operation::Exec,
        status,
    }
}
