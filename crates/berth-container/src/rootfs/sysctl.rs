//! linux.sysctl: writes to /proc/sys that provably land on procfs.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use crate::{Error, Result};

/// Check a sysctl key: dotted or slashed names of [A-Za-z0-9_-] components.
pub fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.split(['.', '/']).all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "linux.sysctl",
            key,
            "not a valid sysctl name",
        ))
    }
}

/// Open /proc and check that it is procfs.
pub(super) fn open_proc() -> Result<OwnedFd> {
    let fd = nix::fcntl::open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open /proc", e))?;
    verify_proc(&fd, Path::new("/proc"))?;
    Ok(fd)
}

pub(super) fn verify_proc(fd: &OwnedFd, what: &Path) -> Result<()> {
    let st = fstatfs(fd).map_err(|e| Error::sys(format!("statfs {}", what.display()), e))?;
    if st.filesystem_type() != PROC_SUPER_MAGIC {
        return Err(Error::unsafe_path(
            what,
            "not on procfs; refusing to write to it",
        ));
    }
    Ok(())
}

/// Write every sysctl. The file is opened below /proc without crossing a
/// mount or following a symlink, and fstatfs proves it is procfs before a
/// byte is written (CVE-2025-52881).
pub(super) fn apply(sysctl: &HashMap<String, String>) -> Result<()> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let proc = open_proc()?;
    for (key, value) in sysctl {
        check_key(key)?;
        let rel = format!("sys/{}", key.replace('.', "/"));
        let path = Path::new("/proc").join(&rel);
        let fd = openat2(
            proc.as_fd(),
            rel.as_str(),
            OpenHow::new()
                .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
                .resolve(
                    ResolveFlag::RESOLVE_BENEATH
                        | ResolveFlag::RESOLVE_NO_SYMLINKS
                        | ResolveFlag::RESOLVE_NO_XDEV,
                ),
        )
        .map_err(|e| match e {
            Errno::ENOENT => Error::invalid(
                "linux.sysctl",
                key,
                format!("no such sysctl ({})", path.display()),
            ),
            e => Error::sys(
                format!("open {} for linux.sysctl {key:?}", path.display()),
                e,
            ),
        })?;
        verify_proc(&fd, &path)?;
        let bytes = value.as_bytes();
        let mut written = 0;
        while written < bytes.len() {
            match nix::unistd::write(&fd, &bytes[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(Error::sys(
                        format!(
                            "write {value:?} to {} (linux.sysctl {key:?})",
                            path.display()
                        ),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_key;

    #[test]
    fn keys() {
        assert!(check_key("net.ipv4.ip_forward").is_ok());
        assert!(check_key("net/ipv4/conf/eth0/forwarding").is_ok());
        assert!(check_key("kernel..x").is_err());
        assert!(check_key("../../etc/passwd").is_err());
        assert!(check_key("/kernel/x").is_err());
        assert!(check_key("").is_err());
    }
}
