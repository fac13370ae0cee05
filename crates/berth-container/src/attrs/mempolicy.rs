//! `linux.memoryPolicy`: the NUMA memory policy of the container's processes,
//! set with set_mempolicy(2) by the launched process itself (the policy is a
//! per-thread attribute that fork and execve keep).

use oci_spec::runtime::LinuxMemoryPolicy;
use serde_json::Value;

use super::{cpulist, spec_name};
use crate::{invalid, Error, Result};

/// The modes of set_mempolicy(2) by their runtime-spec names (uapi mempolicy.h values).
pub const MODES: &[(&str, i32)] = &[
    ("MPOL_DEFAULT", 0),
    ("MPOL_PREFERRED", 1),
    ("MPOL_BIND", 2),
    ("MPOL_INTERLEAVE", 3),
    ("MPOL_LOCAL", 4),
    ("MPOL_PREFERRED_MANY", 5),
    ("MPOL_WEIGHTED_INTERLEAVE", 6),
];

/// The mode flags, or'ed into the mode argument.
pub const FLAGS: &[(&str, i32)] = &[
    ("MPOL_F_NUMA_BALANCING", 1 << 13),
    ("MPOL_F_RELATIVE_NODES", 1 << 14),
    ("MPOL_F_STATIC_NODES", 1 << 15),
];

/// What set_mempolicy(2) gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemPolicy {
    /// The mode with its flags.
    pub mode: i32,
    pub nodes: cpulist::IdSet,
}

fn lookup(table: &[(&str, i32)], name: &str) -> Option<i32> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// On the raw JSON, before oci-spec's typed parse (which would refuse an
/// unknown or missing mode with a serde message): runc's messages.
pub(super) fn check_json(mp: &Value) -> Result<()> {
    let mode = mp.get("mode").and_then(Value::as_str).unwrap_or("");
    if lookup(MODES, mode).is_none() {
        return Err(bad_mode(mode));
    }
    for (i, f) in mp
        .get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if f.as_str().and_then(|name| lookup(FLAGS, name)).is_none() {
            return invalid!(
                format!("linux.memoryPolicy.flags[{i}]"),
                f.as_str().map_or_else(|| f.to_string(), str::to_string),
                "invalid memory policy flag"
            );
        }
    }
    Ok(())
}

/// A mode runc does not know, in its words.
fn bad_mode(name: &str) -> Error {
    Error::invalid(
        "linux.memoryPolicy.mode",
        name,
        "invalid memory policy mode",
    )
}

/// Checks the policy as runc does (node count by mode) and builds the call.
pub(super) fn plan(mp: &LinuxMemoryPolicy) -> Result<MemPolicy> {
    let mode_name = spec_name(&mp.mode());
    let mut mode = lookup(MODES, &mode_name).ok_or_else(|| bad_mode(&mode_name))?;
    let text = mp.nodes().as_deref().unwrap_or("");
    let nodes = cpulist::parse(text).map_err(|why| {
        Error::invalid(
            "linux.memoryPolicy.nodes",
            text,
            format!("invalid memory policy nodes: {why}"),
        )
    })?;
    for (i, f) in mp.flags().iter().flatten().enumerate() {
        let name = spec_name(f);
        mode |= lookup(FLAGS, &name).ok_or_else(|| {
            Error::invalid(
                format!("linux.memoryPolicy.flags[{i}]"),
                &name,
                "invalid memory policy flag",
            )
        })?;
    }
    let count = nodes.count();
    match mode_name.as_str() {
        "MPOL_DEFAULT" | "MPOL_LOCAL" if count != 0 => {
            return invalid!(
                "linux.memoryPolicy.nodes",
                text,
                "{mode_name}: memory policy mode requires 0 nodes but got {count}"
            )
        }
        "MPOL_BIND" | "MPOL_INTERLEAVE" | "MPOL_PREFERRED_MANY" | "MPOL_WEIGHTED_INTERLEAVE"
            if count == 0 =>
        {
            return invalid!(
                "linux.memoryPolicy.nodes",
                text,
                "{mode_name}: memory policy mode requires at least one node but got 0"
            )
        }
        // MPOL_PREFERRED takes zero nodes (local allocation) or more.
        _ => {}
    }
    Ok(MemPolicy { mode, nodes })
}

impl MemPolicy {
    pub(super) fn apply(&self) -> Result<()> {
        crate::sys::set_mempolicy(self.mode, &self.nodes.words)
            .map_err(|e| Error::sys("linux.memoryPolicy: set_mempolicy", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<MemPolicy> {
        let v: Value = serde_json::from_str(json).unwrap();
        check_json(&v)?;
        plan(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn modes_flags_and_node_counts() {
        let p = policy(r#"{"mode":"MPOL_BIND","nodes":"0-1","flags":["MPOL_F_STATIC_NODES"]}"#)
            .unwrap();
        assert_eq!(p.mode, 2 | 1 << 15);
        assert_eq!(p.nodes.count(), 2);
        assert_eq!(policy(r#"{"mode":"MPOL_DEFAULT"}"#).unwrap().mode, 0);
        assert!(policy(r#"{"mode":"MPOL_PREFERRED","nodes":""}"#).is_ok());
        for (bad, want) in [
            (
                r#"{}"#,
                "linux.memoryPolicy.mode: invalid memory policy mode",
            ),
            (
                r#"{"mode":"INTERLEAVE","nodes":"0"}"#,
                "linux.memoryPolicy.mode \"INTERLEAVE\": invalid memory policy mode",
            ),
            (
                r#"{"mode":"MPOL_BIND","nodes":"0","flags":["badflag"]}"#,
                "linux.memoryPolicy.flags[0] \"badflag\": invalid memory policy flag",
            ),
            (
                r#"{"mode":"MPOL_DEFAULT","nodes":"0-7"}"#,
                "mode requires 0 nodes but got 8",
            ),
            (r#"{"mode":"MPOL_BIND"}"#, "requires at least one node"),
            (
                r#"{"mode":"MPOL_BIND","nodes":"0-9876543210"}"#,
                "invalid memory policy nodes",
            ),
        ] {
            let e = policy(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn every_mode_and_flag_is_known_to_oci_spec() {
        for (name, _) in MODES.iter().chain(FLAGS) {
            let as_mode: std::result::Result<oci_spec::runtime::MemoryPolicyModeType, _> =
                serde_json::from_value(Value::from(*name));
            let as_flag: std::result::Result<oci_spec::runtime::MemoryPolicyFlagType, _> =
                serde_json::from_value(Value::from(*name));
            assert!(as_mode.is_ok() || as_flag.is_ok(), "{name}");
        }
    }
}
