//! Seccomp profile files, as `berth spec --security-opt seccomp=FILE` takes
//! them: OCI `linux.seccomp` JSON, or docker's profile format, which adds
//! `archMap` (an architecture with its sub-architectures), `includes` and
//! `excludes` on rules (kept or dropped by the container's capabilities),
//! `comment`, and `name` for a single syscall. The file is untrusted input;
//! its fuzz target is `fuzz/fuzz_targets/seccomp_profile.rs`.
//!
//! As docker reads it: only the `archMap` entry of this machine's architecture
//! is used (docker's default profile lists every architecture docker runs on);
//! a rule is kept when the container has every capability of `includes.caps`
//! and none of `excludes.caps`, and this machine's architecture, by Go's name
//! (`amd64`, `arm64`), is in `includes.arches` and not in `excludes.arches`.
//! `minKernel` is not checked (berth's kernels are newer than any docker names).

use oci_spec::runtime::LinuxSeccomp;
use serde_json::Value;

use super::{arch_name, native, SeccompPlan};
use crate::{Error, Result};

/// This machine's architecture as Go (and so docker's `arches`) names it.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        other => other,
    }
}

/// Parses a profile file's text into `linux.seccomp` for a container with
/// the capabilities `caps` (`CAP_` prefix optional, any case), and compiles
/// it once, so a profile this machine cannot run fails here and not at create.
pub fn parse_profile(text: &str, caps: &[String]) -> Result<LinuxSeccomp> {
    let invalid = |e: &dyn std::fmt::Display| Error::invalid("seccomp profile", "", e.to_string());
    let mut v: Value = serde_json::from_str(text).map_err(|e| invalid(&e))?;
    if let Some(obj) = v.as_object_mut() {
        if let Some(map) = obj.remove("archMap") {
            let native = arch_name(native::ARCH);
            let mut arches = Vec::new();
            for m in map
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m.get("architecture").and_then(Value::as_str) == Some(&native))
            {
                arches.extend(m.get("architecture").cloned());
                arches.extend(
                    m.get("subArchitectures")
                        .and_then(|s| s.as_array())
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
            }
            obj.insert("architectures".into(), Value::Array(arches));
        }
        // Capability names compared in upper case without `CAP_`, on both sides.
        let bare = |s: &str| {
            let u = s.to_ascii_uppercase();
            u.strip_prefix("CAP_").map(str::to_string).unwrap_or(u)
        };
        let held: Vec<String> = caps.iter().map(|c| bare(c)).collect();
        let has = |c: &Value| c.as_str().is_some_and(|c| held.contains(&bare(c)));
        if let Some(calls) = obj.get_mut("syscalls").and_then(|s| s.as_array_mut()) {
            let list = |sc: &Value, p: &str| sc.pointer(p).and_then(Value::as_array).cloned();
            let this_arch = |a: &Value| a.as_str() == Some(go_arch());
            calls.retain(|sc| {
                list(sc, "/includes/caps").is_none_or(|l| l.iter().all(has))
                    && list(sc, "/excludes/caps").is_none_or(|l| !l.iter().any(has))
                    && list(sc, "/includes/arches").is_none_or(|l| l.iter().any(this_arch))
                    && list(sc, "/excludes/arches").is_none_or(|l| !l.iter().any(this_arch))
            });
            for sc in calls.iter_mut() {
                if let Some(o) = sc.as_object_mut() {
                    for k in ["includes", "excludes", "comment"] {
                        o.remove(k);
                    }
                    // docker's single-name form
                    if let Some(n) = o.remove("name") {
                        o.entry("names").or_insert_with(|| Value::Array(vec![n]));
                    }
                }
            }
        }
    }
    let profile: LinuxSeccomp = serde_json::from_value(v).map_err(|e| invalid(&e))?;
    SeccompPlan::new(&profile)?;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Arch, LinuxSeccompAction};

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// The names of every rule, in order.
    fn rules(p: &LinuxSeccomp) -> Vec<Vec<String>> {
        p.syscalls()
            .iter()
            .flatten()
            .map(|s| s.names().clone())
            .collect()
    }

    const DOCKER: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "comment": "always"},
            {"name": "reboot", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["SYS_ADMIN", "cap_net_admin"]}},
            {"names": ["chmod"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_FOWNER"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm", "arm64"]}},
            {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["s390x"]}},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}}
        ]
    }"#;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_native_arch_map_entry_becomes_architectures() {
        let p = parse_profile(DOCKER, &[]).unwrap();
        assert_eq!(
            p.architectures().clone().unwrap(),
            vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(p.default_errno_ret(), Some(1));
        // No entry for this machine: no architectures, which means the native one.
        let p = parse_profile(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_S390X"}]}"#,
            &[],
        )
        .unwrap();
        assert_eq!(p.architectures().clone().unwrap(), vec![]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn rules_are_kept_by_capabilities_and_architecture() {
        // No capabilities: the unconditional rules and those for this architecture.
        let p = parse_profile(DOCKER, &[]).unwrap();
        assert_eq!(
            rules(&p),
            vec![
                vec!["read", "write"],
                vec!["chmod"],
                vec!["arch_prctl"],
                vec!["uname"],
                vec!["ptrace"]
            ]
        );
        // includes needs every cap listed (names compared without CAP_ and case);
        // excludes drops the rule on any cap listed.
        let p = parse_profile(
            DOCKER,
            &caps(&["CAP_SYS_BOOT", "sys_admin", "NET_ADMIN", "CAP_FOWNER"]),
        )
        .unwrap();
        assert_eq!(
            rules(&p),
            vec![
                vec!["read", "write"],
                vec!["reboot"],
                vec!["mount"],
                vec!["arch_prctl"],
                vec!["uname"],
                vec!["ptrace"]
            ]
        );
        // Half of an includes list is not enough.
        let p = parse_profile(DOCKER, &caps(&["CAP_SYS_ADMIN"])).unwrap();
        assert!(!rules(&p).contains(&vec!["mount".to_string()]));
    }

    #[test]
    fn an_oci_profile_passes_through_unchanged() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]
        }"#;
        let p = parse_profile(text, &caps(&["CAP_CHOWN"])).unwrap();
        assert_eq!(p, serde_json::from_str::<LinuxSeccomp>(text).unwrap());
        // And a translated profile, written out as OCI JSON, reads back the same.
        let d = parse_profile(DOCKER, &[]).unwrap();
        let again = parse_profile(&serde_json::to_string(&d).unwrap(), &[]).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn bad_profiles_are_errors() {
        for (text, want) in [
            ("{not json", "key must be a string"),
            (r#"{"syscalls": []}"#, "defaultAction"),
            (r#"{"defaultAction": "SCMP_ACT_NOPE"}"#, "unknown variant"),
            ("[]", "invalid length 0"),
            // Parsed, but it cannot run here: compiling it is part of parsing.
            (
                r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_S390X"]}"#,
                "cannot run on this machine",
            ),
        ] {
            let e = parse_profile(text, &[]).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
