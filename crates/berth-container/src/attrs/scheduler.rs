//! `process.scheduler`: the scheduling policy and parameters of the
//! container's process, set with sched_setattr(2) before the caller's
//! capabilities are dropped (a real-time or deadline policy needs CAP_SYS_NICE).

use oci_spec::runtime::{LinuxSchedulerFlag, Scheduler};
use serde_json::Value;

use super::spec_name;
use crate::{invalid, Error, Result};

/// The policies by their runtime-spec names (uapi sched.h values).
pub const POLICIES: &[(&str, u32)] = &[
    ("SCHED_OTHER", 0),
    ("SCHED_FIFO", 1),
    ("SCHED_RR", 2),
    ("SCHED_BATCH", 3),
    ("SCHED_ISO", 4),
    ("SCHED_IDLE", 5),
    ("SCHED_DEADLINE", 6),
];

/// The flags by their runtime-spec names, with their bit and oci-spec's variant
/// (whose serde names differ from the spec's: "SCHED_RESET_ON_FORK").
pub const FLAGS: &[(&str, u64, LinuxSchedulerFlag)] = &[
    (
        "SCHED_FLAG_RESET_ON_FORK",
        0x01,
        LinuxSchedulerFlag::SchedResetOnFork,
    ),
    (
        "SCHED_FLAG_RECLAIM",
        0x02,
        LinuxSchedulerFlag::SchedFlagReclaim,
    ),
    (
        "SCHED_FLAG_DL_OVERRUN",
        0x04,
        LinuxSchedulerFlag::SchedFlagDLOverrun,
    ),
    (
        "SCHED_FLAG_KEEP_POLICY",
        0x08,
        LinuxSchedulerFlag::SchedFlagKeepPolicy,
    ),
    (
        "SCHED_FLAG_KEEP_PARAMS",
        0x10,
        LinuxSchedulerFlag::SchedFlagKeepParams,
    ),
    (
        "SCHED_FLAG_UTIL_CLAMP_MIN",
        0x20,
        LinuxSchedulerFlag::SchedFlagUtilClampMin,
    ),
    (
        "SCHED_FLAG_UTIL_CLAMP_MAX",
        0x40,
        LinuxSchedulerFlag::SchedFlagUtilClampMax,
    ),
];

/// On the raw JSON, before oci-spec's typed parse: runc's messages for a
/// missing or unknown policy or flag, and the spec's flag names rewritten to
/// the ones oci-spec reads (it also keeps accepting its own). Returns whether
/// it renamed any.
pub(super) fn check_json(s: &mut Value, field: &str) -> Result<bool> {
    let policy = s.get("policy").and_then(Value::as_str).unwrap_or("");
    if policy.is_empty() {
        return Err(Error::missing(
            format!("{field}.policy"),
            "scheduler policy is required",
        ));
    }
    if !POLICIES.iter().any(|(n, _)| *n == policy) {
        return Err(bad_policy(field, policy));
    }
    let mut renamed = false;
    for (i, f) in s
        .get_mut("flags")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = f.as_str().unwrap_or("").to_string();
        let known = FLAGS
            .iter()
            .find(|(spec, _, v)| *spec == name || spec_name(v) == name);
        match known {
            Some((_, _, variant)) if spec_name(variant) != name => {
                *f = Value::from(spec_name(variant));
                renamed = true;
            }
            Some(_) => {}
            None => {
                return invalid!(
                    format!("{field}.flags[{i}]"),
                    name,
                    "invalid scheduler flag"
                )
            }
        }
    }
    Ok(renamed)
}

/// A policy runc does not know, in its words.
fn bad_policy(field: &str, name: &str) -> Error {
    Error::invalid(format!("{field}.policy"), name, "invalid scheduler policy")
}

