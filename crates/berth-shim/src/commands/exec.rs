//! `berth exec` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

#[derive(clap::Args)]
pub struct ExecArgs {}

pub fn run(_root: &Root, _a: &ExecArgs) -> Result<u8> {
    Err("exec: not implemented yet".into())
}
