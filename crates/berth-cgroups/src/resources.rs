//! Turns OCI `linux.resources` into an ordered list of control-file writes for the hierarchies
//! that hold each controller. All validation happens here, before anything is written, so a
//! rejected apply/update leaves the cgroup untouched.

use crate::error::{invalid, Error, Result};
use crate::fsio;
use crate::layout::Version;
use crate::units::{blkio_weight_to_io_weight, shares_to_weight};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources, LinuxThrottleDevice};
use std::path::{Path, PathBuf};

/// One control-file write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    pub path: PathBuf,
    pub value: String,
    /// EINVAL is not an error: the same write comes again later in the plan
    /// (a period the kernel refuses against the quota still in force).
    pub may_wait: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub writes: Vec<Write>,
    /// Device rules and where they go; v1 rules become writes, v2 rules a bpf program.
    pub devices: Option<(PathBuf, Vec<LinuxDeviceCgroup>)>,
}

/// Where the planner finds a controller's directory.
pub(crate) trait Locate {
    fn locate(&self, controller: &str) -> Option<(Version, &Path)>;
}

struct Planner<'a, L: Locate> {
    loc: &'a L,
    /// A freshly created cgroup holds kernel defaults, so no current values need reading.
    fresh: bool,
    plan: Plan,
}

impl<L: Locate> Planner<'_, L> {
    fn dir(&self, controller: &str, field: &str) -> Result<(Version, PathBuf)> {
        self.loc
            .locate(controller)
            .map(|(v, p)| (v, p.to_owned()))
            .ok_or_else(|| Error::NoController {
                field: field.to_owned(),
                controller: controller.to_owned(),
            })
    }

    fn push(&mut self, path: PathBuf, value: impl Into<String>) {
        self.plan.writes.push(Write {
            path,
            value: value.into(),
            may_wait: false,
        });
    }

    /// A period and the limit checked against it (CFS quota, RT runtime):
    /// the kernel judges each write against the other value in force, so a
    /// smaller period can be refused until the new limit is in. As runc:
    /// period first, where a refusal waits; the limit; then the period again.
    fn push_period_pair(
        &mut self,
        period: Option<(PathBuf, String)>,
        limit: Option<(PathBuf, String)>,
    ) {
        match (period, limit) {
            (Some((pp, pv)), Some((lp, lv))) => {
                self.plan.writes.push(Write {
                    path: pp.clone(),
                    value: pv.clone(),
                    may_wait: true,
                });
                self.push(lp, lv);
                self.push(pp, pv);
            }
            (Some((p, v)), None) | (None, Some((p, v))) => self.push(p, v),
            (None, None) => {}
        }
    }

    /// Pushes a write to a file that not every kernel has, failing early if it is missing.
    fn push_checked(&mut self, path: PathBuf, value: impl Into<String>, field: &str) -> Result<()> {
        require(&path, field)?;
        self.push(path, value);
        Ok(())
    }
}

/// A file that not every kernel has: missing is `Unsupported`, naming the field.
fn require(path: &Path, field: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(Error::Unsupported {
        field: field.to_owned(),
        path: path.to_owned(),
    })
}

fn limit_str(v: i64, v2: bool) -> String {
    match (v, v2) {
        (-1, true) => "max".to_owned(),
        (v, _) => v.to_string(),
    }
}

/// Parses a cpu/mem list such as "0-3,5" into its members.
pub(crate) fn parse_list(field: &str, s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let bad = |why: &str| invalid(field, s, why.to_owned());
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let a: u32 = a
            .trim()
            .parse()
            .map_err(|_| bad("expected a list like 0-3,5"))?;
        let b: u32 = b
            .trim()
            .parse()
            .map_err(|_| bad("expected a list like 0-3,5"))?;
        if a > b || b - a > 65_536 {
            return Err(bad("range is reversed or too large"));
        }
        out.extend(a..=b);
    }
    if out.is_empty() && !s.trim().is_empty() {
        return Err(bad("expected a list like 0-3,5"));
    }
    Ok(out)
}

