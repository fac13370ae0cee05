//! Entering the rootfs: pivot_root(2), or MS_MOVE + chroot with --no-pivot.

use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};

use crate::{Error, Result};

fn dir(p: &Path) -> Result<std::os::fd::OwnedFd> {
    open(
        p,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {}", p.display()), e))
}

pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    let new_root = dir(rootfs)?;
    if no_pivot {
        fchdir(&new_root).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("move {} to /", rootfs.display()), e))?;
        chroot(".").map_err(|e| Error::sys("chroot into the rootfs", e))?;
    } else {
        let old_root = dir(Path::new("/"))?;
        fchdir(&new_root).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
        // Stack the old root on top of the new one, then detach it from there.
        pivot_root(".", ".")
            .map_err(|e| Error::sys(format!("pivot_root into {}", rootfs.display()), e))?;
        fchdir(&old_root).map_err(|e| Error::sys("chdir to the old root", e))?;
        // Whatever the caller did to propagation, the unmount must not reach the host.
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| Error::sys("make the old root a slave", e))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::sys("detach the old root", e))?;
    }
    chdir("/").map_err(|e| Error::sys("chdir /", e))
}
