//! `berth events` (placeholder until its owner lands it).

use berth_container::Root;

use super::Result;

#[derive(clap::Args)]
pub struct EventsArgs {}

pub fn run(_root: &Root, _a: &EventsArgs) -> Result<u8> {
    Err("events: not implemented yet".into())
}
