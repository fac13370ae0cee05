//! `berth exec`: runc's flags turned into an exec process (the container's
//! process with the flags applied, or `-p process.json`), then the foreground
//! wait or `-d`. Exit codes as runc: 1 for a missing command (a usage error),
//! 255 for any failure after that (no such container, paused, bad process
//! JSON, could not start), else the process's.

use std::io::IsTerminal;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use berth_container::exec::{container_process, ExecOptions};
use berth_container::Root;
use oci_spec::runtime::{Capability, Process};

use super::Result;

#[derive(clap::Args)]
pub struct ExecArgs {
    /// Unix socket that receives the pty master (with --tty)
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the exec'd process
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
    /// Current working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=value); may be repeated
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID[:GID] (names are looked up in the container's /etc/passwd and /etc/group)
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional gids; may be repeated
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// Path to a process.json describing the process (flags other than -d/--pid-file/... are ignored)
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Detach from the process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process's pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// SELinux label of the process (SELinux is not available on this host)
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile of the process (AppArmor is not available on this host)
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability to the bounding, effective and permitted sets; may be repeated
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N extra fds (3 .. 3+N-1) to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Existing sub-cgroup of the container's cgroup to run in: path or controller[,controller]:path (repeatable)
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Exec even if the container is paused
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Container id
    pub id: String,
    /// Command and arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(root: &Root, a: &ExecArgs) -> Result<u8> {
    // A missing command is a usage error (1); once the arguments make sense,
    // every failure is runc's `exec failed: …` with 255, so that a caller can
    // tell it from the process's own exit status.
    if a.process.is_none() && a.command.is_empty() {
        return Err("exec: a command is required (or -p process.json)".into());
    }
    let execed =
        start(root, a).map_err(|e| super::ExitError::new(255, format!("exec failed: {e}")))?;
    if a.detach {
        return Ok(0);
    }
    crate::foreground::supervise(execed.pid, execed.console)
}

fn start(root: &Root, a: &ExecArgs) -> Result<berth_container::exec::Execed> {
    let (process, user) = build_process(root, a)?;
    let opts = ExecOptions {
        id: a.id.clone(),
        process,
        console_socket: a.console_socket.clone(),
        pidfd_socket: a.pidfd_socket.clone(),
        pid_file: a.pid_file.clone(),
        detach: a.detach,
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        user,
        cgroup: a.cgroup.clone(),
    };
    berth_container::exec::exec(root, &opts).map_err(|e| match e {
        berth_container::Error::NotStarted(msg) => {
            format!("unable to start container process: {msg}").into()
        }
        e => e.into(),
    })
}

/// The process to run: `-p` as given, or the container's process with the flags applied.
/// Also returns a `--user` that names a user or group, for lookup inside the container.
fn build_process(root: &Root, a: &ExecArgs) -> Result<(Process, Option<String>)> {
    if let Some(path) = &a.process {
        let bytes = std::fs::read(path).map_err(|e| format!("exec -p {}: {e}", path.display()))?;
        let p = berth_container::config::parse_process(&bytes)
            .map_err(|e| format!("exec -p {}: {e}", path.display()))?;
        return Ok((p, None));
    }
    let mut p = container_process(root, &a.id)?;
    p.set_args(Some(a.command.clone()));
    if let Some(cwd) = &a.cwd {
        p.set_cwd(cwd.clone());
    }
    if !a.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for e in &a.env {
            let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
            env.retain(|old| old.split_once('=').map_or(old.as_str(), |(k, _)| k) != key);
            env.push(e.clone());
        }
        p.set_env(Some(env));
    }
    p.set_terminal(Some(a.tty));
    // The size of berth's own terminal when it has one (runc resizes to it once the
    // process runs); else the container process's consoleSize stays, as in runc.
    if let Some(size) = terminal_size().filter(|_| a.tty) {
        p.set_console_size(Some(size));
    }
    if a.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(label) = &a.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if let Some(profile) = &a.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if !a.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add = |set: Option<std::collections::HashSet<Capability>>, c: Capability| {
            let mut s = set.unwrap_or_default();
            s.insert(c);
            Some(s)
        };
        for name in &a.cap {
            let canonical = berth_container::caps::parse_capability(name)
                .map_err(|e| format!("exec --cap: {e}"))?;
            let c: Capability =
                serde_json::from_value(serde_json::Value::String(canonical.to_string()))
                    .map_err(|_| format!("exec --cap: unknown capability {name:?}"))?;
            caps.set_bounding(add(caps.bounding().clone(), c));
            caps.set_effective(add(caps.effective().clone(), c));
            caps.set_permitted(add(caps.permitted().clone(), c));
            // Ambient needs inheritable, which --cap does not set: only when the spec has some (as runc).
            if caps.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
                caps.set_ambient(add(caps.ambient().clone(), c));
            }
        }
        p.set_capabilities(Some(caps));
    }
    let mut by_name = None;
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        match (uid.parse::<u32>(), gid.map(str::parse::<u32>)) {
            (Ok(uid), None) => {
                p.user_mut().set_uid(uid);
            }
            (Ok(uid), Some(Ok(gid))) => {
                p.user_mut().set_uid(uid);
                p.user_mut().set_gid(gid);
            }
            _ if uid.is_empty() || gid.is_some_and(str::is_empty) => {
                return Err(format!("exec --user {u:?}: expected UID[:GID]").into())
            }
            _ => by_name = Some(u.clone()),
        }
    }
    if !a.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&a.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    Ok((p, by_name))
}

/// The caller's terminal size, for the new pty (supervise keeps it in step afterwards).
fn terminal_size() -> Option<oci_spec::runtime::Box> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills the struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(stdin.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } != 0 || ws.ws_row == 0 {
        return None;
    }
    oci_spec::runtime::BoxBuilder::default()
        .height(ws.ws_row as u64)
        .width(ws.ws_col as u64)
        .build()
        .ok()
}
