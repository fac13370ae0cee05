//! The parent routine: the runtime's half of the conversation in `launch`'s
//! header. Each message from the child gets its one answer; what differs
//! between init and exec is what the runtime does before answering, which a
//! [`Conversation`] supplies.

use std::os::fd::OwnedFd;

use oci_spec::runtime::Process;

use super::messages::{ToChild, ToParent};
use crate::sync::Channel;
use crate::{Error, Result};

/// What the runtime does at each step. A message that a kind never sends
/// keeps the default, which refuses it.
pub(crate) trait Conversation {
    /// Names the child in errors ("container init", "the exec process").
    fn who(&self) -> &'static str;

    /// The child made a user namespace: write its maps.
    fn write_id_maps(&mut self) -> Result<()> {
        Err(self.unexpected("NeedIdMaps"))
    }

    /// The container process is `pid` (the intermediate of a second fork has
    /// already been reaped). Returns the answer that lets the child go on.
    fn pid_known(&mut self, pid: i32) -> Result<ToChild>;

    /// init's mounts are ready: run prestart and createRuntime hooks.
    fn run_create_hooks(&mut self) -> Result<()> {
        Err(self.unexpected("RunCreateHooks"))
    }

    /// init asks for spec mount `index`'s source, opened by the runtime.
    fn mount_source(&mut self, index: usize) -> Result<OwnedFd> {
        Err(self.unexpected(&format!("MountSource({index})")))
    }

    /// The pty master of the child's terminal.
    fn console(&mut self, master: OwnedFd) -> Result<()>;

    /// The SCMP_ACT_NOTIFY listener: hand it to the seccomp agent.
    fn seccomp_listener(&mut self, pid: i32, listener: OwnedFd) -> Result<()>;

    fn unexpected(&self, what: &str) -> Error {
        Error::Init(format!("unexpected {what} from {}", self.who()))
    }
}

/// Walks the conversation until the child is Ready. `first` is the forked
/// child's pid; returns the container process's pid.
pub(crate) fn converse(chan: &Channel, first: i32, c: &mut impl Conversation) -> Result<i32> {
    // Debug lines name runc's step for the same moment in parentheses, so that
    // a log read with runc's words in mind (as its tests do) finds it.
    log::debug!(
        "{}: forked as pid {first}, setting up namespaces (runc: nsexec container setup)",
        c.who()
    );
    let mut pid = None;
    loop {
        let awaiting = if pid.is_none() {
            "the container process's pid"
        } else {
            "the container process to be ready"
        };
        let msg = chan
            .hear_child(awaiting)?
            .ok_or_else(|| Error::Init(format!("{} exited before {awaiting}", c.who())))?;
        match msg {
            ToParent::NeedIdMaps => {
                log::debug!("{}: writing uid_map and gid_map", c.who());
                c.write_id_maps()?;
                chan.tell_child(&ToChild::IdMapsWritten)?;
            }
            ToParent::Pid(reported) => {
                let p = match reported {
                    Some(p) => {
                        // The intermediate process exits right after telling.
                        reap(first);
                        p
                    }
                    None => first,
                };
                pid = Some(p);
                log::debug!(
                    "{}: the container process is pid {p} (runc: child process in init())",
                    c.who()
                );
                let answer = c.pid_known(p)?;
                chan.tell_child(&answer)?;
            }
            ToParent::RunCreateHooks => {
                log::debug!(
                    "{}: mounts done; device rules, prestart and createRuntime hooks",
                    c.who()
                );
                c.run_create_hooks()?;
                chan.tell_child(&ToChild::CreateHooksDone)?;
            }
            ToParent::MountSource(i) => {
                // A failure goes back to init, which reports it as its own.
                let r = c.mount_source(i as usize);
                chan.give_mount_source(&r)?;
            }
            ToParent::Console(master) => c.console(master)?,
            ToParent::SeccompListener(fd) => {
                let p = pid.ok_or_else(|| c.unexpected("SeccompListener before Pid"))?;
                c.seccomp_listener(p, fd)?;
                chan.tell_child(&ToChild::ListenerDelivered)?;
            }
            ToParent::Ready => return pid.ok_or_else(|| c.unexpected("Ready before Pid")),
            ToParent::Failed(why) => return Err(Error::Init(why)),
            ToParent::ExecFailed(_) => return Err(c.unexpected("ExecFailed before Ready")),
        }
    }
}

/// Success is the end of the stream (the exec stage's execve closed the
/// channel); a failed execve of the program is the stage's errno, reported
/// as `NotStarted` in runc's words (`exec /x: no such file or directory`,
/// Go's lower-case errno text); a step that failed before it, as `Failed`.
pub(crate) fn wait_for_execve(chan: &Channel, p: &Process) -> Result<()> {
    match chan.hear_child("the execve of the container's program")? {
        None => Ok(()),
        Some(ToParent::ExecFailed(errno)) => {
            let prog = p
                .args()
                .as_deref()
                .and_then(|a| a.first())
                .map_or("", String::as_str);
            Err(Error::NotStarted(format!(
                "exec {prog}: {}",
                errno.desc().to_ascii_lowercase()
            )))
        }
        Some(ToParent::Failed(why)) => Err(Error::Init(why)),
        Some(other) => Err(Error::Init(format!(
            "unexpected {other:?} while waiting for the program's execve"
        ))),
    }
}

/// Waits for a child of ours, retrying on EINTR.
pub(crate) fn reap(pid: i32) {
    let pid = nix::unistd::Pid::from_raw(pid);
    while let Err(nix::errno::Errno::EINTR) = nix::sys::wait::waitpid(pid, None) {}
}
