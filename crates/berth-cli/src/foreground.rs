//! `berth run` in the foreground: start the container, forward signals to
//! its init, proxy its terminal when it has one, and exit with its status.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use berth_container::{CreateOptions, Root};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::commands::Result;

/// How `berth run` behaves around the container.
pub struct Mode {
    /// `--detach`: return once the container runs.
    pub detach: bool,
    /// `--keep`: leave the exited container (state and cgroup) for `delete`.
    pub keep: bool,
    /// Not `--no-subreaper`: while in the foreground, become the child
    /// subreaper, so processes of the container orphaned outside a pid
    /// namespace of its own are reparented to us and reaped (as runc).
    pub subreaper: bool,
}

pub fn run(root: &Root, opts: &CreateOptions, mode: Mode) -> Result<u8> {
    let Mode {
        detach,
        keep,
        subreaper,
    } = mode;
    if subreaper && !detach {
        // As runc, a failure is only worth a warning: the container still runs.
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            log::warn!("prctl(PR_SET_CHILD_SUBREAPER): {e}");
        }
    }
    let created = berth_container::create(root, opts)?;
    if let Err(e) = berth_container::start(root, &opts.id) {
        let _ = berth_container::delete(root, &opts.id, true);
        return Err(e.into());
    }
    if detach {
        return Ok(0);
    }
    match created.wait_for_execve(&mut std::io::stdout()) {
        Ok(()) => {}
        // As runc's init reports it: the container's own one line, exit 255.
        Err(berth_container::Error::NotStarted(msg)) => {
            if let Some(m) = &created.console {
                drain(m);
            }
            eprintln!("{msg}");
            if !keep {
                berth_container::delete(root, &opts.id, true)?;
            }
            return Ok(255);
        }
        Err(e) => {
            if let Some(m) = &created.console {
                drain(m);
            }
            let _ = berth_container::delete(root, &opts.id, true);
            return Err(e.into());
        }
    }
    let code = supervise(created.saved.pid(), created.console);
    if !keep {
        berth_container::delete(root, &opts.id, true)?;
    }
    code
}

/// Waits for init, forwarding signals and the terminal; returns its exit code (128+signal if killed).
pub(crate) fn supervise(pid: i32, console: Option<OwnedFd>) -> Result<u8> {
    let init = Pid::from_raw(pid);
    let mut mask = SigSet::all();
    mask.remove(Signal::SIGKILL);
    mask.remove(Signal::SIGSTOP);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)?;
    let _raw = console.as_ref().and_then(|_| RawTerminal::enter());
    if let Some(m) = &console {
        resize(m.as_fd());
    }
    let stdin = std::io::stdin();
    let mut stdin_open = console.is_some();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(code) = reap(init)? {
            if let Some(m) = &console {
                drain(m);
            }
            return Ok(code);
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(m) = &console {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if stdin_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r?,
        };
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        if ready[0] {
            if let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                if sig == libc::SIGWINCH {
                    if let Some(m) = &console {
                        resize(m.as_fd());
                    }
                } else if sig != libc::SIGCHLD && sig != libc::SIGURG {
                    // SAFETY: plain kill(2) of our own child.
                    unsafe { libc::kill(pid, sig) };
                }
            }
        }
        if let Some(m) = &console {
            if ready.get(1) == Some(&true) {
                match nix::unistd::read(m, &mut buf) {
                    Ok(n) if n > 0 => {
                        let _ = std::io::stdout().write_all(&buf[..n]);
                        let _ = std::io::stdout().flush();
                    }
                    _ => {}
                }
            }
            if ready.get(2) == Some(&true) {
                match stdin.lock().read(&mut buf) {
                    Ok(0) | Err(_) => stdin_open = false,
                    Ok(n) => {
                        let _ = nix::unistd::write(m, &buf[..n]);
                    }
                }
            }
        }
    }
}

fn reap(init: Pid) -> Result<Option<u8>> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == init => return Ok(Some(code as u8)),
            Ok(WaitStatus::Signaled(p, sig, _)) if p == init => return Ok(Some(128 + sig as u8)),
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(None),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Copies what is left in the pty after init exited.
fn drain(master: &OwnedFd) {
    let _ = nix::fcntl::fcntl(
        master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    let mut buf = [0u8; 8192];
    while let Ok(n) = nix::unistd::read(master, &mut buf) {
        if n == 0 {
            break;
        }
        let _ = std::io::stdout().write_all(&buf[..n]);
    }
    let _ = std::io::stdout().flush();
}

fn resize(master: BorrowedFd) {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the struct; TIOCSWINSZ reads it.
    unsafe {
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Puts the caller's terminal in raw mode while the container owns it.
struct RawTerminal(termios::Termios);

impl RawTerminal {
    fn enter() -> Option<RawTerminal> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), termios::SetArg::TCSANOW, &raw).ok()?;
        Some(RawTerminal(saved))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), termios::SetArg::TCSANOW, &self.0);
    }
}
