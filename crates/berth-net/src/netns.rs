//! Entering another network namespace just long enough to open a netlink
//! socket there. Only the calling thread moves (network namespaces are
//! per-thread) and it is moved back before returning.

use std::fs::File;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

use crate::{Error, Result};

const SELF_NETNS: &str = "/proc/thread-self/ns/net";

/// Opens a network namespace file (`/proc/<pid>/ns/net` or a bind mount of one).
pub fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io("open network namespace", path, e))
}

/// Runs `f` with the calling thread inside the namespace at `path`, then
/// returns the thread to the namespace it was in.
pub fn run_in<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
    let own =
        File::open(SELF_NETNS).map_err(|e| Error::io("open network namespace", SELF_NETNS, e))?;
    let target = open(path)?;
    setns(&target, CloneFlags::CLONE_NEWNET).map_err(|source| Error::Netns {
        op: "enter",
        path: path.to_path_buf(),
        source,
    })?;
    let out = f();
    setns(&own, CloneFlags::CLONE_NEWNET).map_err(|source| Error::Netns {
        op: "return to the caller's namespace from",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(out)
}
