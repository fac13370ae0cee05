//! `berth ps` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

#[derive(clap::Args)]
pub struct PsArgs {}

pub fn run(_root: &Root, _a: &PsArgs) -> Result<u8> {
    Err("ps: not implemented yet".into())
}
