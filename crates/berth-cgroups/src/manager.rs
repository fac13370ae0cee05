//! One container's cgroup across every mounted hierarchy.
//!
//! Control files are written directly instead of through cgroups-rs: cgroups-rs picks v1 or
//! v2 for the whole host (`hierarchies::auto()` statfs's /sys/fs/cgroup), so on hybrid hosts it
//! cannot reach controllers that only exist on /sys/fs/cgroup/unified (hugetlb here), and it
//! re-reads mountinfo and /proc/self/cgroup on its create path. Here `new` reads mountinfo once
//! and `create`/`apply`/`add_process` only touch the files they must.

use crate::error::{Error, Result};
use crate::fsio;
use crate::layout::{self, Version};
use crate::resources::{self, Locate, Write};
use crate::stats::{self, Stats};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The container's directory in one hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Node {
    pub(crate) version: Version,
    pub(crate) mount: PathBuf,
    pub(crate) dir: PathBuf,
    /// Controllers this manager uses from this hierarchy.
    pub(crate) controllers: Vec<String>,
    /// The top of a subtree delegated to an unprivileged caller: controllers are
    /// enabled from here down only (the ancestors above belong to root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delegated: Option<PathBuf>,
}

/// One container's cgroup across all hierarchies; serializable so container state can keep it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    pub(crate) id: String,
    pub(crate) nodes: Vec<Node>,
}

impl Locate for Manager {
    fn locate(&self, controller: &str) -> Option<(Version, &Path)> {
        self.node(controller).map(|n| (n.version, n.dir.as_path()))
    }
}

impl Manager {
    /// `cgroups_path` is `linux.cgroupsPath` (None means "/berth/<id>"). Absolute paths are
    /// taken relative to each hierarchy's mount point; relative ones are placed under this
    /// process's own cgroup in each hierarchy (as runc's cgroupfs driver does).
    /// Detects the layout; makes no changes.
    pub fn new(cgroups_path: Option<&str>, id: &str) -> Result<Manager> {
        let mi_path = Path::new("/proc/self/mountinfo");
        let mountinfo = fsio::read(mi_path)?;
        let relative = cgroups_path.is_some_and(|p| !p.starts_with('/'));
        let own = if relative {
            Some(fsio::read(Path::new("/proc/self/cgroup"))?)
        } else {
            None
        };
        Self::from_mountinfo(&mountinfo, own.as_deref(), cgroups_path, id)
    }

