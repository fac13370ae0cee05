//! CPU affinity of the launched process. By default it must not inherit the
//! caller's (`taskset -c 0 berth run` must not pin the container): it asks
//! for every CPU, which the kernel narrows to the cgroup's cpuset. An exec
//! process's `execCPUAffinity` (not applicable to init, says the spec) instead
//! gives the CPUs the runtime runs it on before it joins the cgroup
//! (`initial`, inherited through the fork) and after (`final`).

use nix::sched::CpuSet;
use nix::unistd::Pid;
use oci_spec::runtime::ExecCPUAffinity;

use super::cpulist;
use crate::{Error, Result};

/// What the launched process does with its affinity once in its cgroup.
#[derive(Debug, Default)]
pub(crate) enum Final {
    /// Every CPU (narrowed by the kernel to the cpuset).
    #[default]
    Reset,
    /// Keep the inherited `initial` set.
    Keep,
    /// This set.
    Set(CpuSet),
}

/// The exec's `initial` set, applied by the runtime around its fork, and what
/// the process does after. `field` names the setting in errors.
pub(crate) fn plan(aff: Option<&ExecCPUAffinity>, field: &str) -> Result<(Option<CpuSet>, Final)> {
    let Some(aff) = aff else {
        return Ok((None, Final::Reset));
    };
    let set = |name: &str, list: &Option<String>| -> Result<Option<CpuSet>> {
        let Some(list) = list.as_deref().filter(|l| !l.trim().is_empty()) else {
            return Ok(None);
        };
        let ids = cpulist::parse(list).map_err(|why| {
            Error::Invalid(format!("{field}.{name}: invalid CPU list {list:?}: {why}"))
        })?;
        let mut cpus = CpuSet::new();
        for id in 0..cpulist::MAX_ID {
            if ids.contains(id) {
                cpus.set(id as usize).map_err(|_| {
                    Error::Invalid(format!(
                        "{field}.{name}: CPU {id} is above what this build handles"
                    ))
                })?;
            }
        }
        Ok(Some(cpus))
    };
    let initial = set("initial", aff.initial())?;
    let last = match set("final", aff.cpu_affinity_final())? {
        Some(cpus) => Final::Set(cpus),
        None if initial.is_some() => Final::Keep,
        None => Final::Reset,
    };
    Ok((initial, last))
}

/// The calling process's affinity, in the launched process after it is in its cgroup.
pub(crate) fn apply(last: &Final) -> Result<()> {
    let cpus = match last {
        Final::Keep => return Ok(()),
        Final::Set(cpus) => *cpus,
        Final::Reset => {
            let mut all = CpuSet::new();
            for cpu in 0..CpuSet::count() {
                let _ = all.set(cpu);
            }
            all
        }
    };
    nix::sched::sched_setaffinity(Pid::from_raw(0), &cpus)
        .map_err(|e| Error::sys("sched_setaffinity (process CPU affinity)", e))
}

/// Runs `fork` with this process on `initial`, so the child starts on those
/// CPUs; the parent (Some(pid) or an error) gets its own affinity back.
pub(crate) fn fork_on(
    initial: Option<&CpuSet>,
    fork: impl FnOnce() -> nix::Result<Option<i32>>,
) -> Result<nix::Result<Option<i32>>> {
    let Some(initial) = initial else {
        return Ok(fork());
    };
    let me = Pid::from_raw(0);
    let saved =
        nix::sched::sched_getaffinity(me).map_err(|e| Error::sys("sched_getaffinity", e))?;
    nix::sched::sched_setaffinity(me, initial)
        .map_err(|e| Error::sys("execCPUAffinity.initial: sched_setaffinity", e))?;
    let out = fork();
    if !matches!(out, Ok(None)) {
        let _ = nix::sched::sched_setaffinity(me, &saved);
    }
    Ok(out)
}

/// A process's affinity as a hex mask ("0x3"), as runc's debug line shows it.
pub(crate) fn mask_of(pid: i32) -> String {
    let Ok(cpus) = nix::sched::sched_getaffinity(Pid::from_raw(pid)) else {
        return "?".into();
    };
    let mut words = vec![0u64; CpuSet::count().div_ceil(64)];
    for cpu in 0..CpuSet::count() {
        if cpus.is_set(cpu).unwrap_or(false) {
            words[cpu / 64] |= 1 << (cpu % 64);
        }
    }
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    let mut hex = format!("{:x}", words.last().copied().unwrap_or(0));
    for w in words.iter().rev().skip(1) {
        hex.push_str(&format!("{w:016x}"));
    }
    format!("0x{hex}")
}
