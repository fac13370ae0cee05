//! Resource usage figures in the JSON shape `runc events --stats` prints under "data".

use crate::error::Result;
use crate::fsio::{self, keyed, read_flat_keyed};
use crate::layout::Version;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
    /// Processes the kernel OOM-killed in this cgroup (v1 memory.oom_control, v2
    /// memory.events `oom_kill`). Not in runc's shape; omitted while zero.
    #[serde(rename = "oomKill", default, skip_serializing_if = "is_zero")]
    pub oom_kill: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pids {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub current: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlkioEntry {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blkio {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hugetlb {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn read_opt_u64(p: &Path) -> Result<u64> {
    match fsio::read_opt(p)? {
        Some(s) => fsio::parse_u64(p, &s),
        None => Ok(0),
    }
}

fn read_list(p: &Path) -> Result<Vec<u64>> {
    match fsio::read_opt(p)? {
        Some(s) => s
            .split_whitespace()
            .map(|v| fsio::parse_u64(p, v))
            .collect(),
        None => Ok(vec![]),
    }
}

/// cpuacct.stat counts USER_HZ ticks (100 on Linux); runc reports nanoseconds.
const NS_PER_TICK: u64 = 1_000_000_000 / 100;

pub(crate) fn cpu_v1(cpu: Option<&Path>, cpuacct: Option<&Path>, out: &mut Cpu) -> Result<()> {
    if let Some(d) = cpuacct {
        out.usage.total = fsio::read_u64(&d.join("cpuacct.usage"))?;
        out.usage.percpu = read_list(&d.join("cpuacct.usage_percpu"))?;
        out.usage.percpu_kernel = read_list(&d.join("cpuacct.usage_percpu_sys"))?;
        out.usage.percpu_user = read_list(&d.join("cpuacct.usage_percpu_user"))?;
        let st = read_flat_keyed(&d.join("cpuacct.stat"))?;
        out.usage.user = keyed(&st, "user") * NS_PER_TICK;
        out.usage.kernel = keyed(&st, "system") * NS_PER_TICK;
    }
    if let Some(d) = cpu {
        let st = read_flat_keyed(&d.join("cpu.stat"))?;
        out.throttling = Throttling {
            periods: keyed(&st, "nr_periods"),
            throttled_periods: keyed(&st, "nr_throttled"),
            throttled_time: keyed(&st, "throttled_time"),
        };
    }
    Ok(())
}

/// cpu.stat exists in every v2 cgroup (usage is core accounting), throttling only with +cpu.
pub(crate) fn cpu_v2(d: &Path, out: &mut Cpu) -> Result<()> {
    let st = read_flat_keyed(&d.join("cpu.stat"))?;
    out.usage.total = keyed(&st, "usage_usec") * 1000;
    out.usage.user = keyed(&st, "user_usec") * 1000;
    out.usage.kernel = keyed(&st, "system_usec") * 1000;
    out.throttling = Throttling {
        periods: keyed(&st, "nr_periods"),
        throttled_periods: keyed(&st, "nr_throttled"),
        throttled_time: keyed(&st, "throttled_usec") * 1000,
    };
    Ok(())
}

pub(crate) fn memory(v: Version, d: &Path, out: &mut Memory) -> Result<()> {
    out.raw = read_flat_keyed(&d.join("memory.stat"))?
        .into_iter()
        .collect();
    let entry = |prefix: &str| -> Result<MemoryEntry> {
        Ok(MemoryEntry {
            limit: read_opt_u64(&d.join(format!("{prefix}limit_in_bytes")))?,
            usage: read_opt_u64(&d.join(format!("{prefix}usage_in_bytes")))?,
            max: read_opt_u64(&d.join(format!("{prefix}max_usage_in_bytes")))?,
            failcnt: read_opt_u64(&d.join(format!("{prefix}failcnt")))?,
        })
    };
    match v {
        Version::V1 => {
            out.cache = out.raw.get("cache").copied().unwrap_or(0);
            out.usage = entry("memory.")?;
            out.swap = entry("memory.memsw.")?;
            out.kernel = entry("memory.kmem.")?;
            out.kernel_tcp = entry("memory.kmem.tcp.")?;
        }
        Version::V2 => {
            out.cache = out.raw.get("file").copied().unwrap_or(0);
            let events = match fsio::read_opt(&d.join("memory.events"))? {
                Some(_) => read_flat_keyed(&d.join("memory.events"))?,
                None => vec![],
            };
            out.usage = MemoryEntry {
                limit: read_opt_u64(&d.join("memory.max"))?,
                usage: read_opt_u64(&d.join("memory.current"))?,
                max: read_opt_u64(&d.join("memory.peak"))?,
                failcnt: keyed(&events, "max"),
            };
            // runc reports v2 swap as memory+swap, matching the v1 memsw meaning.
            let sw_cur = read_opt_u64(&d.join("memory.swap.current"))?;
            let sw_max = read_opt_u64(&d.join("memory.swap.max"))?;
            out.swap = MemoryEntry {
                limit: out.usage.limit.saturating_add(sw_max),
                usage: out.usage.usage.saturating_add(sw_cur),
                max: 0,
                failcnt: 0,
            };
        }
    }
    Ok(())
}

pub(crate) fn pids(d: &Path, out: &mut Pids) -> Result<()> {
    out.current = fsio::read_u64(&d.join("pids.current"))?;
    out.limit = fsio::read_u64(&d.join("pids.max"))?;
    Ok(())
}

fn parse_dev(path: &Path, dev: &str) -> Result<(u64, u64)> {
    let (a, b) = dev.split_once(':').unwrap_or((dev, ""));
    Ok((fsio::parse_u64(path, a)?, fsio::parse_u64(path, b)?))
}

/// v1 "8:0 Read 123" lines (the throttle files exist with every I/O scheduler).
fn blkio_v1_file(p: &Path) -> Result<Vec<BlkioEntry>> {
    let mut out = vec![];
    if let Some(text) = fsio::read_opt(p)? {
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() == 3 {
                let (major, minor) = parse_dev(p, f[0])?;
                out.push(BlkioEntry {
                    major,
                    minor,
                    op: f[1].to_owned(),
                    value: fsio::parse_u64(p, f[2])?,
                });
            }
        }
    }
    Ok(out)
}

pub(crate) fn blkio(v: Version, d: &Path, out: &mut Blkio) -> Result<()> {
    match v {
        Version::V1 => {
            out.io_service_bytes_recursive =
                blkio_v1_file(&d.join("blkio.throttle.io_service_bytes_recursive"))?;
            out.io_serviced_recursive =
                blkio_v1_file(&d.join("blkio.throttle.io_serviced_recursive"))?;
        }
        Version::V2 => {
            let p = d.join("io.stat");
            let Some(text) = fsio::read_opt(&p)? else {
                return Ok(());
            };
            for line in text.lines() {
                let mut it = line.split_whitespace();
                let Some(dev) = it.next() else { continue };
                let (major, minor) = parse_dev(&p, dev)?;
                for kv in it {
                    let Some((k, v)) = kv.split_once('=') else {
                        continue;
                    };
                    let value = fsio::parse_u64(&p, v)?;
                    let (list, op) = match k {
                        "rbytes" => (&mut out.io_service_bytes_recursive, "Read"),
                        "wbytes" => (&mut out.io_service_bytes_recursive, "Write"),
                        "rios" => (&mut out.io_serviced_recursive, "Read"),
                        "wios" => (&mut out.io_serviced_recursive, "Write"),
                        _ => continue,
                    };
                    list.push(BlkioEntry {
                        major,
                        minor,
                        op: op.into(),
                        value,
                    });
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn hugetlb(v: Version, d: &Path, out: &mut BTreeMap<String, Hugetlb>) -> Result<()> {
    let usage_suffix = if v == Version::V1 {
        ".usage_in_bytes"
    } else {
        ".current"
    };
    let rd = std::fs::read_dir(d).map_err(|source| crate::Error::Read {
        path: d.to_owned(),
        source,
    })?;
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(size) = name
            .strip_prefix("hugetlb.")
            .and_then(|n| n.strip_suffix(usage_suffix))
        else {
            continue;
        };
        if size.contains('.') {
            continue; // hugetlb.2MB.rsvd.current
        }
        let h = match v {
            Version::V1 => Hugetlb {
                usage: read_opt_u64(&d.join(format!("hugetlb.{size}.usage_in_bytes")))?,
                max: read_opt_u64(&d.join(format!("hugetlb.{size}.max_usage_in_bytes")))?,
                failcnt: read_opt_u64(&d.join(format!("hugetlb.{size}.failcnt")))?,
            },
            Version::V2 => {
                let ev = d.join(format!("hugetlb.{size}.events"));
                let events = if ev.exists() {
                    read_flat_keyed(&ev)?
                } else {
                    vec![]
                };
                Hugetlb {
                    usage: read_opt_u64(&d.join(format!("hugetlb.{size}.current")))?,
                    max: 0,
                    failcnt: keyed(&events, "max"),
                }
            }
        };
        out.insert(size.to_owned(), h);
    }
    Ok(())
}