/// Every member of `want` must be in the parent's effective set, or the kernel refuses it.
fn check_subset(field: &str, want: &str, parent_file: &Path) -> Result<()> {
    let want_v = parse_list(field, want)?;
    let have_s = fsio::read(parent_file)?;
    let have = parse_list(&parent_file.display().to_string(), &have_s)?;
    if let Some(x) = want_v.iter().find(|x| !have.contains(x)) {
        return Err(invalid(
            field,
            want,
            format!("{x} is not available (host/parent has {})", have_s.trim()),
        ));
    }
    Ok(())
}

fn throttle_lines(
    field: &str,
    list: &Option<Vec<LinuxThrottleDevice>>,
) -> Result<Vec<(i64, i64, u64)>> {
    let mut out = Vec::new();
    for d in list.iter().flatten() {
        if d.major() < 0 || d.minor() < 0 {
            return Err(invalid(
                field,
                format!("{}:{}", d.major(), d.minor()),
                "device numbers must not be negative",
            ));
        }
        out.push((d.major(), d.minor(), d.rate()));
    }
    Ok(out)
}

/// runc reads 0 in these fields as "not set", and engines send it that way: dockerd's
/// create spec carries `cpu.shares: 0` and `blockIO.weight: 0` when no limit was asked for,
/// and its `update` sends `cpu.quota/period: 0` for "unchanged".
fn zeros_unset(r: &LinuxResources) -> LinuxResources {
    let mut r = r.clone();
    if let Some(mut c) = r.cpu().clone() {
        if c.shares() == Some(0) {
            c.set_shares(None);
        }
        if c.quota() == Some(0) {
            c.set_quota(None);
        }
        if c.period() == Some(0) {
            c.set_period(None);
        }
        if c.realtime_period() == Some(0) {
            c.set_realtime_period(None);
        }
        if c.realtime_runtime() == Some(0) {
            c.set_realtime_runtime(None);
        }
        r.set_cpu(Some(c));
    }
    if let Some(mut b) = r.block_io().clone() {
        if b.weight() == Some(0) {
            b.set_weight(None);
        }
        if b.leaf_weight() == Some(0) {
            b.set_leaf_weight(None);
        }
        r.set_block_io(Some(b));
    }
    r
}

pub(crate) fn plan(loc: &impl Locate, r: &LinuxResources, fresh: bool) -> Result<Plan> {
    let r = &zeros_unset(r);
    let mut p = Planner {
        loc,
        fresh,
        plan: Plan::default(),
    };
    cpu(&mut p, r)?;
    memory(&mut p, r)?;
    pids(&mut p, r)?;
    blkio(&mut p, r)?;
    hugetlb(&mut p, r)?;
    network(&mut p, r)?;
    rdma(&mut p, r)?;
    unified(&mut p, r)?;
    if let Some(rules) = r.devices() {
        crate::device_filter::validate(rules)?;
        let (v, dir) = p.dir("devices", "resources.devices").or_else(|e| {
            // Pure v2 has no devices controller: device programs attach to the v2 directory.
            p.loc.locate("").map(|(v, d)| (v, d.to_owned())).ok_or(e)
        })?;
        match v {
            Version::V1 => {
                for rule in rules {
                    let file = if rule.allow() {
                        "devices.allow"
                    } else {
                        "devices.deny"
                    };
                    p.push(dir.join(file), crate::device_filter::v1_line(rule));
                }
            }
            Version::V2 => p.plan.devices = Some((dir, rules.clone())),
        }
    }
    Ok(p.plan)
}

