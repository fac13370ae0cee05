//! Kernel notifications of OOM events in a memory cgroup, as a file descriptor
//! that becomes readable: v1 registers an eventfd for `memory.oom_control`
//! through `cgroup.event_control`; v2 watches `memory.events` with inotify
//! (the kernel signals a modification when any of its counters changes).
//! A wake-up says "look again", not "one OOM kill": callers compare
//! `Manager::oom_kill_count` before and after.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::Version;

/// A readable-on-event fd for one memory cgroup.
#[derive(Debug)]
pub struct OomWatch {
    fd: OwnedFd,
    version: Version,
    /// v1: the memory.oom_control file the eventfd is registered for; it must
    /// stay open for as long as the registration is wanted.
    _control: Option<File>,
}

fn notify_err(op: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Notify {
        op,
        path: path.to_path_buf(),
        source,
    }
}

fn last_err(op: &'static str, path: &Path) -> Error {
    notify_err(op, path, io::Error::last_os_error())
}

impl OomWatch {
    /// Starts watching the memory cgroup at `dir`.
    pub(crate) fn new(version: Version, dir: &Path) -> Result<OomWatch> {
        match version {
            Version::V1 => {
                let control_path = dir.join("memory.oom_control");
                let control =
                    File::open(&control_path).map_err(|e| notify_err("open", &control_path, e))?;
                let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
                if efd < 0 {
                    return Err(last_err("eventfd for", &control_path));
                }
                let fd = unsafe { OwnedFd::from_raw_fd(efd) };
                let register = dir.join("cgroup.event_control");
                let line = format!("{} {}", fd.as_raw_fd(), control.as_raw_fd());
                std::fs::write(&register, line)
                    .map_err(|e| notify_err("registering an eventfd in", &register, e))?;
                Ok(OomWatch {
                    fd,
                    version,
                    _control: Some(control),
                })
            }
            Version::V2 => {
                let events = dir.join("memory.events");
                let ifd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
                if ifd < 0 {
                    return Err(last_err("inotify for", &events));
                }
                let fd = unsafe { OwnedFd::from_raw_fd(ifd) };
                let c = std::ffi::CString::new(events.as_os_str().as_encoded_bytes())
                    .map_err(|e| notify_err("watching", &events, io::Error::other(e)))?;
                let wd = unsafe { libc::inotify_add_watch(ifd, c.as_ptr(), libc::IN_MODIFY) };
                if wd < 0 {
                    return Err(last_err("inotify_add_watch", &events));
                }
                Ok(OomWatch {
                    fd,
                    version,
                    _control: None,
                })
            }
        }
    }

    /// Consumes pending notifications; true if there were any. Non-blocking:
    /// poll the fd (it is `AsFd`) to wait.
    pub fn drain(&self) -> bool {
        let mut buf = [0u8; 4096];
        let want = match self.version {
            Version::V1 => 8, // an eventfd reads as one 8-byte counter
            Version::V2 => buf.len(),
        };
        let mut any = false;
        loop {
            // SAFETY: reads into a buffer of at least `want` bytes.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), want) };
            if n <= 0 {
                return any;
            }
            any = true;
        }
    }
}

impl AsFd for OomWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
