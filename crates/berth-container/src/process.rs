//! The user process as config.json describes it: environment, program path
//! lookup, rlimits, user and groups, and the final execve.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType, Process};

use crate::caps::CapPlan;
use crate::exec_stage::ExecStage;
use crate::seccomp::SeccompPlan;
use crate::{invalid, Error, Result};

/// Where a program without a '/' is looked for when the process has no PATH.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment as runc builds it: for a key given twice the last value
/// wins (in the order of last occurrence), and HOME is added when missing or
/// empty (the process user's from /etc/passwd, else "/"). PATH is not added
/// (runc does not); the program lookup has its own default.
pub fn environment(p: &Process, home: Option<&str>) -> Vec<String> {
    let given = p.env().clone().unwrap_or_default();
    let key = |kv: &str| kv.split_once('=').map_or(kv, |(k, _)| k).to_string();
    let mut seen = std::collections::HashSet::new();
    let mut env: Vec<String> = given
        .iter()
        .rev()
        .filter(|kv| seen.insert(key(kv)))
        .cloned()
        .collect();
    env.reverse();
    env.retain(|e| e != "HOME=");
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home.unwrap_or("/")));
    }
    env
}

/// Finds `prog` the way execvp would, using the container's PATH; run after
/// pivot_root so the lookup happens inside the container. Errors are
/// `NotStarted` in runc's words (Go's exec.LookPath), which tests and engines
/// read (docker maps "executable file not found" to exit 127).
pub fn find_program(prog: &str, env: &[String]) -> Result<PathBuf> {
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        if !p.exists() {
            return Err(Error::NotStarted(format!(
                "exec: \"{prog}\": stat {prog}: no such file or directory"
            )));
        }
        if !executable(&p) {
            return Err(Error::NotStarted(format!(
                "exec: \"{prog}\": permission denied"
            )));
        }
        return Ok(p);
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(prog))
        .find(|p| executable(p))
        .ok_or_else(|| {
            Error::NotStarted(format!(
                "exec: \"{prog}\": executable file not found in $PATH"
            ))
        })
}

fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Raises each hard limit that `limits` set above the current one, the soft
/// limit left as it is. Done first thing in the launched process: once it is
/// in a user namespace no hard limit can be raised (that takes
/// CAP_SYS_RESOURCE in the host's), and raising a ceiling limits nothing the
/// setup still does. `set_rlimits` sets the exact values later.
pub fn raise_hard_limits(limits: &[PosixRlimit]) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        let now = current_limit(l.typ());
        if l.hard() > now.rlim_max {
            setrlimit(i, l, now.rlim_cur.min(l.hard()), l.hard())?;
        }
    }
    Ok(())
}

pub fn set_rlimits(limits: &[PosixRlimit]) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        setrlimit(i, l, l.soft(), l.hard())?;
    }
    Ok(())
}

fn current_limit(t: PosixRlimitType) -> libc::rlimit {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we pass; it cannot fail for a valid resource.
    unsafe { libc::getrlimit(resource(t), &mut r) };
    r
}

/// setrlimit for `l`, `process.rlimits[i]`; an error names the field and values,
/// and says why the kernel refused.
fn setrlimit(i: usize, l: &PosixRlimit, soft: u64, hard: u64) -> Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(resource(l.typ()), &r) } == 0 {
        return Ok(());
    }
    let e = nix::errno::Errno::last();
    let hard_now = current_limit(l.typ()).rlim_max;
    let why = match e {
        nix::errno::Errno::EPERM if hard > hard_now => {
            let has_cap = caps::has_cap(
                None,
                caps::CapSet::Effective,
                caps::Capability::CAP_SYS_RESOURCE,
            )
            .unwrap_or(false);
            match (has_cap, l.typ()) {
                (true, PosixRlimitType::RlimitNofile) => {
                    let nr_open = std::fs::read_to_string("/proc/sys/fs/nr_open");
                    format!(" above fs.nr_open {}", nr_open.unwrap_or_default().trim())
                }
                (true, _) => String::new(),
                (false, _) => format!(
                    " above the runtime's hard limit {} and no CAP_SYS_RESOURCE",
                    limit_text(hard_now)
                ),
            }
        }
        _ => String::new(),
    };
    invalid!(
        format!("process.rlimits[{i}]"),
        l.typ(),
        "soft {} hard {}{why}: {}",
        limit_text(l.soft()),
        limit_text(l.hard()),
        e.desc().to_lowercase()
    )
}

/// A limit as a number, or "unlimited" for RLIM_INFINITY.
fn limit_text(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// setgroups, setgid, setuid for process.user (capabilities are kept by the caller's KEEPCAPS).
pub fn set_user(p: &Process, in_user_ns_without_setgroups: bool) -> Result<()> {
    let user = p.user();
    let gid = Gid::from_raw(user.gid());
    let uid = Uid::from_raw(user.uid());
    if !in_user_ns_without_setgroups {
        let mut groups: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        groups.dedup();
        match nix::unistd::setgroups(&groups) {
            // A user namespace made by someone else (a rootless engine's) may deny it
            // for good: the groups stay as they are, as runc leaves them.
            Err(nix::errno::Errno::EPERM)
                if std::fs::read_to_string("/proc/self/setgroups")
                    .is_ok_and(|s| s.trim() == "deny") => {}
            r => r.map_err(|e| Error::sys("process.user.additionalGids: setgroups", e))?,
        }
    }
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| Error::sys(format!("process.user.gid: setgid {gid}"), e))?;
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| Error::sys(format!("process.user.uid: setuid {uid}"), e))?;
    Ok(())
}

