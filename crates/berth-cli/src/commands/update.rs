//! `berth update`: changes the cgroup limits of a live container, as `runc update` does.
//!
//! This file turns flags or `-r` JSON into the resources to change; `Container::update`
//! applies them all or none and merges them into the saved config.

use std::io::Read;
use std::path::Path;

use berth_cgroups::parse_memory_size;
use berth_container::{Container, Root};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::Result;

#[derive(clap::Args, Debug, Default)]
pub struct UpdateArgs {
    /// Resources JSON (a linux.resources object) from FILE, or '-' for stdin; the other flags
    /// are then ignored
    #[arg(short = 'r', long = "resources", value_name = "FILE|-")]
    pub resources: Option<String>,
    /// Block IO weight (10-1000)
    #[arg(long = "blkio-weight", value_name = "N", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// CPU CFS period in microseconds
    #[arg(long = "cpu-period", value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS quota in microseconds per period (-1: unlimited)
    #[arg(long = "cpu-quota", value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU CFS burst in microseconds
    #[arg(long = "cpu-burst", value_name = "USECS", allow_hyphen_values = true)]
    pub cpu_burst: Option<String>,
    /// CPU shares (relative weight, 2-262144)
    #[arg(
        long = "cpu-share",
        alias = "cpu-shares",
        value_name = "N",
        allow_hyphen_values = true
    )]
    pub cpu_share: Option<String>,
    /// CPU realtime period in microseconds
    #[arg(
        long = "cpu-rt-period",
        value_name = "USECS",
        allow_hyphen_values = true
    )]
    pub cpu_rt_period: Option<String>,
    /// CPU realtime runtime in microseconds per period
    #[arg(
        long = "cpu-rt-runtime",
        value_name = "USECS",
        allow_hyphen_values = true
    )]
    pub cpu_rt_runtime: Option<String>,
    /// SCHED_IDLE for the cgroup: 0 or 1
    #[arg(long = "cpu-idle", value_name = "0|1", allow_hyphen_values = true)]
    pub cpu_idle: Option<String>,
    /// CPUs the container may use, e.g. 0-1,3
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use, e.g. 0
    #[arg(long = "cpuset-mems", value_name = "LIST")]
    pub cpuset_mems: Option<String>,
    /// Memory limit: bytes or a size with unit b, k, m, g (-1: unlimited)
    #[arg(long = "memory", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit: bytes or a size with unit b, k, m, g
    #[arg(
        long = "memory-reservation",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Total memory + swap: bytes or a size with unit b, k, m, g (-1: unlimited swap)
    #[arg(long = "memory-swap", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Obsolete; accepted and ignored as by runc
    #[arg(long = "kernel-memory", hide = true, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Obsolete; accepted and ignored as by runc
    #[arg(long = "kernel-memory-tcp", hide = true, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Maximum number of pids (-1: unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Container id
    pub id: String,
}

fn bad(flag: &str, value: &str, why: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("invalid value for --{flag} {value:?}: {why}").into()
}

fn uint(flag: &str, v: &str) -> Result<u64> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| bad(flag, v, "expected a non-negative integer"))
}

fn int(flag: &str, v: &str) -> Result<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| bad(flag, v, "expected an integer"))
}

fn size(flag: &str, v: &str) -> Result<i64> {
    parse_memory_size(v).map_err(|e| bad(flag, v, e))
}

impl UpdateArgs {
    fn any_flag(&self) -> bool {
        [
            &self.blkio_weight,
            &self.cpu_period,
            &self.cpu_quota,
            &self.cpu_burst,
            &self.cpu_share,
            &self.cpu_rt_period,
            &self.cpu_rt_runtime,
            &self.cpu_idle,
            &self.cpuset_cpus,
            &self.cpuset_mems,
            &self.memory,
            &self.memory_reservation,
            &self.memory_swap,
            &self.pids_limit,
        ]
        .iter()
        .any(|o| o.is_some())
    }

