//! Kernel attributes of the container's process that no other step sets:
//! NUMA memory policy (`linux.memoryPolicy`), scheduler (`process.scheduler`),
//! I/O priority (`process.ioPriority`) and execution domain
//! (`linux.personality`). A [`Plan`] is checked in the runtime before anything
//! exists and applied by the launched process, init and exec alike, while it
//! still has the caller's privileges.

pub mod cpulist;
pub mod ioprio;
pub mod mempolicy;
pub mod personality;
pub mod scheduler;

use oci_spec::runtime::{Process, Spec};
use serde::Serialize;
use serde_json::Value;

use crate::Result;

/// What the launched process applies, each only if the spec asks for it.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    scheduler: Option<libc::sched_attr>,
    ioprio: Option<i32>,
    personality: Option<libc::c_ulong>,
    mempolicy: Option<mempolicy::MemPolicy>,
    /// `linux.resources.cpu.cpus` narrows the CPUs (see [`scheduler::apply`]).
    cpus_limited: bool,
}

impl Plan {
    /// The plan for launching `process` into the container of `spec`. An exec
    /// process without its own scheduler or ioPriority takes the container's
    /// (as runc does); memory policy and personality are the container's.
    pub(crate) fn new(spec: &Spec, process: &Process) -> Result<Plan> {
        let own = spec.process().as_ref();
        let linux = spec.linux().as_ref();
        let sched = process
            .scheduler()
            .as_ref()
            .or_else(|| own.and_then(|p| p.scheduler().as_ref()));
        let io = process
            .io_priority()
            .as_ref()
            .or_else(|| own.and_then(|p| p.io_priority().as_ref()));
        Ok(Plan {
            scheduler: sched
                .map(|s| scheduler::plan(s, "process.scheduler"))
                .transpose()?,
            ioprio: io
                .map(|i| ioprio::plan(i, "process.ioPriority"))
                .transpose()?,
            personality: linux
                .and_then(|l| l.personality().as_ref())
                .map(personality::plan)
                .transpose()?,
            mempolicy: linux
                .and_then(|l| l.memory_policy().as_ref())
                .map(mempolicy::plan)
                .transpose()?,
            cpus_limited: linux
                .and_then(|l| l.resources().as_ref())
                .and_then(|r| r.cpu().as_ref())
                .and_then(|c| c.cpus().as_deref())
                .is_some_and(|c| !c.trim().is_empty()),
        })
    }

    /// Applies the attributes in runc's order, after the CPU affinity is reset
    /// and before capabilities, user and seccomp.
    pub(crate) fn apply(&self) -> Result<()> {
        if let Some(attr) = &self.scheduler {
            scheduler::apply(attr, self.cpus_limited)?;
        }
        if let Some(prio) = self.ioprio {
            ioprio::apply(prio)?;
        }
        if let Some(persona) = self.personality {
            personality::apply(persona)?;
        }
        if let Some(mp) = &self.mempolicy {
            mp.apply()?;
        }
        Ok(())
    }
}

/// Runs on config.json (`process` false) or an exec's process.json (`process`
/// true) as raw JSON, before oci-spec's typed parse: values that parse would
/// refuse with a serde message get runc's message instead, and scheduler
/// flags named as in the runtime spec are renamed to oci-spec's names.
/// Returns whether it changed the JSON.
pub fn check_json(v: &mut Value, is_process: bool) -> Result<bool> {
    let mut renamed = false;
    let process = if is_process {
        Some(&mut *v)
    } else {
        v.get_mut("process")
    };
    if let Some(p) = process {
        if let Some(s) = p.get_mut("scheduler").filter(|s| !s.is_null()) {
            renamed = scheduler::check_json(s, "process.scheduler")?;
        }
        if let Some(io) = p.get("ioPriority").filter(|s| !s.is_null()) {
            ioprio::check_json(io, "process.ioPriority")?;
        }
    }
    if !is_process {
        if let Some(linux) = v.get("linux") {
            if let Some(mp) = linux.get("memoryPolicy").filter(|s| !s.is_null()) {
                mempolicy::check_json(mp)?;
            }
            if let Some(p) = linux.get("personality").filter(|s| !s.is_null()) {
                personality::check_json(p)?;
            }
        }
    }
    Ok(renamed)
}

/// The name serde gives an oci-spec enum value (its JSON string).
fn spec_name(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}
