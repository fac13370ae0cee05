//! `berth network` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

#[derive(clap::Args)]
pub struct NetworkArgs {}

pub fn run(_root: &Root, _a: &NetworkArgs) -> Result<u8> {
    Err("network: not implemented yet".into())
}