    /// The resources the flags name, and nothing else.
    pub fn flag_resources(&self) -> Result<LinuxResources> {
        let mut r = LinuxResources::default();
        let mut cpu = LinuxCpu::default();
        let mut cpu_set = false;
        if let Some(v) = &self.cpu_share {
            // A person typing 0 means a mistake: -r JSON keeps runc's "0 = unchanged".
            let n = uint("cpu-share", v)?;
            if n == 0 {
                return Err(bad("cpu-share", v, "must be between 2 and 262144"));
            }
            cpu.set_shares(Some(n));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_period {
            cpu.set_period(Some(uint("cpu-period", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_quota {
            cpu.set_quota(Some(int("cpu-quota", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_burst {
            cpu.set_burst(Some(uint("cpu-burst", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_rt_period {
            cpu.set_realtime_period(Some(uint("cpu-rt-period", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_rt_runtime {
            cpu.set_realtime_runtime(Some(int("cpu-rt-runtime", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpu_idle {
            cpu.set_idle(Some(int("cpu-idle", v)?));
            cpu_set = true;
        }
        if let Some(v) = &self.cpuset_cpus {
            if v.trim().is_empty() {
                return Err(bad("cpuset-cpus", v, "expected a list like 0-3,5"));
            }
            cpu.set_cpus(Some(v.trim().to_string()));
            cpu_set = true;
        }
        if let Some(v) = &self.cpuset_mems {
            if v.trim().is_empty() {
                return Err(bad("cpuset-mems", v, "expected a list like 0-1"));
            }
            cpu.set_mems(Some(v.trim().to_string()));
            cpu_set = true;
        }
        if cpu_set {
            r.set_cpu(Some(cpu));
        }

        let mut mem = LinuxMemory::default();
        let mut mem_set = false;
        if let Some(v) = &self.memory {
            let n = size("memory", v)?;
            if n == 0 {
                return Err(bad(
                    "memory",
                    v,
                    "must be -1 (unlimited) or a positive size",
                ));
            }
            mem.set_limit(Some(n));
            mem_set = true;
        }
        if let Some(v) = &self.memory_reservation {
            mem.set_reservation(Some(size("memory-reservation", v)?));
            mem_set = true;
        }
        if let Some(v) = &self.memory_swap {
            let n = size("memory-swap", v)?;
            if n == 0 {
                return Err(bad(
                    "memory-swap",
                    v,
                    "must be -1 (unlimited) or a positive size",
                ));
            }
            mem.set_swap(Some(n));
            mem_set = true;
        }
        for (flag, v) in [
            ("kernel-memory", &self.kernel_memory),
            ("kernel-memory-tcp", &self.kernel_memory_tcp),
        ] {
            if v.is_some() {
                log::warn!("Setting --{flag} is ignored and will be removed");
            }
        }
        if mem_set {
            r.set_memory(Some(mem));
        }

        if let Some(v) = &self.pids_limit {
            let n = int("pids-limit", v)?;
            if n < -1 {
                return Err(bad(
                    "pids-limit",
                    v,
                    "must be -1 (unlimited) or a number of pids (0 is taken as 1)",
                ));
            }
            let mut p = LinuxPids::default();
            p.set_limit(n);
            r.set_pids(Some(p));
        }
        if let Some(v) = &self.blkio_weight {
            let n = v
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|w| (10..=1000).contains(w))
                .ok_or_else(|| bad("blkio-weight", v, "must be between 10 and 1000"))?;
            let mut b = LinuxBlockIo::default();
            b.set_weight(Some(n));
            r.set_block_io(Some(b));
        }
        Ok(r)
    }
}

/// Reads `-r FILE|-`. Zero values mean "unchanged", as in runc's template and in what engines
/// send (docker fills every field it does not change with 0).
pub fn read_resources(src: &str) -> Result<LinuxResources> {
    let text = if src == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("--resources -: reading stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(Path::new(src)).map_err(|e| format!("--resources {src}: {e}"))?
    };
    berth_container::update_request::parse(text.as_bytes())
        .map_err(|e| format!("--resources {src}: not a valid resources JSON object: {e}").into())
}

pub fn run(root: &Root, a: &UpdateArgs) -> Result<u8> {
    let r = match &a.resources {
        Some(src) => {
            if a.any_flag() {
                log::warn!("--resources given: the other update flags are ignored");
            }
            read_resources(src)?
        }
        None => a.flag_resources()?,
    };
    Container::load(root, &a.id)?.update(&r)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: UpdateArgs,
    }

    fn flags(args: &[&str]) -> Result<LinuxResources> {
        let t = T::try_parse_from(
            std::iter::once("t")
                .chain(args.iter().copied())
                .chain(["c1"]),
        )?;
        t.a.flag_resources()
    }

    #[test]
    fn only_given_fields() {
        let r = flags(&["--memory", "256m", "--cpu-share", "512"]).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(256 << 20));
        assert_eq!(r.memory().as_ref().unwrap().swap(), None);
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(512));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), None);
        assert!(r.pids().is_none() && r.block_io().is_none());
        let r = flags(&[
            "--pids-limit",
            "-1",
            "--memory-swap",
            "-1",
            "--cpu-quota",
            "-1",
        ])
        .unwrap();
        assert_eq!(r.pids().as_ref().unwrap().limit(), -1);
        assert_eq!(r.memory().as_ref().unwrap().swap(), Some(-1));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(-1));
        let r = flags(&["--blkio-weight", "300", "--cpuset-cpus", "0"]).unwrap();
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        assert_eq!(r.cpu().as_ref().unwrap().cpus().as_deref(), Some("0"));
    }

    #[test]
    fn bad_flags_name_flag_and_value() {
        for (args, named) in [
            (&["--memory", "12x"][..], "12x"),
            (&["--memory", "0"], "--memory"),
            (&["--cpu-share", "0"], "--cpu-share"),
            (&["--cpu-share", "-5"], "-5"),
            (&["--cpu-share", "lots"], "lots"),
            (&["--pids-limit", "-2"], "--pids-limit"),
            (&["--pids-limit", "ten"], "ten"),
            (&["--blkio-weight", "5"], "--blkio-weight"),
            (&["--cpu-quota", "1.5"], "1.5"),
            (&["--memory-swap", "1t"], "1t"),
        ] {
            let e = flags(args).unwrap_err().to_string();
            assert!(e.contains(named), "{args:?}: {e}");
            assert!(!e.contains('\n'), "{args:?}: {e}");
        }
    }
}
