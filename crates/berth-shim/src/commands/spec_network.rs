//! `berth spec` flags (placeholder until its owner lands it).

use oci_spec::runtime::Spec;

use super::Result;

#[derive(clap::Args)]
pub struct NetworkFlags {}

impl NetworkFlags {
    pub fn apply(&self, _spec: &mut Spec) -> Result<()> {
        Ok(())
    }
}