pub fn cstrings<'a>(items: impl IntoIterator<Item = &'a str>, field: &str) -> Result<Vec<CString>> {
    items
        .into_iter()
        .map(|s| CString::new(s).map_err(|_| Error::invalid(field, s, "contains a NUL byte")))
        .collect()
}

/// Home directory of `uid` from the container's /etc/passwd, if listed.
pub fn home_of(uid: u32) -> Option<String> {
    crate::passwd::home_of(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

/// The program to exec, resolved inside the container, with argv and envp ready.
pub struct Program {
    pub path: PathBuf,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
}

impl Program {
    /// Resolves process.args[0] through the container's PATH (call inside the container's root).
    pub fn resolve(p: &Process) -> Result<Program> {
        let env = environment(p, home_of(p.user().uid()).as_deref());
        let args = p.args().as_deref().unwrap_or_default();
        let first = args
            .first()
            .ok_or_else(|| Error::missing("process.args", "it names the program to run"))?;
        Ok(Program {
            path: find_program(first, &env)?,
            argv: cstrings(args.iter().map(String::as_str), "process.args")?,
            envp: cstrings(env.iter().map(String::as_str), "process.env")?,
        })
    }
}

/// Turns the calling process into process.user with its capabilities, umask,
/// cwd and no_new_privs, in the order the kernel needs. Seccomp goes in here
/// when no_new_privs is off (installing it then needs CAP_SYS_ADMIN, which the
/// user change may drop); otherwise `install_late_seccomp` does it right before exec.
/// Returns the SCMP_ACT_NOTIFY listener fd when the filter installed here has one.
pub fn become_user(
    p: &Process,
    caps: &CapPlan,
    seccomp: Option<&SeccompPlan>,
    joined_user_ns: bool,
) -> Result<Option<std::os::fd::OwnedFd>> {
    if let Some(limits) = p.rlimits() {
        set_rlimits(limits)?;
    }
    let mut listener = None;
    if let (Some(s), false) = (seccomp, no_new_privs(p)) {
        listener = s.install()?;
    }
    // As runc: the cwd is entered while still root (a directory only root can
    // reach works), and again as the user if that failed.
    let entered_as_root = enter_cwd(p.cwd());
    caps.before_user_change()?;
    set_user(p, joined_user_ns)?;
    caps.after_user_change()?;
    if let Some(mask) = p.user().umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    if entered_as_root.is_err() {
        enter_cwd(p.cwd())?;
    }
    if no_new_privs(p) {
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
    }
    Ok(listener)
}

fn no_new_privs(p: &Process) -> bool {
    p.no_new_privileges().unwrap_or(false)
}

/// chdir, then proof that the cwd lies inside the process's root: a path
/// such as /proc/self/fd/N can name a directory outside it, and `..` from
/// there walks the host (CVE-2024-21626). getcwd fails for such a cwd.
pub fn enter_cwd(cwd: &Path) -> Result<()> {
    nix::unistd::chdir(cwd)
        .map_err(|e| Error::sys(format!("process.cwd: chdir {}", cwd.display()), e))?;
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        _ => invalid!("process.cwd", cwd.display(), "outside the container's root"),
    }
}

/// Really closes every fd from `first` up except `keep`: an fd the caller
/// leaked must be gone before the container's cwd or program is resolved,
/// not merely close-on-exec (CVE-2024-21626).
pub fn close_fds_from(first: RawFd, keep: &[RawFd]) -> Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo = first as u32;
    for k in keep {
        if k as u32 > lo {
            close_range(lo, k as u32 - 1)?;
        }
        lo = k as u32 + 1;
    }
    close_range(lo, u32::MAX)
}

fn close_range(lo: u32, hi: u32) -> Result<()> {
    crate::sys::close_range(lo, hi).map_err(|e| Error::sys(format!("close_range {lo}..{hi}"), e))
}

/// The last steps: signal reset, seccomp (when no_new_privs deferred it), and
/// the exec stage, which execs the program and reports a failure on `status`.
/// Only returns an error.
pub fn finish(
    p: &Process,
    seccomp: Option<&SeccompPlan>,
    prog: &Program,
    stage: &ExecStage,
    status: RawFd,
) -> Error {
    reset_signals();
    if let (Some(s), true) = (seccomp, no_new_privs(p)) {
        if let Err(e) = s.install() {
            return e;
        }
    }
    stage.exec(prog, Some(status))
}

/// Ignored signals and the signal mask survive execve: the runtime's (Rust ignores
/// SIGPIPE; a caller may ignore SIGQUIT or realtime signals; `berth run`/`exec` block
/// signals while they wait) must not reach the container's program. Every signal
/// goes back to its default, through the raw syscall because libc refuses the ones
/// it reserves. Best effort: a seccomp profile may forbid these calls.
pub fn reset_signals() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let _ = crate::sys::default_signal_action(sig);
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
}

#[cfg(test)]
mod env_tests {
    use super::*;

    fn process(env: &[&str]) -> Process {
        let mut p = Process::default();
        p.set_env(Some(env.iter().map(|s| s.to_string()).collect()));
        p
    }

    #[test]
    fn the_last_duplicate_wins_and_an_empty_home_is_filled() {
        let env = environment(&process(&["A=1", "HOME=", "B=2", "A=3"]), Some("/root"));
        assert_eq!(env, ["B=2", "A=3", "HOME=/root"]);
        let env = environment(&process(&["HOME=/home/x"]), Some("/root"));
        assert!(env.contains(&"HOME=/home/x".to_string()));
        let env = environment(&process(&[]), None);
        assert!(env.contains(&"HOME=/".to_string()));
    }
}