fn cpu<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(c) = r.cpu() else { return Ok(()) };
    if let Some(s) = c.shares() {
        if !(2..=262_144).contains(&s) {
            return Err(invalid(
                "resources.cpu.shares",
                s,
                "must be between 2 and 262144",
            ));
        }
    }
    if let Some(q) = c.quota() {
        if q != -1 && q < 1000 {
            return Err(invalid(
                "resources.cpu.quota",
                q,
                "must be -1 (unlimited) or at least 1000 microseconds",
            ));
        }
    }
    if let Some(per) = c.period() {
        if !(1000..=1_000_000).contains(&per) {
            return Err(invalid(
                "resources.cpu.period",
                per,
                "must be between 1000 and 1000000 microseconds",
            ));
        }
    }
    if let Some(i) = c.idle() {
        if !(0..=1).contains(&i) {
            return Err(invalid("resources.cpu.idle", i, "must be 0 or 1"));
        }
    }
    if let Some(rt) = c.realtime_runtime() {
        if rt < -1 {
            return Err(invalid(
                "resources.cpu.realtimeRuntime",
                rt,
                "must be -1 or a number of microseconds",
            ));
        }
    }
    let wants_cpu = c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_period().is_some()
        || c.realtime_runtime().is_some();
    if wants_cpu {
        let (v, dir) = p.dir("cpu", "resources.cpu")?;
        match v {
            Version::V1 => {
                if let Some(s) = c.shares() {
                    p.push(dir.join("cpu.shares"), s.to_string());
                }
                p.push_period_pair(
                    c.period()
                        .map(|v| (dir.join("cpu.cfs_period_us"), v.to_string())),
                    c.quota()
                        .map(|v| (dir.join("cpu.cfs_quota_us"), v.to_string())),
                );
                if let Some(b) = c.burst() {
                    p.push_checked(
                        dir.join("cpu.cfs_burst_us"),
                        b.to_string(),
                        "resources.cpu.burst",
                    )?;
                }
                let rt_period = dir.join("cpu.rt_period_us");
                let rt_runtime = dir.join("cpu.rt_runtime_us");
                if c.realtime_period().is_some() {
                    require(&rt_period, "resources.cpu.realtimePeriod")?;
                }
                if c.realtime_runtime().is_some() {
                    require(&rt_runtime, "resources.cpu.realtimeRuntime")?;
                }
                p.push_period_pair(
                    c.realtime_period().map(|v| (rt_period, v.to_string())),
                    c.realtime_runtime().map(|v| (rt_runtime, v.to_string())),
                );
                if let Some(i) = c.idle() {
                    p.push_checked(dir.join("cpu.idle"), i.to_string(), "resources.cpu.idle")?;
                }
            }
            Version::V2 => {
                if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
                    return Err(invalid(
                        "resources.cpu.realtimeRuntime/realtimePeriod",
                        "set",
                        "realtime scheduling limits do not exist on cgroup v2",
                    ));
                }
                if let Some(s) = c.shares() {
                    p.push(dir.join("cpu.weight"), shares_to_weight(s).to_string());
                }
                if c.quota().is_some() || c.period().is_some() {
                    // cpu.max holds both values; keep whichever one is not being changed.
                    let file = dir.join("cpu.max");
                    let cur = if p.fresh {
                        "max 100000".to_owned()
                    } else {
                        fsio::read(&file)?
                    };
                    let mut it = cur.split_whitespace();
                    let (cq, cp) = (
                        it.next().unwrap_or("max").to_owned(),
                        it.next().unwrap_or("100000").to_owned(),
                    );
                    let q =
                        c.quota()
                            .map_or(cq, |q| if q == -1 { "max".into() } else { q.to_string() });
                    let per = c.period().map_or(cp, |x| x.to_string());
                    p.push(file, format!("{q} {per}"));
                }
                if let Some(b) = c.burst() {
                    p.push_checked(
                        dir.join("cpu.max.burst"),
                        b.to_string(),
                        "resources.cpu.burst",
                    )?;
                }
                if let Some(i) = c.idle() {
                    p.push_checked(dir.join("cpu.idle"), i.to_string(), "resources.cpu.idle")?;
                }
            }
        }
    }
    if c.cpus().is_some() || c.mems().is_some() {
        let (v, dir) = p.dir("cpuset", "resources.cpu.cpus/mems")?;
        let parent = dir.parent().unwrap_or(&dir).to_owned();
        let (eff_cpus, eff_mems) = match v {
            Version::V1 => ("cpuset.effective_cpus", "cpuset.effective_mems"),
            Version::V2 => ("cpuset.cpus.effective", "cpuset.mems.effective"),
        };
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            check_subset("resources.cpu.cpus", cpus, &parent.join(eff_cpus))?;
            p.push(dir.join("cpuset.cpus"), cpus);
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            check_subset("resources.cpu.mems", mems, &parent.join(eff_mems))?;
            p.push(dir.join("cpuset.mems"), mems);
        }
    }
    Ok(())
}

