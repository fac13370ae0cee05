//! The typed messages of the launch conversation, one enum per direction,
//! and their encoding on the channel (a tag byte, a body, at most one fd).
//! Each `ToChild` answers exactly one question; the order is in `launch`'s header.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::exec_stage::EXEC_FAILED_TAG;
use crate::sync::Channel;
use crate::{Error, Result};

/// What the launched process tells the runtime.
#[derive(Debug)]
pub(crate) enum ToParent {
    /// init made a user namespace: write its uid/gid maps.
    NeedIdMaps,
    /// The pid of the container process, when it is not the launched child
    /// itself (sent by the intermediate process of a second fork, which then exits).
    Pid(Option<i32>),
    /// init's mounts are ready: run the prestart and createRuntime hooks.
    RunCreateHooks,
    /// The pty master of the process's terminal.
    Console(OwnedFd),
    /// The SCMP_ACT_NOTIFY listener, for the seccomp agent.
    SeccompListener(OwnedFd),
    /// Set up; the next thing is the exec (init: after `start`).
    Ready,
    /// Setup failed; the process exits.
    Failed(String),
    /// Sent by the exec stage: the program's execve failed.
    ExecFailed(Errno),
    /// init needs spec mount N's source opened by the runtime (answered with
    /// [`Channel::give_mount_source`]).
    MountSource(u32),
}

/// What the runtime answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ToChild {
    /// exec: you are in the container's cgroup; join its namespaces.
    InCgroup,
    /// The uid/gid maps are written.
    IdMapsWritten,
    /// init: the pid is recorded, the cgroup, network and oom_score_adj are
    /// set; the body is the OCI state JSON for createContainer/startContainer hooks.
    Setup { state_json: String },
    /// exec: the pid is recorded; go on.
    PidRecorded,
    /// The prestart and createRuntime hooks ran.
    CreateHooksDone,
    /// The listener reached the seccomp agent.
    ListenerDelivered,
}

// ToParent tags. ExecFailed's comes from the exec stage's machine code.
const NEED_ID_MAPS: u8 = 1;
const PID: u8 = 2;
const RUN_CREATE_HOOKS: u8 = 3;
const CONSOLE: u8 = 4;
const SECCOMP_LISTENER: u8 = 5;
const READY: u8 = 6;
const FAILED: u8 = 7;
const MOUNT_SOURCE: u8 = 8;

// ToChild tags.
const IN_CGROUP: u8 = 1;
const ID_MAPS_WRITTEN: u8 = 2;
const SETUP: u8 = 3;
const PID_RECORDED: u8 = 4;
const CREATE_HOOKS_DONE: u8 = 5;
const LISTENER_DELIVERED: u8 = 6;
// The answer to MountSource: the detached mount, or why there is none.
const MOUNT_TREE: u8 = 7;
const MOUNT_TREE_FAILED: u8 = 8;

impl Channel {
    pub(crate) fn tell_parent(&self, m: ToParent) -> Result<()> {
        match m {
            ToParent::NeedIdMaps => self.send_packet(NEED_ID_MAPS, &[], None),
            ToParent::Pid(pid) => {
                let body = pid.map(|p| p.to_le_bytes().to_vec()).unwrap_or_default();
                self.send_packet(PID, &body, None)
            }
            ToParent::RunCreateHooks => self.send_packet(RUN_CREATE_HOOKS, &[], None),
            ToParent::Console(fd) => self.send_packet(CONSOLE, &[], Some(fd.as_raw_fd())),
            ToParent::SeccompListener(fd) => {
                self.send_packet(SECCOMP_LISTENER, &[], Some(fd.as_raw_fd()))
            }
            ToParent::Ready => self.send_packet(READY, &[], None),
            ToParent::Failed(why) => self.send_packet(FAILED, why.as_bytes(), None),
            ToParent::ExecFailed(e) => {
                self.send_packet(EXEC_FAILED_TAG, &(e as i32).to_le_bytes(), None)
            }
            ToParent::MountSource(i) => self.send_packet(MOUNT_SOURCE, &i.to_le_bytes(), None),
        }
    }

    /// The next message from the launched process; None when it is gone
    /// (or exec'd). `Failed` becomes an error.
    pub(crate) fn hear_child(&self, awaiting: &str) -> Result<Option<ToParent>> {
        let Some(p) = self.recv_packet(awaiting)? else {
            return Ok(None);
        };
        let bad = || {
            Error::Init(format!(
                "malformed message {} while waiting for {awaiting}",
                p.tag
            ))
        };
        let with_fd = |fd: Option<OwnedFd>| fd.ok_or_else(bad);
        let i32_body =
            |b: &[u8]| -> Result<i32> { Ok(i32::from_le_bytes(b.try_into().map_err(|_| bad())?)) };
        Ok(Some(match p.tag {
            NEED_ID_MAPS => ToParent::NeedIdMaps,
            PID if p.body.is_empty() => ToParent::Pid(None),
            PID => ToParent::Pid(Some(i32_body(&p.body)?)),
            RUN_CREATE_HOOKS => ToParent::RunCreateHooks,
            CONSOLE => ToParent::Console(with_fd(p.fd)?),
            SECCOMP_LISTENER => ToParent::SeccompListener(with_fd(p.fd)?),
            READY => ToParent::Ready,
            FAILED => return Err(Error::Init(String::from_utf8_lossy(&p.body).into_owned())),
            EXEC_FAILED_TAG => ToParent::ExecFailed(Errno::from_raw(i32_body(&p.body)?)),
            MOUNT_SOURCE => ToParent::MountSource(i32_body(&p.body)? as u32),
            _ => return Err(bad()),
        }))
    }

