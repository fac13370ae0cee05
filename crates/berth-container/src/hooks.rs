//! OCI hooks: each runs with the container's state JSON on stdin, its own
//! args and env, and is killed when its timeout passes.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::Hook;

use crate::exec_stage::ExecStage;
use crate::{Error, Result};

/// How a hook that runs from inside the container is started.
pub struct InContainer<'a> {
    /// Execs the hook, so that the runtime's own image never does.
    pub stage: &'a ExecStage,
    /// The environment of a hook that names none (startContainer hooks get
    /// the process's, as runc's always have).
    pub env: &'a [std::ffi::CString],
    /// The working directory: createContainer hooks run in the rootfs
    /// (before pivot_root), where runc runs them.
    pub cwd: Option<&'a std::path::Path>,
}

/// Runs every hook of `kind` in order; the first failure stops the list.
pub fn run_all(
    kind: &'static str,
    hooks: &[Hook],
    state_json: &str,
    inside: Option<&InContainer>,
) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run(kind, index, hook, state_json, inside)?;
    }
    Ok(())
}

/// Runs hook number `index` of its kind; a failure is [`Error::Hook`], which
/// reads as runc's `error running <kind> hook #<index>: <path>: <why>`.
pub fn run(
    kind: &'static str,
    index: usize,
    hook: &Hook,
    state_json: &str,
    inside: Option<&InContainer>,
) -> Result<()> {
    let path = hook.path();
    let fail = |reason: String| Error::Hook {
        kind,
        index,
        path: path.clone(),
        reason,
    };
    let mut cmd = Command::new(path);
    if let Some(inside) = inside {
        let argv: Vec<&str> = match hook.args().as_deref() {
            Some(a) if !a.is_empty() => a.iter().map(String::as_str).collect(),
            _ => vec![path.to_str().unwrap_or_default()],
        };
        let prog = crate::process::Program {
            path: path.clone(),
            argv: crate::process::cstrings(argv, &format!("hooks.{kind}[{index}].args"))?,
            envp: match hook.env() {
                Some(env) => crate::process::cstrings(
                    env.iter().map(String::as_str),
                    &format!("hooks.{kind}[{index}].env"),
                )?,
                None => inside.env.to_vec(),
            },
        };
        let exec = inside.stage.prepared(&prog, None)?;
        if let Some(dir) = inside.cwd {
            cmd.current_dir(dir);
        }
        // SAFETY: the closure only calls execveat/execve with arrays built before the fork.
        unsafe { cmd.pre_exec(move || Err(std::io::Error::from(exec.run()))) };
    }
    if let Some(args) = hook.args() {
        if let Some((argv0, rest)) = args.split_first() {
            cmd.arg0(argv0).args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let pid = child.id() as i32;
    let status = match hook.timeout() {
        None => child.wait().map_err(|e| fail(e.to_string()))?,
        Some(secs) => {
            let deadline = Instant::now() + Duration::from_secs(secs as u64);
            match wait_until(pid, deadline) {
                Ok(true) => child.wait().map_err(|e| fail(e.to_string()))?,
                Ok(false) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!("timed out after {secs}s")));
                }
                Err(e) => return Err(fail(e.to_string())),
            }
        }
    };
    if !status.success() {
        return Err(fail(describe(status)));
    }
    Ok(())
}

/// A hook's end in Go's words, as runc reports it: `exit status 1`,
/// `signal: bad system call` (a seccomp kill).
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => {
            // SAFETY: strsignal returns a static (or thread-local) string for any number.
            let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) };
            format!("signal: {}", name.to_string_lossy().to_lowercase())
        }
        _ => status.to_string(),
    }
}

/// Waits for `pid` to exit (without reaping it) until `deadline`; false on timeout.
fn wait_until(pid: i32, deadline: Instant) -> std::io::Result<bool> {
    let pidfd = crate::sys::pidfd_open(pid)?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(std::io::Error::from_raw_os_error(e as i32)),
        }
    }
}
