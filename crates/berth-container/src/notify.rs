//! SCMP_ACT_NOTIFY hand-over, shared by init and exec: the container process
//! installs its filter before it reports Ready and sends the listener fd up the
//! sync channel; the runtime passes it to the seccomp agent at `listenerPath`
//! while it still runs, as runc does.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use oci_spec::runtime::Process;

use crate::seccomp::SeccompPlan;
use crate::sync::{Channel, Tag};
use crate::{Error, Result};

/// Child side, after `become_user` (which returns a listener when it installed
/// the filter early). Returns the plan still to install right before execve.
pub(crate) fn send_listener<'a>(
    p: &Process,
    seccomp: Option<&'a SeccompPlan>,
    listener: Option<OwnedFd>,
    chan: &Channel,
) -> Result<Option<&'a SeccompPlan>> {
    let (listener, late) = match seccomp {
        Some(s) if s.needs_notify() && p.no_new_privileges().unwrap_or(false) => {
            (s.install()?, None)
        }
        Some(s) if s.needs_notify() => (listener, None),
        other => (listener, other),
    };
    if let Some(fd) = listener {
        chan.send_with_fd(Tag::SeccompListener, "", Some(fd.as_raw_fd()))?;
        chan.expect(Tag::Continue, "the seccomp agent")?;
    }
    Ok(late)
}

/// Parent side: waits for Ready, handing a listener that arrives first to the agent.
pub(crate) fn expect_ready(
    chan: &Channel,
    seccomp: Option<&SeccompPlan>,
    pid: i32,
    state: &serde_json::Value,
    who: &str,
) -> Result<()> {
    let mut msg = chan.recv(who)?;
    if msg.tag == Tag::SeccompListener {
        let fd = msg
            .fd
            .take()
            .ok_or_else(|| Error::Init("seccomp listener message carried no fd".into()))?;
        let plan =
            seccomp.ok_or_else(|| Error::Init("seccomp listener without linux.seccomp".into()))?;
        let path = plan.listener_path().ok_or_else(|| {
            Error::Invalid(
                "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used".into(),
            )
        })?;
        crate::seccomp::send_listener(fd.as_fd(), path, &plan.listener_payload(pid, state))?;
        drop(fd);
        chan.send(Tag::Continue, "")?;
        msg = chan.recv(who)?;
    }
    if msg.tag != Tag::Ready {
        return Err(Error::Init(format!(
            "expected Ready while waiting for {who}, got {:?}",
            msg.tag
        )));
    }
    Ok(())
}
