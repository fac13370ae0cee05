//! `berth update` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

#[derive(clap::Args)]
pub struct UpdateArgs {}

pub fn run(_root: &Root, _a: &UpdateArgs) -> Result<u8> {
    Err("update: not implemented yet".into())
}
