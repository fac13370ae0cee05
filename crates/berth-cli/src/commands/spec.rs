//! `berth spec`: writes a starting config.json into the bundle, like `runc spec`.

use std::path::PathBuf;

use oci_spec::runtime::Spec;

use super::Result;

#[derive(clap::Args)]
pub struct SpecArgs {
    /// Bundle directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for running without root (user namespace with the caller's ids)
    #[arg(long)]
    pub rootless: bool,
    #[command(flatten)]
    pub resources: super::spec_resources::ResourceFlags,
    #[command(flatten)]
    pub security: super::spec_security::SecurityFlags,
    #[command(flatten)]
    pub network: super::spec_network::NetworkFlags,
}

pub fn build(a: &SpecArgs) -> Result<Spec> {
    let mut spec = if a.rootless {
        // SAFETY: getuid/getgid cannot fail.
        Spec::rootless(unsafe { libc::getuid() }, unsafe { libc::getgid() })
    } else {
        Spec::default()
    };
    spec.set_version("1.2.1".into());
    spec.set_hostname(Some("berth".into()));
    a.security.apply(&mut spec)?;
    a.resources.apply(&mut spec)?;
    a.network.apply(&mut spec)?;
    Ok(spec)
}

pub fn run(a: &SpecArgs) -> Result<u8> {
    let path = a.bundle.join("config.json");
    if path.exists() {
        return Err(format!("File {} exists. Remove it first", path.display()).into());
    }
    let spec = build(a)?;
    let json = serde_json::to_string_pretty(&spec)?;
    std::fs::write(&path, json + "\n").map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(0)
}