    /// Like `new`, with the mountinfo and /proc/self/cgroup texts given: lets tests point the
    /// manager at a fake cgroup tree (mount points are taken from the text).
    pub fn from_mountinfo(
        mountinfo: &str,
        own_cgroup: Option<&str>,
        cgroups_path: Option<&str>,
        id: &str,
    ) -> Result<Manager> {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(crate::error::invalid(
                "container id",
                id,
                "must be non-empty and contain no '/'",
            ));
        }
        let default_path = format!("/berth/{id}");
        let inner = cgroups_path
            .filter(|p| !p.is_empty())
            .unwrap_or(&default_path);
        layout::check_inner(inner)?;
        let own = own_cgroup.map(layout::parse_proc_cgroup);
        let mounts = layout::parse_mountinfo(mountinfo);
        if mounts.is_empty() {
            return Err(Error::NoHierarchy {
                source_name: "/proc/self/mountinfo".into(),
            });
        }
        let v1: Vec<String> = mounts
            .iter()
            .filter(|m| m.version == Version::V1)
            .flat_map(|m| m.controllers.clone())
            .collect();
        let mut nodes = Vec::with_capacity(mounts.len());
        for m in &mounts {
            let controllers = match m.version {
                Version::V1 => m.controllers.clone(),
                Version::V2 => {
                    // A controller bound to v1 never shows up here, but be explicit for odd hosts.
                    let f = m.mount_point.join("cgroup.controllers");
                    fsio::read_opt(&f)?
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter(|c| !v1.iter().any(|x| x == c))
                        .map(str::to_owned)
                        .collect()
                }
            };
            let dir = layout::resolve_dir(m, inner, own.as_deref())?;
            if !layout::is_under(&dir, &m.mount_point) {
                return Err(crate::error::invalid(
                    "linux.cgroupsPath",
                    inner,
                    "resolves to a hierarchy root",
                ));
            }
            nodes.push(Node {
                version: m.version,
                mount: m.mount_point.clone(),
                dir,
                controllers,
                delegated: None,
            });
        }
        Ok(Manager {
            id: id.to_owned(),
            nodes,
        })
    }

    fn node(&self, controller: &str) -> Option<&Node> {
        if controller.is_empty() || controller == "unified" {
            return self.nodes.iter().find(|n| n.version == Version::V2);
        }
        self.nodes
            .iter()
            .find(|n| n.controllers.iter().any(|c| c == controller))
    }

    /// The directory holding `controller` ("" or "unified" for the cgroup2 directory).
    pub fn path(&self, controller: &str) -> Option<&Path> {
        self.node(controller).map(|n| n.dir.as_path())
    }

    /// Every directory this manager uses, one per hierarchy.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.nodes.iter().map(|n| n.dir.as_path())
    }

    /// True when every controller comes from cgroup v2.
    pub fn is_unified(&self) -> bool {
        self.nodes.iter().all(|n| n.version == Version::V2)
    }

    /// Creates the directory (and missing parents) in every hierarchy. On failure removes
    /// whatever it created.
    pub fn create(&self) -> Result<()> {
        let mut created = Vec::new();
        let r = self.create_inner(&mut created);
        if r.is_err() {
            for d in created.iter().rev() {
                let _ = std::fs::remove_dir(d);
            }
        }
        r
    }

    fn create_inner(&self, created: &mut Vec<PathBuf>) -> Result<()> {
        for n in &self.nodes {
            let first = created.len();
            mkdir_p(&n.dir, &n.mount, created)?;
            match n.version {
                Version::V2 if !n.controllers.is_empty() => {
                    // Controllers must be enabled in every ancestor's subtree_control.
                    let line = n
                        .controllers
                        .iter()
                        .map(|c| format!("+{c}"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let mut ancestors: Vec<&Path> = n
                        .dir
                        .ancestors()
                        .skip(1)
                        .take_while(|a| a.starts_with(n.delegated.as_ref().unwrap_or(&n.mount)))
                        .collect();
                    ancestors.reverse();
                    for a in ancestors {
                        fsio::write(&a.join("cgroup.subtree_control"), &line)?;
                    }
                }
                Version::V1
                    if n.controllers.iter().any(|c| c == "cpuset") && created.len() > first =>
                {
                    // New v1 cpusets start empty and refuse tasks: copy from the nearest
                    // ancestor that has both sets. Empty ancestors (a parent another start is
                    // still filling) are filled too, so concurrent creates cannot race to "".
                    let mut empty = vec![n.dir.clone()];
                    let mut cur = n.dir.parent();
                    let (cpus, mems) = loop {
                        let Some(p) = cur.filter(|p| p.starts_with(&n.mount)) else {
                            return Err(Error::Read {
                                path: n.mount.join("cpuset.cpus"),
                                source: std::io::Error::other(
                                    "no ancestor cpuset has cpus and mems",
                                ),
                            });
                        };
                        let cpus = fsio::read(&p.join("cpuset.cpus"))?;
                        let mems = fsio::read(&p.join("cpuset.mems"))?;
                        if !cpus.trim().is_empty() && !mems.trim().is_empty() {
                            break (cpus, mems);
                        }
                        empty.push(p.to_owned());
                        cur = p.parent();
                    };
                    for d in empty.iter().rev() {
                        fsio::write(&d.join("cpuset.cpus"), cpus.trim())?;
                        fsio::write(&d.join("cpuset.mems"), mems.trim())?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Applies every resource (validated first: a rejected call writes nothing). Meant for a
    /// freshly created cgroup; device rules are written in the order given.
    pub fn apply(&self, r: &LinuxResources) -> Result<()> {
        let plan = resources::plan(self, r, true).map_err(|e| self.explain_missing(e))?;
        for w in &plan.writes {
            self.write(w)?;
        }
        if let Some((dir, rules)) = &plan.devices {
            crate::device_filter::attach(dir, rules)?;
        }
        Ok(())
    }

    /// Changes limits of a live cgroup, all or nothing: every file about to be written is read
    /// first and restored (newest first) if a later write fails. Device rules are not updated
    /// (as with `runc update`); they are ignored with a debug log.
    pub fn update(&self, r: &LinuxResources) -> Result<()> {
        let plan = self.update_plan(r)?;
        let mut old: Vec<(PathBuf, String)> = Vec::new();
        for w in &plan.writes {
            if !old.iter().any(|(p, _)| p == &w.path) {
                old.push((w.path.clone(), fsio::read(&w.path)?));
            }
        }
        for (i, w) in plan.writes.iter().enumerate() {
            if let Err(e) = self.write(w) {
                for done in plan.writes[..i].iter().rev() {
                    let prev = &old
                        .iter()
                        .find(|(p, _)| p == &done.path)
                        .map(|(_, v)| v.as_str())
                        .unwrap_or("");
                    if let Some(v) = restore_value(&done.path, prev, &done.value) {
                        if let Err(re) = fsio::write(&done.path, &v) {
                            return Err(Error::Rollback {
                                original: Box::new(e),
                                restore: Box::new(re),
                            });
                        }
                    }
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// What [`update`](Self::update) would write for `r`, as (control file, value) in write
    /// order, without writing anything: `r` is validated exactly as `update` validates it
    /// (reading the current values that a new limit is checked against).
    pub fn plan_update(&self, r: &LinuxResources) -> Result<Vec<(PathBuf, String)>> {
        let plan = self.update_plan(r)?;
        Ok(plan.writes.into_iter().map(|w| (w.path, w.value)).collect())
    }

    fn update_plan(&self, r: &LinuxResources) -> Result<resources::Plan> {
        let mut r = r.clone();
        if r.devices().is_some() {
            log::debug!(
                "cgroup update: device rules are only applied at create time; ignoring them"
            );
            r.set_devices(None);
        }
        resources::plan(self, &r, false).map_err(|e| self.explain_missing(e))
    }

    /// Writes one value, turning the kernel's EBUSY on a v1 memory limit into a clear error.
    fn write(&self, w: &Write) -> Result<()> {
        match fsio::write(&w.path, &w.value) {
            Err(Error::Write { source, .. })
                if w.may_wait && source.raw_os_error() == Some(libc::EINVAL) =>
            {
                Ok(())
            }
            Err(Error::Write {
                path,
                value,
                source,
            }) if source.raw_os_error() == Some(libc::EBUSY) && is_mem_limit(&path) => {
                let dir = path.parent().unwrap_or(&path);
                let usage = fsio::read_u64(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
                Err(Error::MemoryBelowUsage {
                    path,
                    limit: value,
                    usage,
                })
            }
            r => r,
        }
    }

    /// Moves `pid` into the container's cgroup in every hierarchy.
    pub fn add_process(&self, pid: i32) -> Result<()> {
        let s = pid.to_string();
        for n in &self.nodes {
            fsio::write(&n.dir.join("cgroup.procs"), &s)?;
        }
        Ok(())
    }

    /// Moves `pid` into existing sub-cgroups of the container's cgroup
    /// (`berth exec --cgroup`, as runc): each entry is `path` (every hierarchy)
    /// or `controller[,controller...]:path` (the hierarchies holding those
    /// controllers, before a plain `path`); a hierarchy no entry names gets the
    /// container's own cgroup. `path` is relative to the container's cgroup
    /// (`/` is the container's own) and may not contain `.` or `..`. Nothing is
    /// created: a missing sub-cgroup is an error, as with runc.
    pub fn add_process_to(&self, pid: i32, entries: &[String]) -> Result<()> {
        let field = "exec --cgroup";
        let mut every: Option<(&str, &str)> = None;
        let mut named: Vec<(&str, &str, &str)> = Vec::new(); // (controller, path, entry)
        for entry in entries {
            let (ctrls, rel) = match entry.split_once(':') {
                Some((c, p)) => (Some(c), p),
                None => (None, entry.as_str()),
            };
            let rel = rel.trim_start_matches('/');
            if rel.contains('\0') || rel.split('/').any(|c| c == ".." || c == ".") {
                return Err(crate::error::invalid(
                    field,
                    entry,
                    "bad sub cgroup path: it must stay inside the container's cgroup (no '.' or '..')",
                ));
            }
            let Some(ctrls) = ctrls else {
                every = Some((rel, entry));
                continue;
            };
            for c in ctrls.split(',').map(str::trim) {
                if c.is_empty() {
                    return Err(crate::error::invalid(
                        field,
                        entry,
                        "empty controller name before ':'",
                    ));
                }
                if self.node(c).is_none() {
                    return Err(crate::error::invalid(
                        field,
                        entry,
                        format!("unknown controller {c}"),
                    ));
                }
                named.push((c, rel, entry));
            }
        }
        let s = pid.to_string();
        for n in &self.nodes {
            let chosen = named
                .iter()
                .find(|(c, _, _)| {
                    n.controllers.iter().any(|x| x == c)
                        || (n.version == Version::V2 && (*c == "unified" || c.is_empty()))
                })
                .map(|(_, rel, entry)| (*rel, *entry))
                .or(every);
            let Some((rel, entry)) = chosen else {
                fsio::write(&n.dir.join("cgroup.procs"), &s)?;
                continue;
            };
            let dir = n.dir.join(rel);
            fsio::write(&dir.join("cgroup.procs"), &s).map_err(|e| {
                crate::error::invalid(
                    field,
                    entry,
                    format!("adding pid {pid} to {}: {e}", dir.display()),
                )
            })?;
        }
        Ok(())
    }

    /// The freezer: v1 freezer controller, else cgroup.freeze of the v2 directory.
    fn freezer(&self) -> Result<&Node> {
        self.node("freezer")
            .or_else(|| self.node(""))
            .ok_or_else(|| Error::NoController {
                field: "freeze".into(),
                controller: "freezer".into(),
            })
    }

    fn set_frozen(&self, frozen: bool) -> Result<()> {
        let n = self.freezer()?;
        let (file, val) = match n.version {
            Version::V1 => ("freezer.state", if frozen { "FROZEN" } else { "THAWED" }),
            Version::V2 => ("cgroup.freeze", if frozen { "1" } else { "0" }),
        };
        let path = n.dir.join(file);
        // The kernel freezes asynchronously; poll briefly (v1 may need the write repeated).
        let mut delay = Duration::from_micros(100);
        for _ in 0..40 {
            fsio::write(&path, val)?;
            if self.is_frozen_at(n)? == frozen {
                return Ok(());
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(50));
        }
        Err(Error::Timeout {
            path,
            what: if frozen {
                "processes to freeze"
            } else {
                "processes to thaw"
            },
        })
    }

    fn is_frozen_at(&self, n: &Node) -> Result<bool> {
        Ok(match n.version {
            Version::V1 => fsio::read(&n.dir.join("freezer.state"))?.trim() == "FROZEN",
            Version::V2 => fsio::read_flat_keyed(&n.dir.join("cgroup.events"))?
                .iter()
                .any(|(k, v)| k == "frozen" && *v == 1),
        })
    }

    pub fn freeze(&self) -> Result<()> {
        self.set_frozen(true)
    }

    pub fn thaw(&self) -> Result<()> {
        self.set_frozen(false)
    }

    pub fn is_frozen(&self) -> Result<bool> {
        self.is_frozen_at(self.freezer()?)
    }

    /// Every pid in the container's cgroup and its sub-cgroups.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let n = self.freezer().or_else(|_| {
            self.nodes.first().ok_or(Error::NoHierarchy {
                source_name: "manager".into(),
            })
        })?;
        let mut out = Vec::new();
        collect_pids(&n.dir, &mut out)?;
        Ok(out)
    }

    /// Signals every process. Processes are frozen while being signalled so none can fork away;
    /// SIGKILL on cgroup v2 uses cgroup.kill when the kernel has it.
    pub fn kill_all(&self, signal: i32) -> Result<()> {
        if signal == libc::SIGKILL {
            if let Some(n) = self.node("") {
                let f = n.dir.join("cgroup.kill");
                if f.exists() {
                    return fsio::write(&f, "1");
                }
            }
        }
        let freezable = self.freezer().is_ok();
        if freezable {
            self.freeze()?;
        }
        let res = (|| {
            let dir = self.freezer().map(|n| n.dir.clone()).unwrap_or_default();
            for pid in self.pids()? {
                // SAFETY: plain kill(2); a pid that already exited is not an error.
                if unsafe { libc::kill(pid, signal) } != 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() != Some(libc::ESRCH) {
                        return Err(Error::Signal {
                            signal,
                            pid,
                            path: dir.clone(),
                            source: e,
                        });
                    }
                }
            }
            Ok(())
        })();
        if freezable {
            self.thaw()?;
        }
        res
    }

    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        match (self.node("cpu"), self.node("cpuacct")) {
            (Some(c), _) if c.version == Version::V2 => stats::cpu_v2(&c.dir, &mut s.cpu)?,
            (c, a) if c.is_some() || a.is_some() => stats::cpu_v1(
                c.map(|n| n.dir.as_path()),
                a.map(|n| n.dir.as_path()),
                &mut s.cpu,
            )?,
            _ => {
                if let Some(n) = self.node("") {
                    stats::cpu_v2(&n.dir, &mut s.cpu)?;
                }
            }
        }
        if let Some(n) = self.node("memory") {
            stats::memory(n.version, &n.dir, &mut s.memory)?;
            s.memory.oom_kill = self.oom_kill_count().unwrap_or(0);
        }
        if let Some(n) = self.node("pids") {
            stats::pids(&n.dir, &mut s.pids)?;
        }
        if let Some(n) = self.node("blkio").or_else(|| self.node("io")) {
            stats::blkio(n.version, &n.dir, &mut s.blkio)?;
        }
        if let Some(n) = self.node("hugetlb") {
            stats::hugetlb(n.version, &n.dir, &mut s.hugetlb)?;
        }
        Ok(s)
    }

    /// How many processes the kernel OOM-killed in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64> {
        Ok(self.oom_counts()?.kills)
    }

    /// The kernel's OOM counters of this cgroup, read together from one file.
    pub fn oom_counts(&self) -> Result<OomCounts> {
        let n = self.node("memory").ok_or_else(|| Error::NoController {
            field: "oom counts".into(),
            controller: "memory".into(),
        })?;
        let file = match n.version {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        };
        let flat = fsio::read_flat_keyed(&n.dir.join(file))?;
        Ok(OomCounts {
            ooms: match n.version {
                Version::V1 => None,
                Version::V2 => Some(fsio::keyed(&flat, "oom")),
            },
            kills: fsio::keyed(&flat, "oom_kill"),
        })
    }

    /// A file descriptor the kernel makes readable when this cgroup's memory
    /// controller records an OOM event (see `OomWatch`).
    pub fn watch_oom(&self) -> Result<crate::OomWatch> {
        let n = self.node("memory").ok_or_else(|| Error::NoController {
            field: "oom events".into(),
            controller: "memory".into(),
        })?;
        crate::OomWatch::new(n.version, &n.dir)
    }

    /// Removes the directory (and any sub-cgroups) in every hierarchy; missing ones are fine.
    pub fn destroy(&self) -> Result<()> {
        let mut first_err = None;
        for n in &self.nodes {
            if let Err(e) = remove_tree(&n.dir) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

fn is_mem_limit(p: &Path) -> bool {
    matches!(
        p.file_name().and_then(|f| f.to_str()),
        Some("memory.limit_in_bytes" | "memory.memsw.limit_in_bytes")
    )
}

/// mkdir that creates missing parents only when needed: the common case (parent exists) costs
/// one syscall. Records what it made, parents first.
fn mkdir_p(dir: &Path, mount: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound && dir != mount => {
            let parent = dir.parent().unwrap_or(mount);
            mkdir_p(parent, mount, created)?;
            match std::fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
                Err(source) => {
                    return Err(Error::Create {
                        path: dir.to_owned(),
                        source,
                    })
                }
            }
        }
        Err(source) => {
            return Err(Error::Create {
                path: dir.to_owned(),
                source,
            })
        }
    }
    created.push(dir.to_owned());
    Ok(())
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    let Some(text) = fsio::read_opt(&procs)? else {
        return Ok(());
    };
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let pid = fsio::parse_u64(&procs, l)?;
        out.push(pid as i32);
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&e.path(), out)?;
            }
        }
    }
    Ok(())
}

/// rmdir, descending into sub-cgroups only when the kernel says the directory is busy, and
/// retrying briefly while exiting tasks leave.
fn remove_tree(dir: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(5);
    for attempt in 0..8 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e)
                if attempt < 7
                    && matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) =>
            {
                if let Ok(rd) = std::fs::read_dir(dir) {
                    for c in rd.flatten() {
                        if c.file_type().is_ok_and(|t| t.is_dir()) {
                            remove_tree(&c.path())?;
                        }
                    }
                }
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(source) => {
                return Err(Error::Remove {
                    path: dir.to_owned(),
                    source,
                })
            }
        }
    }
    Err(Error::Timeout {
        path: dir.to_owned(),
        what: "the cgroup to become empty",
    })
}

