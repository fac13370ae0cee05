//! The child routine: runs in the forked process, for init and exec alike. It
//! never returns: success is the exec stage's execve, failure is `Failed` on
//! the channel and _exit. The steps are in the order of `launch`'s header;
//! only the namespace and filesystem steps differ between the kinds.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Process, Spec};

use super::messages::{ToChild, ToParent};
use crate::caps::CapPlan;
use crate::exec_stage::ExecStage;
use crate::namespaces::Plan;
use crate::seccomp::SeccompPlan;
use crate::sync::Channel;
use crate::{console, hooks, process, rootfs, sys, Error, Result};

/// What every launched process needs; it shares the parent's memory after the fork.
pub(crate) struct Job<'a> {
    pub process: &'a Process,
    pub caps: &'a CapPlan,
    pub seccomp: Option<&'a SeccompPlan>,
    /// Scheduler, I/O priority, personality, memory policy.
    pub attrs: &'a crate::attrs::Plan,
    pub preserve_fds: u32,
    pub chan: Channel,
    pub kind: Kind<'a>,
}

pub(crate) enum Kind<'a> {
    Init(InitJob<'a>),
    Exec(ExecJob<'a>),
}

pub(crate) struct InitJob<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub ns: &'a Plan,
    pub fifo: OwnedFd,
    pub second_fork: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub extra_mounts: &'a [Mount],
    /// `linux.timeOffsets` as timens_offsets lines, for a new time namespace.
    pub time_offsets: Option<&'a str>,
    /// The state-dir lock inherited through fork: init must not hold it.
    pub lock_fd: std::os::fd::RawFd,
}

pub(crate) struct ExecJob<'a> {
    /// `--user` naming a user or group, resolved inside the container.
    pub user: Option<&'a str>,
    /// init's pidfd: every namespace is joined through it.
    pub pidfd: &'a OwnedFd,
    /// init's root, when the container has no mount namespace to join.
    pub init_root: Option<&'a OwnedFd>,
    pub flags: CloneFlags,
    pub joined_user: bool,
    /// The container's user namespace denies setgroups.
    pub skip_setgroups: bool,
}

/// The child routine. `exit_code` is what the process exits with on failure.
pub(crate) fn run(job: Job, exit_code: i32) -> ! {
    let err = setup(&job).unwrap_or_else(|e| e);
    let _ = job.chan.tell_parent(ToParent::Failed(err.to_message()));
    // SAFETY: leave without running the parent's atexit handlers or destructors.
    unsafe { libc::_exit(exit_code) }
}