/// Checks the parameters as runc does and builds sched_setattr's argument.
pub(super) fn plan(s: &Scheduler, field: &str) -> Result<libc::sched_attr> {
    let name = spec_name(s.policy());
    let policy = POLICIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad_policy(field, &name))?;
    let nice = s.nice().unwrap_or(0);
    let priority = s.priority().unwrap_or(0);
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if matches!(name.as_str(), "SCHED_OTHER" | "SCHED_BATCH") && !(-20..=19).contains(&nice) {
        return invalid!(
            format!("{field}.nice"),
            nice,
            "invalid scheduler.nice when scheduler.policy is {name}"
        );
    }
    if priority != 0 && !matches!(name.as_str(), "SCHED_FIFO" | "SCHED_RR") {
        return Err(Error::conflict(
            format!("{field}.priority"),
            format!("{field}.policy"),
            "scheduler.priority can only be specified for SchedFIFO or SchedRR policy",
        ));
    }
    if priority < 0 {
        return invalid!(
            format!("{field}.priority"),
            priority,
            "invalid scheduler.priority"
        );
    }
    if name != "SCHED_DEADLINE" {
        let set = [
            ("runtime", runtime),
            ("deadline", deadline),
            ("period", period),
        ];
        if let Some((which, _)) = set.iter().find(|(_, v)| *v != 0) {
            return Err(Error::conflict(
                format!("{field}.{which}"),
                format!("{field}.policy"),
                "scheduler runtime/deadline/period can only be specified for SchedDeadline policy",
            ));
        }
    }
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= FLAGS
            .iter()
            .find(|(_, _, v)| v == f)
            .map_or(0, |(_, bit, _)| *bit);
    }
    Ok(libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: policy,
        sched_flags: flags,
        sched_nice: nice,
        sched_priority: priority as u32,
        sched_runtime: runtime,
        sched_deadline: deadline,
        sched_period: period,
    })
}

/// sched_setattr on the calling process. `cpus_limited`: the container's
/// cgroup narrows its CPUs, which the kernel refuses for a deadline policy
/// with EPERM (sched_setattr(2)); say so in runc's words.
pub(super) fn apply(attr: &libc::sched_attr, cpus_limited: bool) -> Result<()> {
    match crate::sys::sched_setattr(attr) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EPERM) if cpus_limited => Err(Error::conflict(
            "process.scheduler",
            "linux.resources.cpu.cpus",
            "process scheduler can't be used together with AllowedCPUs",
        )),
        Err(e) => Err(Error::sys("error setting scheduler (sched_setattr)", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(json: &str) -> Result<libc::sched_attr> {
        let mut v: Value = serde_json::from_str(json).unwrap();
        check_json(&mut v, "process.scheduler")?;
        plan(&serde_json::from_value(v).unwrap(), "process.scheduler")
    }

    #[test]
    fn spec_flag_names_and_runc_checks() {
        let a = sched(
            r#"{"policy":"SCHED_DEADLINE","flags":["SCHED_FLAG_RESET_ON_FORK","SCHED_FLAG_DL_OVERRUN"],"runtime":42000,"deadline":100000,"period":1000000}"#,
        )
        .unwrap();
        assert_eq!((a.sched_policy, a.sched_flags), (6, 0x05));
        assert_eq!(
            (a.sched_runtime, a.sched_deadline, a.sched_period),
            (42000, 100000, 1000000)
        );
        let b = sched(r#"{"policy":"SCHED_BATCH","nice":19}"#).unwrap();
        assert_eq!((b.sched_policy, b.sched_nice), (3, 19));
        for (bad, want) in [
            (
                r#"{"nice":1}"#,
                "process.scheduler.policy is required: scheduler policy is required",
            ),
            (
                r#"{"policy":"SCHED_X"}"#,
                "process.scheduler.policy \"SCHED_X\": invalid scheduler policy",
            ),
            (
                r#"{"policy":"SCHED_FIFO","flags":["X"]}"#,
                "process.scheduler.flags[0] \"X\": invalid scheduler flag",
            ),
            (
                r#"{"policy":"SCHED_OTHER","nice":20}"#,
                "process.scheduler.nice \"20\": invalid scheduler.nice",
            ),
            (
                r#"{"policy":"SCHED_OTHER","priority":3}"#,
                "only be specified for SchedFIFO",
            ),
            (
                r#"{"policy":"SCHED_RR","runtime":3}"#,
                "only be specified for SchedDeadline",
            ),
        ] {
            let e = sched(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
