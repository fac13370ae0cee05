//! CPU affinity of a launched process. The caller's affinity (`taskset -c 0
//! berth run`) must not pin the container: init, and an exec without
//! `process.execCPUAffinity`, ask for every CPU, which the cgroup's cpuset
//! narrows. With it (exec only, per the runtime-spec), `initial` is set by the
//! runtime on the new process before it joins the cgroup, `final` by the
//! process itself right after; without `final` the kernel decides.

use nix::sched::CpuSet;
use nix::unistd::Pid;
use oci_spec::runtime::Process;

use crate::{Error, Result};

/// The CPUs of a list like `0-3,7` (the kernel's list format, read by the
/// same parser as memory policy nodes).
fn parse(field: &str, list: &str) -> Result<Vec<usize>> {
    let bad =
        |why: String| Error::invalid(field, list, format!("not a CPU list like 0-3,7: {why}"));
    let set = crate::attrs::cpulist::parse(list).map_err(bad)?;
    let cpus: Vec<usize> = (0..set.words.len() * 64)
        .filter(|c| set.contains(*c as u32))
        .collect();
    match cpus.last() {
        None => Err(bad("no CPUs".into())),
        Some(&top) if top >= CpuSet::count() => {
            Err(bad(format!("CPU {top} is beyond {}", CpuSet::count() - 1)))
        }
        Some(_) => Ok(cpus),
    }
}

fn cpu_set(cpus: &[usize]) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).map_err(|e| Error::sys(format!("CPU {c}"), e))?;
    }
    Ok(set)
}

/// A parsed CPU list, when one is given.
type Cpus = Option<Vec<usize>>;

/// The (initial, final) lists of a process, parsed; refused when malformed.
fn lists(p: &Process) -> Result<(Cpus, Cpus)> {
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok((None, None));
    };
    let get = |field: &str, v: &Option<String>| -> Result<Cpus> {
        match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(list) => parse(field, list).map(Some),
        }
    };
    Ok((
        get("process.execCPUAffinity.initial", a.initial())?,
        get("process.execCPUAffinity.final", a.cpu_affinity_final())?,
    ))
}

/// Checks the lists before anything is created.
pub(crate) fn validate(p: &Process) -> Result<()> {
    lists(p).map(|_| ())
}

/// Runtime side, before `pid` joins the cgroup: the `initial` CPUs.
pub(crate) fn set_initial(pid: i32, p: &Process) -> Result<()> {
    let (Some(initial), _) = lists(p)? else {
        return Ok(());
    };
    // runc's nsexec logs the same step as "affinity: <mask>".
    let mask = initial
        .iter()
        .try_fold(0u128, |m, &c| (c < 128).then(|| m | 1 << c));
    log::debug!(
        "exec process: initial CPU affinity {initial:?} (runc: nsexec: affinity: {})",
        mask.map_or_else(|| "beyond 128 CPUs".to_string(), |m| format!("{m:#x}"))
    );
    nix::sched::sched_setaffinity(Pid::from_raw(pid), &cpu_set(&initial)?)
        .map_err(|e| Error::sys(format!("set the initial CPU affinity of pid {pid}"), e))
}

/// Exec'd process side, once in the cgroup: `final`, or every CPU when neither is given.
pub(crate) fn set_final(p: &Process) -> Result<()> {
    match lists(p)? {
        (_, Some(fin)) => nix::sched::sched_setaffinity(Pid::from_raw(0), &cpu_set(&fin)?)
            .map_err(|e| Error::sys("set the final CPU affinity", e)),
        (Some(_), None) => Ok(()),
        (None, None) => allow_every_cpu(),
    }
}

/// Asks for every CPU; the kernel narrows it to the cgroup's cpuset.
pub(crate) fn allow_every_cpu() -> Result<()> {
    let mut all = CpuSet::new();
    for cpu in 0..CpuSet::count() {
        let _ = all.set(cpu);
    }
    nix::sched::sched_setaffinity(Pid::from_raw(0), &all)
        .map_err(|e| Error::sys("sched_setaffinity to every CPU", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_as_the_kernel_writes_them() {
        assert_eq!(parse("f", "0-3,7").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(parse("f", "1").unwrap(), vec![1]);
        assert_eq!(parse("f", "0,1").unwrap(), vec![0, 1]);
        // Empty elements are allowed, as runc allows them.
        assert_eq!(parse("f", "1,,2").unwrap(), vec![1, 2]);
        for bad in ["", "a", "3-1", "1-", "-1", "99999"] {
            let e = parse("f", bad).unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { field, value, .. } if field == "f" && value == bad),
                "{bad}: {e:?}"
            );
        }
    }
}