fn setup(job: &Job) -> Result<Error> {
    let first_fd = 3 + job.preserve_fds as i32;
    isolate(job, first_fd)?;
    // The stage must exist before a seccomp filter that might deny
    // memfd_create. init makes it after `start` when no filter goes in before
    // that, so a created container holds no memfd while it waits.
    // An RLIMIT_FSIZE set before the wait could forbid writing it, too.
    let nnp = job.process.no_new_privileges().unwrap_or(false);
    let filter_before_wait = job.seccomp.is_some_and(|s| !nnp || s.needs_notify());
    let limits = job.process.rlimits().as_deref().unwrap_or_default();
    let fsize_limit = limits
        .iter()
        .any(|l| l.typ() == oci_spec::runtime::PosixRlimitType::RlimitFsize);
    let mut stage = match &job.kind {
        Kind::Init(_) if !filter_before_wait && !fsize_limit => None,
        _ => Some(ExecStage::new()?),
    };
    let chan = &job.chan;
    let with_user;
    let (p, state_json, skip_setgroups) = match &job.kind {
        Kind::Init(j) => {
            // Before any namespace: in a user namespace no hard limit can be raised.
            process::raise_hard_limits(limits)?;
            let new_user = init_namespaces(j, chan)?;
            let state_json = init_filesystem(job, j, new_user)?;
            let joined_only = j.ns.joins(LinuxNamespaceType::User) && !new_user;
            // A rootless parent that mapped only its own gid had to deny setgroups.
            let denied = new_user
                && std::fs::read_to_string("/proc/self/setgroups")
                    .is_ok_and(|s| s.trim() == "deny");
            (job.process, Some(state_json), joined_only || denied)
        }
        Kind::Exec(j) => {
            // The parent puts us in the cgroup before we touch the container.
            chan.expect_parent(ToChild::InCgroup, "cgroup placement")?;
            process::raise_hard_limits(limits)?;
            exec_namespaces(j, chan)?;
            nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
            let p = match j.user {
                Some(spec) => {
                    with_user = crate::exec::resolve_user(job.process, spec)?;
                    &with_user
                }
                None => job.process,
            };
            terminal(p, chan, false)?;
            (p, None, j.skip_setgroups)
        }
    };

    // The process itself, the same steps for both kinds.
    match &job.kind {
        Kind::Init(_) => crate::affinity::allow_every_cpu()?,
        Kind::Exec(_) => crate::affinity::set_final(p)?,
    }
    // With every CPU allowed (a deadline policy needs that), still privileged.
    job.attrs.apply()?;
    let mut keep = vec![chan.as_raw_fd()];
    keep.extend(stage.as_ref().map(ExecStage::as_raw_fd));
    if let Kind::Init(j) = &job.kind {
        keep.push(j.fifo.as_raw_fd());
    }
    // Whatever setup opened and kept is gone before the cwd and program are resolved.
    process::close_fds_from(first_fd, &keep)?;
    let program = process::Program::resolve(p)?;
    // Labels take effect at execve; written while still root, before seccomp (as runc).
    crate::lsm::apply_exec_labels(p)?;
    let listener = process::become_user(p, job.caps, job.seccomp, skip_setgroups)?;
    let late_seccomp = crate::notify::send_listener(p, job.seccomp, listener, chan)?;
    chan.tell_parent(ToParent::Ready)?;
    if let Kind::Init(j) = &job.kind {
        wait_for_start(&j.fifo)?;
    }
    let stage = match stage.take() {
        Some(s) => s,
        None => ExecStage::new()?,
    };
    let mut late_seccomp = late_seccomp;
    if let (Kind::Init(j), Some(state_json)) = (&job.kind, &state_json) {
        let start_hooks = crate::config::hooks(j.spec, "startContainer");
        if !start_hooks.is_empty() {
            // As runc: startContainer hooks run under the container's seccomp
            // profile (the stage exists already, so the filter cannot stop it).
            if let (Some(s), true) = (late_seccomp, p.no_new_privileges().unwrap_or(false)) {
                // No listener: a filter that needs one went in before the wait.
                let _ = s.install()?;
                late_seccomp = None;
            }
            let inside = hooks::InContainer {
                stage: &stage,
                env: &program.envp,
                cwd: None,
            };
            hooks::run_all("startContainer", start_hooks, state_json, Some(&inside))?;
        }
    }
    Ok(process::finish(
        p,
        late_seccomp,
        &program,
        &stage,
        chan.as_raw_fd(),
    ))
}

/// Non-dumpable, no logging, and every fd the caller leaked really closed,
/// before anything of the container is resolved (CVE-2024-21626).
fn isolate(job: &Job, first_fd: i32) -> Result<()> {
    if let Kind::Init(j) = &job.kind {
        // SAFETY: the parent's lock fd; this process must not keep it.
        unsafe { libc::close(j.lock_fd) };
    }
    // Nothing inside the container may open this process through /proc until exec.
    nix::sys::prctl::set_dumpable(false).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
    // The log file's fd is about to be closed: nothing may write to its number.
    log::set_max_level(log::LevelFilter::Off);
    let mut keep = vec![job.chan.as_raw_fd()];
    match &job.kind {
        // The namespaces to join stay open until joined (the later sweep closes them).
        Kind::Init(j) => {
            keep.push(j.fifo.as_raw_fd());
            keep.extend(j.ns.fds());
        }
        Kind::Exec(j) => {
            keep.push(j.pidfd.as_raw_fd());
            keep.extend(j.init_root.map(|f| f.as_raw_fd()));
        }
    }
    process::close_fds_from(first_fd, &keep)
}

