//! The child side of `create`: runs in the freshly cloned process, enters the
//! container's namespaces, builds its filesystem, becomes the configured user
//! and waits on the exec fifo before exec'ing the user's program. It never
//! returns: success is execve, failure is a message to the parent and _exit.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use crate::caps::CapPlan;
use crate::exec_stage::ExecStage;
use crate::namespaces::Plan;
use crate::seccomp::SeccompPlan;
use crate::sync::{Channel, Tag};
use crate::{console, hooks, process, rootfs, Error, Result};

/// Everything init needs; it shares the parent's memory image after the fork.
pub(crate) struct Args<'a> {
    pub spec: &'a Spec,
    pub rootfs: &'a Path,
    pub ns: &'a Plan,
    pub caps: &'a CapPlan,
    pub seccomp: Option<&'a SeccompPlan>,
    pub chan: Channel,
    pub fifo: OwnedFd,
    pub second_fork: bool,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub extra_mounts: &'a [Mount],
    /// The state-dir lock inherited through fork: closed at once, or init would hold it.
    pub lock_fd: std::os::fd::RawFd,
}

pub(crate) fn run(args: Args) -> ! {
    // SAFETY: the fd is the parent's lock; this process must not keep it.
    unsafe { libc::close(args.lock_fd) };
    let err = match setup(&args) {
        Ok(e) => e,
        Err(e) => e,
    };
    let _ = args.chan.send(Tag::Failed, &err.to_string());
    // SAFETY: leave without running the parent's atexit handlers or destructors.
    unsafe { libc::_exit(1) }
}

/// fork(2) with extra clone flags; Some(pid) in the parent, None in the child.
pub(crate) fn fork_with(flags: libc::c_long) -> Result<Option<i32>> {
    // SAFETY: without CLONE_VM and with a null stack, clone behaves like fork;
    // the runtime is single-threaded here so no lock can be held by a lost thread.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_long,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match pid {
        -1 => Err(Error::sys(
            "clone container init",
            nix::errno::Errno::last(),
        )),
        0 => Ok(None),
        p => Ok(Some(p as i32)),
    }
}

