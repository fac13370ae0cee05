//! Which per-mount flags a bind mount ends up with, as runc and mount(8)
//! decide it.
//!
//! - No flag option at all (`bind`, maybe with propagation): the clone keeps
//!   every flag of its source.
//! - Any flag option: ro/nosuid/nodev/noexec/nosymfollow become exactly what
//!   was asked; the atime settings are kept unless an atime mode (`noatime`,
//!   `relatime`, `strictatime`) or `nodiratime` is asked for, which replaces
//!   them. Clearing options such as `atime` or `norelatime` alone change
//!   nothing, as with mount(8).
//! - In a user namespace the kernel locks ro, nosuid, nodev, noexec and the
//!   atime settings of mounts inherited from a more privileged namespace.
//!   Those the source has are kept unless the config clears them by name, in
//!   which case mount_setattr(2) fails with EPERM, as it should.

use nix::sys::statvfs::{fstatvfs, FsFlags};
use std::os::fd::BorrowedFd;

use super::mount_options::MountOptions;

const PLAIN: u64 = libc::MOUNT_ATTR_RDONLY
    | libc::MOUNT_ATTR_NOSUID
    | libc::MOUNT_ATTR_NODEV
    | libc::MOUNT_ATTR_NOEXEC
    | libc::MOUNT_ATTR_NOSYMFOLLOW;
const LOCKABLE: u64 = libc::MOUNT_ATTR_RDONLY
    | libc::MOUNT_ATTR_NOSUID
    | libc::MOUNT_ATTR_NODEV
    | libc::MOUNT_ATTR_NOEXEC;
const ATIME: u64 = libc::MOUNT_ATTR__ATIME;

/// The lockable flags the mount at `fd` has now, as MOUNT_ATTR_* bits.
pub(super) fn current(fd: BorrowedFd<'_>) -> nix::Result<u64> {
    let f = fstatvfs(fd)?.flags();
    let mut attrs = 0;
    for (st, attr) in [
        (FsFlags::ST_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (FsFlags::ST_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (FsFlags::ST_NODEV, libc::MOUNT_ATTR_NODEV),
        (FsFlags::ST_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
    ] {
        if f.contains(st) {
            attrs |= attr;
        }
    }
    Ok(attrs)
}

/// (set, clear) for mount_setattr(2) on the top mount of a bind, or None
/// when it keeps its source's flags. `source` is [`current`] of the clone.
pub(super) fn attrs(o: &MountOptions, source: u64, in_user_ns: bool) -> Option<(u64, u64)> {
    if o.attr_set == 0 && o.attr_clr == 0 {
        return None;
    }
    let mut set = o.attr_set & PLAIN;
    let mut clr = PLAIN & !set;
    if in_user_ns {
        let keep = source & LOCKABLE & !o.attr_clr;
        set |= keep;
        clr &= !keep;
    }
    // The parser marks every atime mode with a clear of the whole atime field.
    let atime_mode = o.attr_clr & ATIME != 0;
    if atime_mode || o.attr_set & libc::MOUNT_ATTR_NODIRATIME != 0 {
        set |= o.attr_set & (ATIME | libc::MOUNT_ATTR_NODIRATIME);
        clr |= ATIME;
        if o.attr_set & libc::MOUNT_ATTR_NODIRATIME == 0 {
            clr |= libc::MOUNT_ATTR_NODIRATIME;
        }
    }
    (set != 0 || clr != 0).then_some((set, clr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rootfs::mount_options::parse;
    use libc::{
        MOUNT_ATTR_NOATIME as NOATIME, MOUNT_ATTR_NODEV as NODEV,
        MOUNT_ATTR_NODIRATIME as NODIRATIME, MOUNT_ATTR_NOEXEC as NOEXEC,
        MOUNT_ATTR_NOSUID as NOSUID, MOUNT_ATTR_RDONLY as RO, MOUNT_ATTR_STRICTATIME as STRICT,
    };

    fn a(opts: &[&str], source: u64, userns: bool) -> Option<(u64, u64)> {
        let o: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        attrs(&parse(None, &o).unwrap(), source, userns)
    }

    #[test]
    fn bare_bind_keeps_everything() {
        assert_eq!(a(&["bind"], RO | NOEXEC, false), None);
        assert_eq!(a(&["rbind", "rprivate"], RO, true), None);
        // A lone clear of an atime mode changes nothing either.
        assert_eq!(a(&["bind", "norelatime"], 0, false), None);
    }

    #[test]
    fn any_flag_makes_the_rest_exact_but_keeps_atime() {
        let (set, clr) = a(&["bind", "dev"], RO | NOEXEC, false).unwrap();
        assert_eq!(set, 0);
        assert_eq!(clr, PLAIN);
        let (set, clr) = a(&["bind", "ro"], NOSUID | NODEV | NOEXEC, false).unwrap();
        assert_eq!(set, RO);
        assert_eq!(clr & ATIME, 0);
        assert_eq!(clr, PLAIN & !RO);
    }

    #[test]
    fn user_namespace_keeps_locked_flags_unless_cleared_by_name() {
        let (set, clr) = a(&["bind", "dev"], RO | NOEXEC, true).unwrap();
        assert_eq!(set, RO | NOEXEC);
        assert_eq!(clr, PLAIN & !(RO | NOEXEC));
        // `rw` names the locked ro: it is cleared, and the kernel refuses.
        let (set, clr) = a(&["bind", "rw", "nosuid"], RO, true).unwrap();
        assert_eq!(set, NOSUID);
        assert_ne!(clr & RO, 0);
    }

    #[test]
    fn atime_modes_replace_the_atime_settings() {
        let (set, clr) = a(&["bind", "nodiratime"], 0, false).unwrap();
        assert_eq!(set, NODIRATIME);
        assert_eq!(clr & ATIME, ATIME);
        let (set, clr) = a(&["bind", "strictatime"], 0, false).unwrap();
        assert_eq!(set, STRICT);
        assert_ne!(clr & NODIRATIME, 0);
        let (set, _) = a(&["bind", "noatime", "nodiratime"], 0, false).unwrap();
        assert_eq!(set, NOATIME | NODIRATIME);
        // relatime is the value 0 of the atime field: cleared, nothing set.
        let (set, clr) = a(&["bind", "relatime"], 0, false).unwrap();
        assert_eq!(set & ATIME, 0);
        assert_eq!(clr & ATIME, ATIME);
    }
}
