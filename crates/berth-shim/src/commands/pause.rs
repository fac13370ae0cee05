//! `berth pause` / `berth resume`: the freezer (v1 freezer.state, v2 cgroup.freeze), with
//! runc's checks and messages.

use berth_container::state::Lock;
use berth_container::{Root, Status};

use super::Result;

pub fn pause(root: &Root, id: &str) -> Result<u8> {
    let lock = Lock::existing(root, id)?;
    let saved = lock.load(id)?;
    match saved.status(root) {
        Status::Running | Status::Created => {}
        // runc answers the same for a paused container.
        _ => return Err("container not running".into()),
    }
    saved.cgroup.freeze()?;
    Ok(0)
}

pub fn resume(root: &Root, id: &str) -> Result<u8> {
    let lock = Lock::existing(root, id)?;
    let saved = lock.load(id)?;
    if saved.status(root) != Status::Paused {
        return Err("container not paused".into());
    }
    saved.cgroup.thaw()?;
    Ok(0)
}