fn setup(a: &Args) -> Result<Error> {
    let spec = a.spec;
    let process = spec.process().as_ref().expect("validated: process present");
    // Nothing inside the container may open this process through /proc until exec.
    nix::sys::prctl::set_dumpable(false).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))?;
    // The log file's fd is about to be closed: nothing may write to its number.
    log::set_max_level(log::LevelFilter::Off);
    // Every fd beyond stdio and the preserved ones is closed now, before any
    // path of the container is resolved; only our channel, the fifo and the
    // namespaces to join stay (those until the later sweep).
    let first = 3 + a.preserve_fds as i32;
    let ours = [a.chan.as_raw_fd(), a.fifo.as_raw_fd()];
    let mut keep = a.ns.fds();
    keep.extend(ours);
    process::close_fds_from(first, &keep)?;
    let stage = ExecStage::new()?;

    a.ns.join_all(true)?;
    // pid: by the parent's clone or just before the second fork; cgroup: after placement.
    let unshare =
        a.ns.new - CloneFlags::CLONE_NEWCGROUP - CloneFlags::CLONE_NEWPID - namespaces_time();
    if !unshare.is_empty() {
        nix::sched::unshare(unshare).map_err(|e| Error::sys(format!("unshare {unshare:?}"), e))?;
    }
    let new_user = a.ns.creates(LinuxNamespaceType::User);
    if new_user {
        a.chan.send(Tag::NeedMaps, "")?;
        a.chan.expect(Tag::Continue, "uid/gid maps")?;
    }
    if new_user || a.ns.joins(LinuxNamespaceType::User) {
        let root = nix::unistd::Uid::from_raw(0);
        let groot = nix::unistd::Gid::from_raw(0);
        nix::unistd::setresgid(groot, groot, groot)
            .map_err(|e| Error::sys("become root in user namespace (setgid 0)", e))?;
        nix::unistd::setresuid(root, root, root)
            .map_err(|e| Error::sys("become root in user namespace (setuid 0)", e))?;
    }
    if a.second_fork {
        if let Some(j) = a.ns.joined(LinuxNamespaceType::Pid) {
            crate::namespaces::setns(j)?;
        } else if a.ns.creates(LinuxNamespaceType::Pid) {
            nix::sched::unshare(CloneFlags::CLONE_NEWPID)
                .map_err(|e| Error::sys("unshare pid namespace", e))?;
        }
        if let Some(j) = a.ns.joined(LinuxNamespaceType::Time) {
            crate::namespaces::setns(j)?;
        } else if a.ns.creates(LinuxNamespaceType::Time) {
            nix::sched::unshare(namespaces_time())
                .map_err(|e| Error::sys("unshare time namespace", e))?;
        }
        // CLONE_PARENT: the real init is the runtime's child, so `run` can wait for it.
        if let Some(pid) = fork_with(libc::CLONE_PARENT as libc::c_long)? {
            a.chan.send(Tag::Pid, &pid.to_string())?;
            // SAFETY: the intermediate process is done.
            unsafe { libc::_exit(0) }
        }
    } else {
        a.chan.send(Tag::Pid, "")?;
    }
    let state_json = a
        .chan
        .expect(Tag::Continue, "cgroup and network setup")?
        .payload;

    if a.ns.creates(LinuxNamespaceType::Cgroup) {
        // After the parent placed us, so the container's cgroup becomes its root.
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| Error::sys("unshare cgroup namespace", e))?;
    }
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| Error::sys(format!("hostname: set {h:?}"), e))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        set_domainname(d)?;
    }
    rootfs::prepare(&rootfs::RootfsCtx {
        spec,
        rootfs: a.rootfs,
        extra_mounts: a.extra_mounts,
        in_user_ns: new_user || a.ns.joins(LinuxNamespaceType::User),
    })?;
    a.chan.send(Tag::CreateRuntime, "")?;
    a.chan.expect(Tag::Continue, "createRuntime hooks")?;
    hooks::run_all(
        "createContainer",
        crate::config::hooks(spec, "createContainer"),
        &state_json,
        Some(&stage),
    )?;
    rootfs::enter(a.rootfs, a.no_pivot)?;
    if process.terminal().unwrap_or(false) {
        let size = process
            .console_size()
            .as_ref()
            .map(|b| (b.height() as u16, b.width() as u16));
        let pty = console::open_pty(size)?;
        rootfs::mount_console(&pty.slave_path)?;
        console::attach_stdio(&pty.slave)?;
        a.chan
            .send_with_fd(Tag::Console, "", Some(pty.master.as_raw_fd()))?;
    }
    rootfs::finalize(spec)?;
    if !a.no_new_keyring {
        // A fresh session keyring keeps the host's keys out of reach.
        // SAFETY: KEYCTL_JOIN_SESSION_KEYRING with a NULL name makes an anonymous keyring.
        unsafe {
            libc::syscall(
                libc::SYS_keyctl,
                1, /* KEYCTL_JOIN_SESSION_KEYRING */
                0usize,
            )
        };
    }
    // Whatever setup opened and kept is gone before the cwd is resolved.
    process::close_fds_from(first, &[ours[0], ours[1], stage.as_raw_fd()])?;
    let program = process::Program::resolve(process)?;
    // Labels take effect at execve; written while still root, before seccomp (as runc).
    crate::lsm::apply_exec_labels(process)?;
    let listener = process::become_user(
        process,
        a.caps,
        a.seccomp,
        a.ns.joins(LinuxNamespaceType::User) && !new_user,
    )?;
    let late_seccomp = crate::notify::send_listener(process, a.seccomp, listener, &a.chan)?;
    a.chan.send(Tag::Ready, "")?;
    wait_for_start(&a.fifo)?;
    hooks::run_all(
        "startContainer",
        crate::config::hooks(spec, "startContainer"),
        &state_json,
        Some(&stage),
    )?;
    Ok(process::finish(
        process,
        late_seccomp,
        &program,
        &stage,
        a.chan.as_raw_fd(),
    ))
}

fn namespaces_time() -> CloneFlags {
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
