//! berth-cgroups: one container's cgroup across v1, v2 and hybrid hierarchies.
//!
//! `Manager::new` detects, per controller, which hierarchy holds it (from one read of
//! /proc/self/mountinfo); the other calls read and write control files directly.

mod delegation;
mod device_filter;
mod error;
mod fsio;
mod layout;
mod manager;
mod oom_watch;
mod resources;
mod stats;
mod units;

pub use error::{Error, Result};
pub use layout::{
    cgroup_mounts, parse_proc_cgroup, unescape as unescape_mountinfo, CgroupMount, Version,
    V1_CONTROLLERS,
};
pub use manager::{Manager, OomCounts};
pub use oom_watch::OomWatch;
pub use stats::{
    Blkio, BlkioEntry, Cpu, CpuUsage, Hugetlb, Memory, MemoryEntry, Pids, Stats, Throttling,
};
pub use units::{parse_memory_size, shares_to_weight};

#[cfg(test)]
mod v2_tests;
