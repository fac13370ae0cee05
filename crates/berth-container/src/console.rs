//! The container's terminal: a pty made inside the container (so the slave
//! lives on the container's devpts), whose master goes to the caller either
//! over `--console-socket` or back to `berth run`, which proxies it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use crate::{Error, Result};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub slave_path: PathBuf,
}

/// Opens a new pty through the container's /dev/ptmx (call after pivot_root).
pub fn open_pty(size: Option<(u16, u16)>) -> Result<Pty> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| Error::sys("open /dev/ptmx", e))?;
    nix::pty::unlockpt(&master).map_err(|e| Error::sys("unlockpt", e))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| Error::sys("ptsname", e))?;
    let slave_path = PathBuf::from(name);
    let slave: OwnedFd = nix::fcntl::open(
        &slave_path,
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {}", slave_path.display()), e))?;
    // As runc: no "\n" -> "\r\n" translation, so a program's output reads
    // the same through the pty as through a pipe.
    let mut t = nix::sys::termios::tcgetattr(&slave).map_err(|e| Error::sys("tcgetattr", e))?;
    t.output_flags.remove(nix::sys::termios::OutputFlags::ONLCR);
    nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &t)
        .map_err(|e| Error::sys("tcsetattr", e))?;
    if let Some((rows, cols)) = size {
        set_size(slave.as_raw_fd(), rows, cols)?;
    }
    let master_fd = master.as_raw_fd();
    // SAFETY: we take ownership of the master fd out of PtyMaster.
    let master = unsafe { OwnedFd::from_raw_fd(nix::libc::dup(master_fd)) };
    Ok(Pty {
        master,
        slave,
        slave_path,
    })
}

pub fn set_size(fd: RawFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize struct.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(Error::sys("set terminal size", nix::errno::Errno::last()));
    }
    Ok(())
}

/// Makes the slave the calling process's stdio and controlling terminal.
pub fn attach_stdio(slave: &OwnedFd) -> Result<()> {
    for target in 0..3 {
        // SAFETY: dup2 onto stdio slots we own.
        if unsafe { libc::dup2(slave.as_raw_fd(), target) } < 0 {
            return Err(Error::sys("dup2 console", nix::errno::Errno::last()));
        }
    }
    // SAFETY: TIOCSCTTY with arg 0 on a tty we just made our stdin.
    if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys(
            "set controlling terminal",
            nix::errno::Errno::last(),
        ));
    }
    Ok(())
}

/// Sends the pty master over the unix socket at `socket`, as runc does.
pub fn send_to_socket(socket: &Path, master: RawFd) -> Result<()> {
    crate::fd_socket::send(socket, "/dev/ptmx", master, "console")
}
