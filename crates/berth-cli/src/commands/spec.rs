//! `berth spec`: writes a starting config.json into the bundle. Without
//! docker-run flags it is what `runc spec` writes (runc's docs, tutorials and
//! integration suite start from it and edit it); with any of them it starts
//! from docker's defaults (its capability set and seccomp profile).

use std::path::PathBuf;

use oci_spec::runtime::Spec;

use super::Result;

#[derive(clap::Args)]
#[command(
    after_help = "Without the resource, security or network flags the config is runc's \
(`runc spec`, `runc spec --rootless`). With any of them, or --docker-defaults, it starts \
from docker's defaults: docker's 14 capabilities and its seccomp profile, as `docker run` \
applies them."
)]
pub struct SpecArgs {
    /// Bundle directory to write config.json into
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A config for running without root (user namespace with the caller's ids)
    #[arg(long)]
    pub rootless: bool,
    /// Start from docker's defaults (its capabilities and seccomp profile) even
    /// without other docker-run flags
    #[arg(long = "docker-defaults")]
    pub docker_defaults: bool,
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
        let mut s = Spec::rootless(unsafe { libc::getuid() }, unsafe { libc::getgid() });
        rbind_first(&mut s);
        s
    } else {
        Spec::default()
    };
    spec.set_version("1.2.1".into());
    let docker_flags = a.docker_defaults
        || a.security != Default::default()
        || a.resources != Default::default()
        || a.network != Default::default();
    if !docker_flags {
        runc_defaults(&mut spec)?;
        return Ok(spec);
    }
    spec.set_hostname(Some("berth".into()));
    a.security.apply(&mut spec)?;
    a.resources.apply(&mut spec)?;
    a.network.apply(&mut spec)?;
    Ok(spec)
}

/// runc's rootless /sys bind lists "rbind" before the other options; so does berth,
/// so that the two files read the same.
fn rbind_first(spec: &mut Spec) {
    for m in spec.mounts_mut().iter_mut().flatten() {
        if let Some(opts) = m.options_mut() {
            opts.sort_by_key(|o| o != "rbind");
        }
    }
}

/// What `runc spec` writes where oci-spec's default differs: a terminal, the
/// three capabilities in the bounding, effective and permitted sets only, no
/// seccomp profile, hostname "runc", every device denied, and a cgroup
/// namespace only on a pure cgroup v2 host.
fn runc_defaults(spec: &mut Spec) -> Result<()> {
    use oci_spec::runtime::{
        Capability, LinuxCapabilitiesBuilder, LinuxDeviceCgroupBuilder, LinuxNamespaceType,
    };
    spec.set_hostname(Some("runc".into()));
    spec.set_annotations(None);
    let process = spec.process_mut().get_or_insert_with(Default::default);
    process.set_terminal(Some(true));
    let caps: std::collections::HashSet<Capability> = [
        Capability::AuditWrite,
        Capability::Kill,
        Capability::NetBindService,
    ]
    .into();
    if process.capabilities().is_some() {
        let mut lc = LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps)
            .build()?;
        lc.set_inheritable(None);
        lc.set_ambient(None);
        process.set_capabilities(Some(lc));
    }
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
        if let Some(r) = linux.resources_mut() {
            let deny_all = LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .access("rwm")
                .build()?;
            r.set_devices(Some(vec![deny_all]));
        }
        let pure_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        if let Some(ns) = linux.namespaces_mut() {
            ns.retain(|n| pure_v2 || n.typ() != LinuxNamespaceType::Cgroup);
        }
    }
    Ok(())
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
