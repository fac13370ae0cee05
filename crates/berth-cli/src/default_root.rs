//! Where container state lives when `--root` is not given, chosen as runc chooses:
//! root uses /run/berth; any other user, who cannot write there, uses
//! `$XDG_RUNTIME_DIR/berth` (its private, per-login tmpfs) when that is set, and so
//! does root of a user namespace when that directory is its own (a rootless engine's).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;

const SYSTEM_ROOT: &str = "/run/berth";

pub fn default_root() -> PathBuf {
    // SAFETY: geteuid has no failure mode.
    let root = unsafe { libc::geteuid() } == 0;
    let mine = |dir: &std::ffi::OsStr| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir).is_ok_and(|m| m.uid() == 0) && berth_container::in_user_namespace()
    };
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if !root || mine(&dir) => {
            let path = PathBuf::from(dir).join("berth");
            keep_from_cleaners(&path);
            path
        }
        _ => PathBuf::from(SYSTEM_ROOT),
    }
}

/// Makes the per-user root private and sticky, as runc does with its own: cleaners
/// of XDG_RUNTIME_DIR (systemd-tmpfiles' age rule) skip sticky entries. Failures
/// are left to the command, which reports the path when it needs it.
fn keep_from_cleaners(path: &std::path::Path) {
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path);
    if let Ok(m) = path.metadata() {
        if m.permissions().mode() & 0o1000 == 0 {
            let _ = std::fs::set_permissions(
                path,
                std::fs::Permissions::from_mode(m.permissions().mode() & 0o7777 | 0o1000),
            );
        }
    }
}