/// Joins and creates init's namespaces, up to telling the parent its pid.
/// Returns whether it made a user namespace.
fn init_namespaces(j: &InitJob, chan: &Channel) -> Result<bool> {
    let offsets = match j.time_offsets {
        Some(text) if j.ns.creates(LinuxNamespaceType::Time) => {
            Some((crate::timens::open_offsets()?, text))
        }
        _ => None,
    };
    j.ns.join_all()?;
    // A new pid namespace: by the parent's clone or just before the second fork; cgroup: after placement.
    let unshare = j.ns.new - CloneFlags::CLONE_NEWCGROUP - CloneFlags::CLONE_NEWPID - time_ns();
    if !unshare.is_empty() {
        nix::sched::unshare(unshare).map_err(|e| Error::sys(format!("unshare {unshare:?}"), e))?;
    }
    let new_user = j.ns.creates(LinuxNamespaceType::User);
    if new_user {
        // An unprivileged parent (or newuidmap) can open our /proc files only while we
        // are dumpable; nothing of the container exists yet (runc does the same).
        let unprivileged = !nix::unistd::geteuid().is_root();
        if unprivileged {
            nix::sys::prctl::set_dumpable(true)
                .map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
        }
        chan.tell_parent(ToParent::NeedIdMaps)?;
        chan.expect_parent(ToChild::IdMapsWritten, "uid/gid maps")?;
        if unprivileged {
            nix::sys::prctl::set_dumpable(false)
                .map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
        }
    }
    if new_user || j.ns.joins(LinuxNamespaceType::User) {
        become_root_in_user_ns()?;
    }
    if j.ns.creates(LinuxNamespaceType::Network) {
        // As runc: a new network namespace has its loopback up. Done here, inside, it
        // also works without root, where nothing outside may enter the namespace.
        sys::loopback_up().map_err(|e| Error::sys("set lo up in the new network namespace", e))?;
    }
    if !j.second_fork {
        chan.tell_parent(ToParent::Pid(None))?;
        return Ok(new_user);
    }
    // pid and time namespaces given by path were joined above.
    if j.ns.creates(LinuxNamespaceType::Pid) {
        nix::sched::unshare(CloneFlags::CLONE_NEWPID)
            .map_err(|e| Error::sys("unshare pid namespace", e))?;
    }
    if j.ns.creates(LinuxNamespaceType::Time) {
        nix::sched::unshare(time_ns()).map_err(|e| Error::sys("unshare time namespace", e))?;
        // Before the fork below: the first process in the namespace fixes its offsets.
        if let Some((file, text)) = offsets {
            crate::timens::write_offsets(file, text)?;
        }
    }
    fork_into_namespaces(chan, "fork container init into its pid namespace")?;
    Ok(new_user)
}

/// Joins every namespace of the running container, up to telling the parent the pid.
fn exec_namespaces(j: &ExecJob, chan: &Channel) -> Result<()> {
    nix::sched::setns(j.pidfd.as_fd(), j.flags)
        .map_err(|e| Error::sys(format!("join the container's namespaces {:?}", j.flags), e))?;
    if j.joined_user {
        become_root_in_user_ns()?;
    }
    if let Some(root) = j.init_root {
        nix::unistd::fchdir(root).map_err(|e| Error::sys("chdir to the container's root", e))?;
        nix::unistd::chroot(".").map_err(|e| Error::sys("chroot into the container's root", e))?;
    }
    fork_into_namespaces(chan, "fork the exec process")?;
    // Our pid reaches the parent before anything else we say.
    chan.expect_parent(ToChild::PidRecorded, "the process's pid to be recorded")
}

/// setns/unshare of a pid namespace only affects children: fork once more.
/// CLONE_PARENT makes the new process the runtime's child, so `run` and
/// `exec` can wait for it. The intermediate process reports its pid and exits.
fn fork_into_namespaces(chan: &Channel, what: &str) -> Result<()> {
    let forked =
        sys::fork_with(libc::CLONE_PARENT as libc::c_long).map_err(|e| Error::sys(what, e))?;
    if let Some(pid) = forked {
        let _ = chan.tell_parent(ToParent::Pid(Some(pid)));
        // SAFETY: the intermediate process is done.
        unsafe { libc::_exit(0) }
    }
    Ok(())
}

fn become_root_in_user_ns() -> Result<()> {
    let (u, g) = (nix::unistd::Uid::from_raw(0), nix::unistd::Gid::from_raw(0));
    nix::unistd::setresgid(g, g, g)
        .map_err(|e| Error::sys("become root in user namespace (setgid 0)", e))?;
    nix::unistd::setresuid(u, u, u)
        .map_err(|e| Error::sys("become root in user namespace (setuid 0)", e))
}

