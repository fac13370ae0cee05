//! `berth pause` / `berth resume` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

pub fn pause(_root: &Root, _id: &str) -> Result<u8> {
    Err("pause: not implemented yet".into())
}

pub fn resume(_root: &Root, _id: &str) -> Result<u8> {
    Err("resume: not implemented yet".into())
}
