//! `tmpcopyup`: a tmpfs that starts with a copy of the directory it covers
//! (modes and owners kept), so an image's files under a tmpfs destination
//! are not hidden. The directory is opened before the tmpfs goes over it;
//! the copy reads through that fd.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::dir::{Dir, Type};
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fchmodat, fstatat, mkdirat, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};

/// Opens the directory `target` (an O_PATH fd) for reading its entries.
pub(super) fn open_lower(target: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    openat(
        target,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn open_dir(parent: BorrowedFd<'_>, name: &std::ffi::CStr) -> nix::Result<OwnedFd> {
    openat(
        parent,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Copies every entry of directory `from` into directory `to`, recursively.
pub(super) fn copy_tree(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    let mut dir = Dir::openat(
        from,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let st = fstatat(from, name, AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        match entry.file_type() {
            Some(Type::Directory) => {
                mkdirat(to, name, perm)?;
                let (src, dst) = (open_dir(from, name)?, open_dir(to, name)?);
                copy_tree(src.as_fd(), dst.as_fd())?;
            }
            Some(Type::Symlink) => {
                let target = readlinkat(from, name)?;
                symlinkat(target.as_os_str(), to, name)?;
            }
            Some(Type::File) => {
                let src = openat(
                    from,
                    name,
                    OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let dst = openat(
                    to,
                    name,
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC,
                    perm,
                )?;
                std::io::copy(&mut File::from(src), &mut File::from(dst))
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
            }
            // Device nodes, fifos, sockets: recreated; a user namespace may not make devices.
            _ => match mknodat(to, name, kind, perm, st.st_rdev) {
                Ok(()) => {}
                Err(Errno::EPERM) => continue,
                Err(e) => return Err(e),
            },
        }
        fchownat(
            to,
            name,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
        if entry.file_type() != Some(Type::Symlink) {
            // After the chown, which clears set-id bits.
            fchmodat(to, name, perm, FchmodatFlags::FollowSymlink)?;
        }
    }
    Ok(())
}
