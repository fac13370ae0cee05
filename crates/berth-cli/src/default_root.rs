//! Where container state lives when `--root` is not given, chosen as runc chooses:
//! root uses /run/berth; any other user, who cannot write there, uses
//! `$XDG_RUNTIME_DIR/berth` (its private, per-login tmpfs) when that is set.

use std::path::PathBuf;

const SYSTEM_ROOT: &str = "/run/berth";

pub fn default_root() -> PathBuf {
    // SAFETY: geteuid has no failure mode.
    let root = unsafe { libc::geteuid() } == 0;
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) if !root => PathBuf::from(dir).join("berth"),
        _ => PathBuf::from(SYSTEM_ROOT),
    }
}
