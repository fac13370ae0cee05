//! The parent <-> init channel: a SOCK_SEQPACKET socketpair, one message per
//! packet (a tag byte and a UTF-8 payload), optionally carrying one fd.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    /// init -> parent: write my uid/gid maps, then reply Continue.
    NeedMaps = 1,
    /// init's first fork -> parent: the pid of the real init (second-fork path).
    Pid,
    /// init -> parent: namespaces and mounts are ready; run createRuntime hooks.
    CreateRuntime,
    /// init -> parent: carries the pty master.
    Console,
    /// init -> parent: set up, waiting for start.
    Ready,
    /// either way: the payload is an error message.
    Failed,
    /// parent -> init: go on (payload: OCI state JSON for hooks, where needed).
    Continue,
    /// init -> parent: carries the SCMP_ACT_NOTIFY listener fd for linux.seccomp.listenerPath.
    SeccompListener,
    /// the exec stage -> parent: the program's execve failed; payload: the errno.
    ExecFailed = crate::exec_stage::EXEC_FAILED_TAG,
}

impl Tag {
    fn from_u8(b: u8) -> Option<Tag> {
        use Tag::*;
        [
            NeedMaps,
            Pid,
            CreateRuntime,
            Console,
            Ready,
            Failed,
            Continue,
            SeccompListener,
            ExecFailed,
        ]
        .into_iter()
        .find(|t| *t as u8 == b)
    }
}

pub struct Channel(OwnedFd);

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("socketpair", e))?;
    Ok((Channel(a), Channel(b)))
}

pub struct Message {
    pub tag: Tag,
    pub payload: String,
    pub fd: Option<OwnedFd>,
}

impl Channel {
    pub fn send(&self, tag: Tag, payload: &str) -> Result<()> {
        self.send_with_fd(tag, payload, None)
    }

    pub fn send_with_fd(&self, tag: Tag, payload: &str, fd: Option<RawFd>) -> Result<()> {
        let head = [tag as u8];
        let iov = [IoSlice::new(&head), IoSlice::new(payload.as_bytes())];
        let fds;
        let cmsg: &[ControlMessage] = match fd {
            Some(f) => {
                fds = [f];
                &[ControlMessage::ScmRights(&fds)]
            }
            None => &[],
        };
        sendmsg::<()>(self.0.as_raw_fd(), &iov, cmsg, MsgFlags::empty(), None)
            .map_err(|e| Error::sys("send to container init", e))?;
        Ok(())
    }

    /// Receives one message; a closed peer is an error naming what was awaited.
    pub fn recv(&self, awaiting: &str) -> Result<Message> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg_buf = nix::cmsg_space!(RawFd);
        let (n, fd) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = loop {
                match recvmsg::<()>(
                    self.0.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg_buf),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => break r.map_err(|e| Error::sys(format!("wait for {awaiting}"), e))?,
                }
            };
            let mut fd = None;
            for c in msg
                .cmsgs()
                .map_err(|e| Error::sys("read control message", e))?
            {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    for (i, f) in fds.into_iter().enumerate() {
                        // SAFETY: the kernel just gave us this fd; we own it now.
                        let owned = unsafe { OwnedFd::from_raw_fd(f) };
                        if i == 0 {
                            fd = Some(owned);
                        }
                    }
                }
            }
            (msg.bytes, fd)
        };
        if n == 0 {
            return Err(Error::Init(format!(
                "container init exited before {awaiting}"
            )));
        }
        let tag = Tag::from_u8(buf[0]).ok_or_else(|| {
            Error::Init(format!(
                "bad message tag {} while waiting for {awaiting}",
                buf[0]
            ))
        })?;
        let payload = match tag {
            // The exec stage sends the errno as 4 raw bytes; it becomes its decimal text.
            Tag::ExecFailed if n == 5 => {
                i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]).to_string()
            }
            _ => String::from_utf8_lossy(&buf[1..n]).into_owned(),
        };
        if tag == Tag::Failed {
            return Err(Error::Init(payload));
        }
        Ok(Message { tag, payload, fd })
    }

    /// Receives a message and checks its tag.
    pub fn expect(&self, tag: Tag, awaiting: &str) -> Result<Message> {
        let m = self.recv(awaiting)?;
        if m.tag != tag {
            return Err(Error::Init(format!(
                "expected {tag:?} while waiting for {awaiting}, got {:?}",
                m.tag
            )));
        }
        Ok(m)
    }
}