fn memory<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(m) = r.memory() else { return Ok(()) };
    for (name, v) in [
        ("limit", m.limit()),
        ("swap", m.swap()),
        ("reservation", m.reservation()),
    ] {
        if let Some(v) = v {
            if v < -1 || v == 0 && name == "limit" {
                return Err(invalid(
                    format!("resources.memory.{name}"),
                    v,
                    "must be -1 (unlimited) or a positive number of bytes",
                ));
            }
        }
    }
    if let (Some(l), Some(s)) = (m.limit(), m.swap()) {
        if s != -1 && (l == -1 || s < l) {
            return Err(invalid(
                "resources.memory.swap",
                s,
                format!("memory+swap must be -1 or at least the memory limit {l}"),
            ));
        }
    }
    if let Some(sw) = m.swappiness() {
        if sw > 100 {
            return Err(invalid(
                "resources.memory.swappiness",
                sw,
                "must be between 0 and 100",
            ));
        }
    }
    if m.kernel().is_some() {
        log::debug!(
            "resources.memory.kernel ignored: kernel memory limits are no longer enforced by Linux"
        );
    }
    let any = m.limit().is_some()
        || m.swap().is_some()
        || m.reservation().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
        || m.kernel_tcp().is_some();
    if !any {
        return Ok(());
    }
    let (v, dir) = p.dir("memory", "resources.memory")?;
    let v2 = v == Version::V2;
    if m.check_before_update() == Some(true) && !p.fresh {
        check_above_usage(&dir, v2, m.limit(), m.swap())?;
    }
    if v2 {
        // v2 swap.max counts swap only; OCI's swap is memory+swap (runc's conversion).
        if let Some(s) = m.swap() {
            let val = match (s, m.limit()) {
                (-1, _) => "max".to_owned(),
                (s, Some(l)) if l > 0 => (s - l).to_string(),
                (_, _) => {
                    return Err(invalid(
                        "resources.memory.swap",
                        s,
                        "on cgroup v2 a swap limit needs a memory limit too",
                    ))
                }
            };
            // Raise memory.max first only matters for ordering with swap on v1; v2 files are independent.
            if let Some(l) = m.limit() {
                p.push(dir.join("memory.max"), limit_str(l, true));
            }
            p.push_checked(dir.join("memory.swap.max"), val, "resources.memory.swap")?;
        } else if let Some(l) = m.limit() {
            p.push(dir.join("memory.max"), limit_str(l, true));
            // runc: an unlimited memory limit with swap unset makes swap unlimited too.
            if l == -1 && dir.join("memory.swap.max").exists() {
                p.push(dir.join("memory.swap.max"), "max");
            }
        }
        if let Some(res) = m.reservation() {
            p.push(dir.join("memory.low"), limit_str(res, true));
        }
        if m.swappiness().is_some() || m.disable_oom_killer().is_some() {
            log::debug!(
                "resources.memory.swappiness/disableOOMKiller ignored: cgroup v2 has no such files"
            );
        }
        if m.kernel_tcp().is_some() {
            log::debug!("resources.memory.kernelTCP ignored: cgroup v2 has no kmem.tcp limit");
        }
        return Ok(());
    }
    let limit = dir.join("memory.limit_in_bytes");
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    match (m.limit(), m.swap()) {
        (Some(l), Some(s)) => {
            // memsw must stay >= limit at every step: when growing, write memsw first.
            let cur = if p.fresh {
                u64::MAX
            } else {
                fsio::read_u64(&limit)?
            };
            let grow = s == -1 || cur < s as u64;
            if grow {
                p.push_checked(memsw, s.to_string(), "resources.memory.swap")?;
                p.push(limit, l.to_string());
            } else {
                p.push(limit, l.to_string());
                p.push_checked(memsw, s.to_string(), "resources.memory.swap")?;
            }
        }
        (Some(l), None) => {
            if l == -1 && memsw.exists() {
                p.push(memsw.clone(), "-1");
            }
            p.push(limit, l.to_string());
        }
        (None, Some(s)) => p.push_checked(memsw, s.to_string(), "resources.memory.swap")?,
        (None, None) => {}
    }
    if let Some(res) = m.reservation() {
        p.push(dir.join("memory.soft_limit_in_bytes"), res.to_string());
    }
    if let Some(sw) = m.swappiness() {
        p.push(dir.join("memory.swappiness"), sw.to_string());
    }
    if let Some(d) = m.disable_oom_killer() {
        p.push(dir.join("memory.oom_control"), if d { "1" } else { "0" });
    }
    if let Some(t) = m.kernel_tcp() {
        let f = dir.join("memory.kmem.tcp.limit_in_bytes");
        if f.exists() {
            p.push(f, t.to_string());
        } else {
            log::debug!(
                "resources.memory.kernelTCP ignored: {} does not exist",
                f.display()
            );
        }
    }
    Ok(())
}

