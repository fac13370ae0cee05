//! SCMP_ACT_NOTIFY hand-over, shared by init and exec: the container process
//! installs its filter before it reports Ready and sends the listener fd up the
//! launch channel; the runtime passes it to the seccomp agent at `listenerPath`
//! while it still runs, as runc does.

use std::os::fd::{AsFd, OwnedFd};

use oci_spec::runtime::Process;

use crate::launch::messages::{ToChild, ToParent};
use crate::seccomp::SeccompPlan;
use crate::sync::Channel;
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
        chan.tell_parent(ToParent::SeccompListener(fd))?;
        chan.expect_parent(ToChild::ListenerDelivered, "the seccomp agent")?;
    }
    Ok(late)
}

/// Parent side: hands the listener of process `pid` to the agent at `listenerPath`.
pub(crate) fn deliver(
    seccomp: Option<&SeccompPlan>,
    pid: i32,
    state: &serde_json::Value,
    listener: OwnedFd,
) -> Result<()> {
    let plan =
        seccomp.ok_or_else(|| Error::Init("seccomp listener without linux.seccomp".into()))?;
    let path = plan
        .listener_path()
        .ok_or_else(|| Error::missing("linux.seccomp.listenerPath", "SCMP_ACT_NOTIFY is used"))?;
    crate::seccomp::send_listener(listener.as_fd(), path, &plan.listener_payload(pid, state))
}
