//! `berth pause` / `berth resume`: the freezer (v1 freezer.state, v2 cgroup.freeze), with
//! runc's checks and messages (made by `Container::pause`/`resume`).

use berth_container::{Container, Root};

use super::Result;

pub fn pause(root: &Root, id: &str) -> Result<u8> {
    Container::load(root, id)?.pause()?;
    Ok(0)
}

pub fn resume(root: &Root, id: &str) -> Result<u8> {
    Container::load(root, id)?.resume()?;
    Ok(0)
}