/// checkBeforeUpdate: refuse a memory+swap or memory limit below what the cgroup
/// uses now (memory+swap first, as runc checks it), instead of letting the kernel
/// reclaim, or on v2 OOM-kill, to get under it.
fn check_above_usage(dir: &Path, v2: bool, limit: Option<i64>, swap: Option<i64>) -> Result<()> {
    let mem_usage = || {
        fsio::read_u64(&dir.join(if v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        }))
    };
    // v1 counts memory+swap in one file; v2 counts swap alone.
    let memsw_usage = || -> Result<u64> {
        let (file, add_mem) = if v2 {
            ("memory.swap.current", true)
        } else {
            ("memory.memsw.usage_in_bytes", false)
        };
        let f = dir.join(file);
        match (f.exists(), add_mem) {
            (true, true) => Ok(mem_usage()? + fsio::read_u64(&f)?),
            (true, false) => fsio::read_u64(&f),
            (false, _) => mem_usage(),
        }
    };
    type Usage<'a> = &'a dyn Fn() -> Result<u64>;
    let checks: [(&'static str, Option<i64>, Usage); 2] = [
        ("memory+swap", swap, &memsw_usage),
        ("memory", limit, &mem_usage),
    ];
    for (what, value, usage) in checks {
        let Some(value) = value.filter(|v| *v > 0) else {
            continue;
        };
        let usage = usage()?;
        if (value as u64) < usage {
            return Err(Error::BelowUsage {
                what,
                limit: value as u64,
                usage,
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn pids<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(pl) = r.pids() else { return Ok(()) };
    // As runc: negative is unlimited, and 0 is 1 (systemd has no TasksMax=0,
    // and runc's cgroupfs driver does the same for consistency). A `pids`
    // without `limit` never gets here (see config_json).
    let limit = pl.limit();
    let (_, dir) = p.dir("pids", "resources.pids.limit")?;
    p.push(
        dir.join("pids.max"),
        match limit {
            ..=-1 => "max".to_owned(),
            0 => "1".to_owned(),
            n => n.to_string(),
        },
    );
    Ok(())
}

fn blkio<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(b) = r.block_io() else { return Ok(()) };
    let check_w = |field: &str, w: u16| {
        if (10..=1000).contains(&w) {
            Ok(())
        } else {
            Err(invalid(field, w, "must be between 10 and 1000"))
        }
    };
    if let Some(w) = b.weight() {
        check_w("resources.blockIO.weight", w)?;
    }
    if let Some(w) = b.leaf_weight() {
        check_w("resources.blockIO.leafWeight", w)?;
    }
    for d in b.weight_device().iter().flatten() {
        if d.major() < 0 || d.minor() < 0 {
            return Err(invalid(
                "resources.blockIO.weightDevice",
                format!("{}:{}", d.major(), d.minor()),
                "device numbers must not be negative",
            ));
        }
        if let Some(w) = d.weight() {
            check_w("resources.blockIO.weightDevice.weight", w)?;
        }
        if let Some(w) = d.leaf_weight() {
            check_w("resources.blockIO.weightDevice.leafWeight", w)?;
        }
    }
    let throttles = [
        (
            "resources.blockIO.throttleReadBpsDevice",
            throttle_lines(
                "resources.blockIO.throttleReadBpsDevice",
                b.throttle_read_bps_device(),
            )?,
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            "resources.blockIO.throttleWriteBpsDevice",
            throttle_lines(
                "resources.blockIO.throttleWriteBpsDevice",
                b.throttle_write_bps_device(),
            )?,
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            "resources.blockIO.throttleReadIOPSDevice",
            throttle_lines(
                "resources.blockIO.throttleReadIOPSDevice",
                b.throttle_read_iops_device(),
            )?,
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            "resources.blockIO.throttleWriteIOPSDevice",
            throttle_lines(
                "resources.blockIO.throttleWriteIOPSDevice",
                b.throttle_write_iops_device(),
            )?,
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ];
    let any = b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || throttles.iter().any(|t| !t.1.is_empty());
    if !any {
        return Ok(());
    }
    let (v, dir) = match p.dir("blkio", "resources.blockIO") {
        Ok(x) => x,
        Err(e) => p
            .loc
            .locate("io")
            .map(|(v, d)| (v, d.to_owned()))
            .ok_or(e)?,
    };
    match v {
        Version::V1 => {
            // Kernels without CFQ expose BFQ's weight file instead of blkio.weight.
            let weight_file = if dir.join("blkio.weight").exists() {
                "blkio.weight"
            } else {
                "blkio.bfq.weight"
            };
            if let Some(w) = b.weight() {
                p.push_checked(
                    dir.join(weight_file),
                    w.to_string(),
                    "resources.blockIO.weight",
                )?;
            }
            if let Some(w) = b.leaf_weight() {
                p.push_checked(
                    dir.join("blkio.leaf_weight"),
                    w.to_string(),
                    "resources.blockIO.leafWeight",
                )?;
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight() {
                    // BFQ takes per-device weights in a file of their own
                    // where the kernel has one, else in its weight file.
                    let f = if weight_file == "blkio.weight" {
                        "blkio.weight_device"
                    } else if dir.join("blkio.bfq.weight_device").exists() {
                        "blkio.bfq.weight_device"
                    } else {
                        "blkio.bfq.weight"
                    };
                    p.push_checked(
                        dir.join(f),
                        format!("{}:{} {w}", d.major(), d.minor()),
                        "resources.blockIO.weightDevice",
                    )?;
                }
                if let Some(w) = d.leaf_weight() {
                    p.push_checked(
                        dir.join("blkio.leaf_weight_device"),
                        format!("{}:{} {w}", d.major(), d.minor()),
                        "resources.blockIO.weightDevice.leafWeight",
                    )?;
                }
            }
            for (field, lines, file, _) in throttles {
                for (ma, mi, rate) in lines {
                    p.push_checked(dir.join(file), format!("{ma}:{mi} {rate}"), field)?;
                }
            }
        }
        Version::V2 => {
            if b.leaf_weight().is_some() {
                return Err(invalid(
                    "resources.blockIO.leafWeight",
                    b.leaf_weight().unwrap_or(0),
                    "cgroup v2 has no leaf weight",
                ));
            }
            // io.bfq.weight takes the v1 range directly; io.weight needs runc's conversion.
            let bfq = dir.join("io.bfq.weight").exists();
            let (file, conv): (&str, fn(u16) -> u64) = if bfq {
                ("io.bfq.weight", |w| u64::from(w))
            } else {
                ("io.weight", blkio_weight_to_io_weight)
            };
            if let Some(w) = b.weight() {
                p.push_checked(
                    dir.join(file),
                    conv(w).to_string(),
                    "resources.blockIO.weight",
                )?;
            }
            for d in b.weight_device().iter().flatten() {
                if let Some(w) = d.weight() {
                    p.push_checked(
                        dir.join(file),
                        format!("{}:{} {}", d.major(), d.minor(), conv(w)),
                        "resources.blockIO.weightDevice",
                    )?;
                }
            }
            for (field, lines, _, key) in throttles {
                for (ma, mi, rate) in lines {
                    p.push_checked(dir.join("io.max"), format!("{ma}:{mi} {key}={rate}"), field)?;
                }
            }
        }
    }
    Ok(())
}

fn hugetlb<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(list) = r.hugepage_limits() else {
        return Ok(());
    };
    if list.is_empty() {
        return Ok(());
    }
    let (v, dir) = p.dir("hugetlb", "resources.hugepageLimits")?;
    for h in list {
        let size = h.page_size();
        let ok = size.is_ascii()
            && size.len() > 2
            && size.ends_with('B')
            && size[..size.len() - 2].chars().all(|c| c.is_ascii_digit())
            && matches!(&size[size.len() - 2..], "KB" | "MB" | "GB");
        if !ok {
            return Err(invalid(
                "resources.hugepageLimits.pageSize",
                size,
                "expected a size like 2MB or 1GB",
            ));
        }
        if h.limit() < -1 {
            return Err(invalid(
                "resources.hugepageLimits.limit",
                h.limit(),
                "must be -1 or a number of bytes",
            ));
        }
        let (file, val) = match v {
            Version::V1 => (
                format!("hugetlb.{size}.limit_in_bytes"),
                h.limit().to_string(),
            ),
            Version::V2 => (format!("hugetlb.{size}.max"), limit_str(h.limit(), true)),
        };
        p.push_checked(dir.join(file), val, "resources.hugepageLimits.pageSize")?;
    }
    Ok(())
}

fn network<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(n) = r.network() else { return Ok(()) };
    if let Some(id) = n.class_id() {
        let (_, dir) = p.dir("net_cls", "resources.network.classID")?;
        p.push(dir.join("net_cls.classid"), id.to_string());
    }
    if let Some(prios) = n.priorities().as_ref().filter(|v| !v.is_empty()) {
        let (_, dir) = p.dir("net_prio", "resources.network.priorities")?;
        for pr in prios {
            if pr.name().is_empty() || pr.name().contains(char::is_whitespace) {
                return Err(invalid(
                    "resources.network.priorities.name",
                    pr.name(),
                    "must be an interface name",
                ));
            }
            p.push(
                dir.join("net_prio.ifpriomap"),
                format!("{} {}", pr.name(), pr.priority()),
            );
        }
    }
    Ok(())
}

/// `rdma.max` lines, one per device (same file on v1 and v2).
fn rdma<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(devices) = r.rdma().as_ref().filter(|m| !m.is_empty()) else {
        return Ok(());
    };
    let (_, dir) = p.dir("rdma", "resources.rdma")?;
    // Sorted so the write order (and any error) does not depend on HashMap order.
    let mut names: Vec<&String> = devices.keys().collect();
    names.sort();
    for name in names {
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(invalid(
                "resources.rdma",
                name,
                "must be an RDMA device name",
            ));
        }
        let limit = |v: Option<u32>| v.map_or_else(|| "max".to_string(), |n| n.to_string());
        let d = &devices[name];
        p.push(
            dir.join("rdma.max"),
            format!(
                "{name} hca_handle={} hca_object={}",
                limit(d.hca_handles()),
                limit(d.hca_objects())
            ),
        );
    }
    Ok(())
}

