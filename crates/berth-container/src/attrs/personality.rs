//! `linux.personality`: the execution domain of the container's processes,
//! set with personality(2); execve keeps it, so `uname -m` in a LINUX32
//! container says i686.

use oci_spec::runtime::LinuxPersonality;
use serde_json::Value;

use super::spec_name;
use crate::{Error, Result};

/// The domains the runtime spec names (PER_LINUX, PER_LINUX32 of personality.h).
pub const DOMAINS: &[(&str, libc::c_ulong)] = &[("LINUX", 0x0000), ("LINUX32", 0x0008)];

/// On the raw JSON: an unknown domain gets runc's message.
pub(super) fn check_json(p: &Value) -> Result<()> {
    let domain = p.get("domain").and_then(Value::as_str).unwrap_or("");
    if !DOMAINS.iter().any(|(n, _)| *n == domain) {
        return Err(bad_domain(domain));
    }
    if let Some(flags) = p
        .get("flags")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
    {
        // The spec defines no flags yet; runc ignores them with a warning too.
        log::warn!("linux.personality: ignoring unsupported flags {flags:?}");
    }
    Ok(())
}

pub(super) fn plan(p: &LinuxPersonality) -> Result<libc::c_ulong> {
    let name = spec_name(&p.domain());
    DOMAINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad_domain(&name))
}

/// A domain runc does not know, in its words.
fn bad_domain(name: &str) -> Error {
    Error::invalid(
        "linux.personality.domain",
        name,
        "invalid personality domain",
    )
}

pub(super) fn apply(persona: libc::c_ulong) -> Result<()> {
    crate::sys::set_personality(persona)
        .map_err(|e| Error::sys("linux.personality: personality", e))
}