    pub(crate) fn tell_child(&self, m: &ToChild) -> Result<()> {
        match m {
            ToChild::InCgroup => self.send_packet(IN_CGROUP, &[], None),
            ToChild::IdMapsWritten => self.send_packet(ID_MAPS_WRITTEN, &[], None),
            ToChild::Setup { state_json } => self.send_packet(SETUP, state_json.as_bytes(), None),
            ToChild::PidRecorded => self.send_packet(PID_RECORDED, &[], None),
            ToChild::CreateHooksDone => self.send_packet(CREATE_HOOKS_DONE, &[], None),
            ToChild::ListenerDelivered => self.send_packet(LISTENER_DELIVERED, &[], None),
        }
    }

    /// The runtime's answer to what the child asked (`awaiting` names it).
    pub(crate) fn hear_parent(&self, awaiting: &str) -> Result<ToChild> {
        let p = self
            .recv_packet(awaiting)?
            .ok_or_else(|| Error::Init(format!("the runtime went away before {awaiting}")))?;
        Ok(match p.tag {
            IN_CGROUP => ToChild::InCgroup,
            ID_MAPS_WRITTEN => ToChild::IdMapsWritten,
            SETUP => ToChild::Setup {
                state_json: String::from_utf8_lossy(&p.body).into_owned(),
            },
            PID_RECORDED => ToChild::PidRecorded,
            CREATE_HOOKS_DONE => ToChild::CreateHooksDone,
            LISTENER_DELIVERED => ToChild::ListenerDelivered,
            t => {
                return Err(Error::Init(format!(
                    "bad message {t} while waiting for {awaiting}"
                )))
            }
        })
    }

    /// The runtime's answer to `MountSource`: an fd, not a `ToChild`, since it
    /// carries one (`ToChild` values are compared and cloned).
    pub(crate) fn give_mount_source(&self, r: &Result<OwnedFd>) -> Result<()> {
        match r {
            Ok(fd) => self.send_packet(MOUNT_TREE, &[], Some(fd.as_raw_fd())),
            Err(e) => self.send_packet(MOUNT_TREE_FAILED, e.to_message().as_bytes(), None),
        }
    }

    /// init's side of `MountSource`.
    pub(crate) fn take_mount_source(&self, index: u32) -> Result<OwnedFd> {
        self.tell_parent(ToParent::MountSource(index))?;
        let awaiting = "a bind source from the runtime";
        let p = self
            .recv_packet(awaiting)?
            .ok_or_else(|| Error::Init(format!("the runtime went away before {awaiting}")))?;
        match (p.tag, p.fd) {
            (MOUNT_TREE, Some(fd)) => Ok(fd),
            (MOUNT_TREE_FAILED, _) => {
                Err(Error::Init(String::from_utf8_lossy(&p.body).into_owned()))
            }
            (t, _) => Err(Error::Init(format!(
                "bad message {t} while waiting for {awaiting}"
            ))),
        }
    }

    /// Waits for exactly `want` (a message without a body).
    pub(crate) fn expect_parent(&self, want: ToChild, awaiting: &str) -> Result<()> {
        match self.hear_parent(awaiting)? {
            got if got == want => Ok(()),
            got => Err(Error::Init(format!(
                "expected {want:?} while waiting for {awaiting}, got {got:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_survives_the_channel() {
        let (a, b) = crate::sync::pair().unwrap();
        for m in [
            ToChild::InCgroup,
            ToChild::IdMapsWritten,
            ToChild::Setup {
                state_json: "{\"id\":\"x\"}".into(),
            },
            ToChild::PidRecorded,
            ToChild::CreateHooksDone,
            ToChild::ListenerDelivered,
        ] {
            a.tell_child(&m).unwrap();
            assert_eq!(b.hear_parent("test").unwrap(), m);
        }
        b.tell_parent(ToParent::Pid(Some(4242))).unwrap();
        assert!(matches!(
            a.hear_child("t").unwrap(),
            Some(ToParent::Pid(Some(4242)))
        ));
        b.tell_parent(ToParent::Pid(None)).unwrap();
        assert!(matches!(
            a.hear_child("t").unwrap(),
            Some(ToParent::Pid(None))
        ));
        b.tell_parent(ToParent::ExecFailed(Errno::ENOEXEC)).unwrap();
        assert!(matches!(
            a.hear_child("t").unwrap(),
            Some(ToParent::ExecFailed(Errno::ENOEXEC))
        ));
        b.tell_parent(ToParent::MountSource(7)).unwrap();
        assert!(matches!(
            a.hear_child("t").unwrap(),
            Some(ToParent::MountSource(7))
        ));
        a.give_mount_source(&Err(Error::Init("no such source".into())))
            .unwrap();
        // take_mount_source asks first; the answer is already queued.
        let err = b.take_mount_source(7).unwrap_err().to_string();
        assert!(err.contains("no such source"), "{err}");
        assert!(matches!(
            a.hear_child("t").unwrap(),
            Some(ToParent::MountSource(7))
        ));
        b.tell_parent(ToParent::Failed("boom".into())).unwrap();
        assert!(a.hear_child("t").unwrap_err().to_string().contains("boom"));
        drop(b);
        assert!(a.hear_child("t").unwrap().is_none());
    }
}
