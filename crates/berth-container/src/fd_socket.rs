//! Handing an fd to a unix socket the caller names, as runc's
//! `--console-socket` and `--pidfd-socket` do: one message whose data is a
//! name and whose SCM_RIGHTS carries the fd (runc's contrib tools `recvtty`
//! and `pidfd-kill` read exactly that).

use std::io::IoSlice;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::{Error, Result};

/// Connects to `socket` and sends `fd` with `name`; `what` names the fd in errors
/// (`console` for `--console-socket`, `pidfd` for `--pidfd-socket`).
pub fn send(socket: &Path, name: &str, fd: RawFd, what: &str) -> Result<()> {
    let stream = UnixStream::connect(socket).map_err(|e| {
        Error::invalid(
            format!("--{what}-socket"),
            socket.display(),
            format!("connect: {e}"),
        )
    })?;
    let iov = [IoSlice::new(name.as_bytes())];
    let fds = [fd];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::sys(format!("send {what} to {}", socket.display()), e))?;
    Ok(())
}

/// `--pidfd-socket`: a pidfd of the container process `pid`.
pub fn send_pidfd(socket: &Path, pid: i32) -> Result<()> {
    let pidfd = crate::sys::pidfd_open(pid)
        .map_err(|e| Error::sys(format!("pidfd_open({pid}) for --pidfd-socket"), e))?;
    send(socket, "pidfd", pidfd.as_raw_fd(), "pidfd")
}
