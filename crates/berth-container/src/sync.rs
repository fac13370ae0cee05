//! The transport between the runtime and a process it launches: a
//! SOCK_SEQPACKET socketpair, one packet per message (a tag byte and a body),
//! optionally carrying one fd. What the packets mean is `launch::messages`.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};

use crate::{Error, Result};

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

/// One received packet.
pub struct Packet {
    pub tag: u8,
    pub body: Vec<u8>,
    pub fd: Option<OwnedFd>,
}

impl Channel {
    pub fn send_packet(&self, tag: u8, body: &[u8], fd: Option<RawFd>) -> Result<()> {
        let head = [tag];
        let iov = [IoSlice::new(&head), IoSlice::new(body)];
        let fds;
        let cmsg: &[ControlMessage] = match fd {
            Some(f) => {
                fds = [f];
                &[ControlMessage::ScmRights(&fds)]
            }
            None => &[],
        };
        sendmsg::<()>(self.0.as_raw_fd(), &iov, cmsg, MsgFlags::empty(), None)
            .map_err(|e| Error::sys("send on the launch channel", e))?;
        Ok(())
    }

    /// Receives one packet; None when the peer closed its end (or exec'd,
    /// since the channel is close-on-exec).
    pub fn recv_packet(&self, awaiting: &str) -> Result<Option<Packet>> {
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
            return Ok(None);
        }
        buf.truncate(n);
        let tag = buf.remove(0);
        Ok(Some(Packet { tag, body: buf, fd }))
    }
}
