//! Every raw system call berth-container makes that nix or libc do not wrap:
//! one place, each with its result checked and returned as an `Errno`.
//! Callers add what they were doing to the error.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// The result of a raw syscall: -1 becomes the errno.
fn check(r: libc::c_long) -> nix::Result<libc::c_long> {
    if r == -1 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Takes ownership of the fd a syscall just returned.
fn owned(r: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this fd; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

/// clone(2) without CLONE_VM and without a new stack, i.e. fork with extra
/// flags. Some(pid) in the parent, None in the child. The caller must be
/// single-threaded, or a lock held by another thread stays held in the child.
pub fn fork_with(flags: libc::c_long) -> nix::Result<Option<i32>> {
    // SAFETY: with a null stack and no CLONE_VM, clone behaves like fork.
    let r = check(unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_long,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    })?;
    Ok((r != 0).then_some(r as i32))
}

/// close_range(lo, hi, 0): really closes every fd in the range.
pub fn close_range(lo: u32, hi: u32) -> nix::Result<()> {
    // SAFETY: only closes this process's fds; the caller owns none in the range any more.
    check(unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0) }).map(drop)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring.
pub fn join_new_session_keyring() -> nix::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a NULL name asks for a fresh anonymous keyring.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0usize) }).map(drop)
}

/// pidfd_open(pid, 0).
pub fn pidfd_open(pid: i32) -> nix::Result<OwnedFd> {
    // SAFETY: takes a pid and flags, returns a new fd.
    check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) }).map(owned)
}

/// pidfd_send_signal(pidfd, sig, NULL, 0).
pub fn pidfd_send_signal(fd: BorrowedFd<'_>, sig: i32) -> nix::Result<()> {
    // SAFETY: a NULL siginfo and no flags.
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            0usize,
            0u32,
        )
    })
    .map(drop)
}

/// memfd_create(name, flags).
pub fn memfd_create(name: &CStr, flags: libc::c_uint) -> nix::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name and flags.
    check(unsafe { libc::memfd_create(name.as_ptr(), flags) } as libc::c_long).map(owned)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH). Only returns on failure, and
/// allocates nothing (it may run between fork and exec).
pub fn execveat_fd(fd: RawFd, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    // SAFETY: argv and envp are NULL-terminated arrays of C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Errno::last()
}

/// execve(path, argv, envp). Only returns on failure; allocates nothing.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> Errno {
    // SAFETY: as for execveat_fd; path is NUL-terminated.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    Errno::last()
}

/// The kernel's `struct sigaction` (x86_64 and the generic layout).
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// rt_sigaction(sig, SIG_DFL): through the raw syscall because libc refuses
/// the signals it reserves for itself.
pub fn default_signal_action(sig: i32) -> nix::Result<()> {
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: reads a kernel sigaction of the given size; installs no handler.
    check(unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &dfl as *const KernelSigaction,
            0usize,
            8usize,
        )
    })
    .map(drop)
}

/// open_tree(dirfd, path, flags | OPEN_TREE_CLOEXEC).
pub fn open_tree(dirfd: RawFd, path: &CStr, flags: libc::c_uint) -> nix::Result<OwnedFd> {
    // SAFETY: a NUL-terminated path; returns a new fd.
    check(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dirfd,
            path.as_ptr(),
            flags | libc::OPEN_TREE_CLOEXEC,
        )
    })
    .map(owned)
}

/// move_mount(from, "", to, "", F_EMPTY_PATH | T_EMPTY_PATH).
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: both fds are valid; the paths are empty C strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// mount_setattr(fd, "", flags, attr): on the mount `fd` refers to.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    flags: libc::c_uint,
    attr: &mut libc::mount_attr,
) -> nix::Result<()> {
    // SAFETY: attr points to a live struct of the size passed.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *mut libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })
    .map(drop)
}