fn unified<L: Locate>(p: &mut Planner<L>, r: &LinuxResources) -> Result<()> {
    let Some(u) = r.unified() else { return Ok(()) };
    // Sorted so the write order (and any error) does not depend on HashMap order.
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        let field = format!("resources.unified.{k}");
        let Some((ctrl, _)) = k.split_once('.') else {
            return Err(invalid(
                field,
                k,
                "key must be a cgroup v2 file name like memory.high",
            ));
        };
        if k.contains('/')
            || ctrl.is_empty()
            || k == "cgroup.procs"
            || k == "cgroup.threads"
            || k == "cgroup.subtree_control"
        {
            return Err(invalid(field, k, "not a settable cgroup v2 resource file"));
        }
        // Only keys whose controller lives on the v2 hierarchy (all of them on pure v2).
        let dir = match p.loc.locate(ctrl) {
            Some((Version::V2, d)) => d.to_owned(),
            // runc refuses these as a configuration error, not a missing controller.
            Some((Version::V1, _)) => {
                return Err(invalid(
                    field,
                    &u[k],
                    format!("an invalid configuration on this host: the {ctrl} controller is on cgroup v1, and unified resources are cgroup v2 files"),
                ))
            }
            _ if ctrl == "cgroup" => match p.loc.locate("") {
                Some((Version::V2, d)) => d.to_owned(),
                _ => {
                    return Err(Error::NoController {
                        field,
                        controller: "cgroup2".into(),
                    })
                }
            },
            _ => {
                return Err(Error::NoController {
                    field,
                    controller: format!("{ctrl} (on cgroup v2)"),
                })
            }
        };
        p.push_checked(dir.join(k), u[k].clone(), &field)?;
    }
    Ok(())
}