/// init's filesystem and identity: from the parent's Setup to the finalized
/// rootfs. Returns the state JSON for the in-container hooks.
fn init_filesystem(job: &Job, j: &InitJob, new_user: bool) -> Result<String> {
    let chan = &job.chan;
    let state_json = match chan.hear_parent("cgroup and network setup")? {
        ToChild::Setup { state_json } => state_json,
        other => return Err(Error::Init(format!("expected Setup, got {other:?}"))),
    };
    if j.ns.creates(LinuxNamespaceType::Cgroup) {
        // After the parent placed us, so the container's cgroup becomes its root.
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| Error::sys("unshare cgroup namespace", e))?;
    }
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    let spec = j.spec;
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| Error::sys(format!("hostname: set {h:?}"), e))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set_domainname(d)?;
    }
    let source = |i: usize| chan.take_mount_source(i as u32);
    let ctx = rootfs::RootfsCtx {
        spec,
        rootfs: j.rootfs,
        extra_mounts: j.extra_mounts,
        in_user_ns: new_user || j.ns.joins(LinuxNamespaceType::User),
        own_mount_ns: j.ns.creates(LinuxNamespaceType::Mount),
        runtime_source: &source,
    };
    rootfs::prepare(&ctx)?;
    chan.tell_parent(ToParent::RunCreateHooks)?;
    chan.expect_parent(ToChild::CreateHooksDone, "createRuntime hooks")?;
    let create_hooks = crate::config::hooks(spec, "createContainer");
    if !create_hooks.is_empty() {
        // A stage of their own, gone before init waits for `start`.
        let stage = ExecStage::new()?;
        let inside = hooks::InContainer {
            stage: &stage,
            env: &[],
            cwd: Some(j.rootfs),
        };
        hooks::run_all("createContainer", create_hooks, &state_json, Some(&inside))?;
    }
    rootfs::enter(&ctx, j.no_pivot)?;
    terminal(job.process, chan, true)?;
    rootfs::finalize(spec)?;
    if !j.no_new_keyring {
        // A fresh session keyring keeps the host's keys out of reach.
        match sys::join_new_session_keyring() {
            Ok(()) | Err(nix::errno::Errno::ENOSYS) => {}
            Err(e) => return Err(Error::sys("join a new session keyring", e)),
        }
    }
    Ok(state_json)
}

/// When the process has a terminal: a pty made inside the container, its
/// slave on stdio (and, for init, on /dev/console), its master to the parent.
fn terminal(p: &Process, chan: &Channel, console_mount: bool) -> Result<()> {
    if !p.terminal().unwrap_or(false) {
        return Ok(());
    }
    let size = p
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16));
    let pty = console::open_pty(size)?;
    // The terminal belongs to the process's user, as runc makes it; its group
    // stays the one devpts gave it (the spec's `gid=5`, the tty group).
    let uid = p.user().uid();
    nix::unistd::fchown(&pty.slave, Some(nix::unistd::Uid::from_raw(uid)), None)
        .map_err(|e| Error::sys(format!("chown the terminal to uid {uid}"), e))?;
    if console_mount {
        rootfs::mount_console(&pty.slave_path)?;
    }
    console::attach_stdio(&pty.slave)?;
    chan.tell_parent(ToParent::Console(pty.master))
}

/// A created container must stop on SIGTERM, SIGINT or SIGHUP (`kill`, or a
/// pidfd handed out by `--pidfd-socket`), as runc's does. As pid 1 of its pid
/// namespace, init never gets a signal it has no handler for but SIGKILL, so
/// it installs one that exits. The program's execve resets it to the default.
fn stop_on_termination_signals() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    extern "C" fn exit_on(sig: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) }
    }
    let act = SigAction::new(
        SigHandler::Handler(exit_on),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        // SAFETY: the handler only calls _exit.
        unsafe { sigaction(sig, &act) }.map_err(|e| Error::sys(format!("sigaction {sig}"), e))?;
    }
    Ok(())
}

fn time_ns() -> CloneFlags {
    CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)
}

fn set_domainname(d: &str) -> Result<()> {
    // SAFETY: setdomainname reads len bytes from the pointer.
    if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
        return Err(Error::sys(
            format!("domainname: set {d:?}"),
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Blocks until `berth start` writes a byte into the exec fifo.
fn wait_for_start(fifo: &OwnedFd) -> Result<()> {
    stop_on_termination_signals()?;
    let mut b = [0u8; 1];
    loop {
        match nix::unistd::read(fifo, &mut b) {
            Ok(1) => return Ok(()),
            Ok(_) => return Err(Error::Init("exec fifo closed before start".into())),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("read exec fifo", e)),
        }
    }
}