/// What seccomp(SECCOMP_SET_MODE_FILTER) returned.
pub enum FilterInstalled {
    /// The notification listener (the filter was asked for one).
    Listener(OwnedFd),
    Done,
    /// With TSYNC: this thread could not be synchronized.
    UnsyncedThread(libc::c_long),
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); `listener` says whether
/// `flags` has SECCOMP_FILTER_FLAG_NEW_LISTENER.
pub fn seccomp_set_filter(
    flags: libc::c_ulong,
    prog: &libc::sock_fprog,
    listener: bool,
) -> nix::Result<FilterInstalled> {
    // SAFETY: prog points at a program that lives for the call; the kernel copies it.
    let r = check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            prog as *const libc::sock_fprog,
        )
    })?;
    Ok(match (listener, r) {
        (true, r) => FilterInstalled::Listener(owned(r)),
        (false, 0) => FilterInstalled::Done,
        (false, tid) => FilterInstalled::UnsyncedThread(tid),
    })
}

/// seccomp(SECCOMP_GET_ACTION_AVAIL): whether the kernel implements `action`.
pub fn seccomp_action_available(action: u32) -> bool {
    // SAFETY: reads one u32 that lives for the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    })
    .is_ok()
}

/// The capget/capset header, version 3.
#[repr(C)]
pub struct CapHeader {
    pub version: u32,
    pub pid: i32,
}

/// One 32-bit half of the version-3 capability sets.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CapData {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}

/// capset(2) with the two halves of the version-3 layout.
pub fn capset(hdr: &mut CapHeader, data: &[CapData; 2]) -> nix::Result<()> {
    // SAFETY: a header and a two-element data array, both live for the call.
    check(unsafe { libc::syscall(libc::SYS_capset, hdr as *mut CapHeader, data.as_ptr()) })
        .map(drop)
}

/// Sets the loopback interface of the caller's network namespace up (SIOCGIFFLAGS,
/// then SIOCSIFFLAGS with IFF_UP), as `ip link set lo up` does, without netlink.
pub fn loopback_up() -> nix::Result<()> {
    // SAFETY: a plain datagram socket, owned at once.
    let sock =
        owned(check(
            unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) }
                as libc::c_long,
        )?);
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: both ioctls read and write only `req`, which outlives them.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } as libc::c_long)?;
    // SAFETY: the flags member is the one SIOCGIFFLAGS filled in.
    unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } as libc::c_long)?;
    Ok(())
}

/// set_mempolicy(mode | flags, nodemask, maxnode) for the calling thread.
/// `mask` is the node bitmap in 64-bit words, empty for no nodes.
pub fn set_mempolicy(mode: i32, mask: &[u64]) -> nix::Result<()> {
    // The kernel reads maxnode - 1 bits, so one more than the mask holds.
    let (ptr, maxnode) = match mask.len() {
        0 => (std::ptr::null(), 0),
        n => (mask.as_ptr(), n as libc::c_ulong * 64 + 1),
    };
    // SAFETY: the kernel reads at most maxnode - 1 bits from a live slice.
    check(unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) }).map(drop)
}

/// sched_setattr(0, attr, 0): the calling thread's policy and parameters.
pub fn sched_setattr(attr: &libc::sched_attr) -> nix::Result<()> {
    // SAFETY: attr.size says how much of the struct the kernel may read.
    check(unsafe {
        libc::syscall(
            libc::SYS_sched_setattr,
            0,
            attr as *const libc::sched_attr,
            0,
        )
    })
    .map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, prio): the calling process; children inherit it.
pub fn ioprio_set_self(prio: i32) -> nix::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: three integers.
    check(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) }).map(drop)
}

/// personality(persona): sets the execution domain.
pub fn set_personality(persona: libc::c_ulong) -> nix::Result<()> {
    // SAFETY: takes an integer; returns the previous persona or -1.
    check(unsafe { libc::personality(persona) } as libc::c_long).map(drop)
}