/// What to write to undo `written` given the file's earlier content. Keyed files (per device or
/// interface) restore just that key; files read back in another format are translated.
fn restore_value(path: &Path, old: &str, written: &str) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    if name == "memory.oom_control" {
        return old
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill_disable "))
            .map(|v| v.trim().to_owned());
    }
    let keyed_file = name.ends_with("_device")
        || name == "io.max"
        || name == "net_prio.ifpriomap"
        || ((name == "io.weight" || name.ends_with("bfq.weight")) && written.contains(':'));
    if keyed_file {
        let key = written.split_whitespace().next()?;
        if let Some(line) = old
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
        {
            return Some(line.trim().to_owned());
        }
        return Some(if name == "io.max" {
            format!("{key} rbps=max wbps=max riops=max wiops=max")
        } else {
            format!("{key} 0")
        });
    }
    if let Some(d) = old.lines().find_map(|l| l.strip_prefix("default ")) {
        return Some(d.trim().to_owned());
    }
    Some(old.trim().to_owned())
}

/// A memory cgroup's OOM counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OomCounts {
    /// Times the cgroup ran out of memory (v2's `oom`), counted before the killer
    /// acts; v1 keeps no such count.
    pub ooms: Option<u64>,
    /// Processes the OOM killer killed (`oom_kill`), counted after its SIGKILL.
    pub kills: u64,
}
