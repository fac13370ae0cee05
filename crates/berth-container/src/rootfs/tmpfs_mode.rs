//! The mode of a tmpfs mounted over a directory the image already has.
//!
//! A tmpfs without `mode=` is 1777 at its root. Over an existing directory
//! that would widen it (a 0710 directory becoming world-writable), so, as
//! runc does, the directory's own mode is passed as `mode=`. A destination
//! berth had to create gets no `mode=`: the tmpfs default stands.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::fstat;

use super::safe_path::{open_in_root, open_or_create, Kind};
use crate::{Error, Result};

/// The destination's fd (created when missing) and the data to mount with.
pub(super) fn target_and_data(
    root: BorrowedFd<'_>,
    typ: &str,
    dest: &Path,
    data: &str,
) -> Result<(OwnedFd, String)> {
    let explicit = data.split(',').any(|d| d.starts_with("mode="));
    if typ != "tmpfs" || explicit {
        return Ok((open_or_create(root, dest, Kind::Dir)?, data.to_string()));
    }
    match open_in_root(root, dest, OFlag::O_PATH) {
        Ok(fd) => {
            let st = fstat(&fd).map_err(|e| Error::sys(format!("stat {}", dest.display()), e))?;
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return Ok((fd, data.to_string()));
            }
            let mode = format!("mode={:o}", st.st_mode & 0o7777);
            let data = if data.is_empty() {
                mode
            } else {
                format!("{data},{mode}")
            };
            Ok((fd, data))
        }
        Err(Errno::ENOENT) => Ok((open_or_create(root, dest, Kind::Dir)?, data.to_string())),
        Err(e) => Err(Error::sys(
            format!("resolve {} inside the rootfs", dest.display()),
            e,
        )),
    }
}
