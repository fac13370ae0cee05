//! Where a container's cgroup files are on this host, for tests that assert on
//! them: the hybrid layout (a v1 hierarchy per controller under
//! /sys/fs/cgroup/<ctrl>, cgroup2 at /sys/fs/cgroup/unified) or pure cgroup v2
//! (one hierarchy at /sys/fs/cgroup). The same test runs on both; where the
//! kernel shows a limit differently, the test says what each layout shows.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// v1 controllers, with a cgroup2 mount at /sys/fs/cgroup/unified.
    Hybrid,
    /// cgroup2 alone at /sys/fs/cgroup.
    Unified,
}

/// The layout of this host, from the file system type of /sys/fs/cgroup.
pub fn layout() -> Layout {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let path = std::ffi::CString::new(ROOT).unwrap();
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(path.as_ptr(), &mut st) };
    assert_eq!(rc, 0, "statfs {ROOT}: {}", std::io::Error::last_os_error());
    if st.f_type as i64 == CGROUP2_SUPER_MAGIC {
        Layout::Unified
    } else {
        Layout::Hybrid
    }
}

pub fn is_v2() -> bool {
    layout() == Layout::Unified
}

/// `v1` on the hybrid layout, `v2` on pure v2.
pub fn by_layout<T>(v1: T, v2: T) -> T {
    match layout() {
        Layout::Hybrid => v1,
        Layout::Unified => v2,
    }
}

/// A cgroup, by its path relative to the hierarchy roots (e.g. "berth/ID").
#[derive(Debug, Clone)]
pub struct Cgroup {
    pub path: String,
}

impl Cgroup {
    pub fn new(path: &str) -> Cgroup {
        Cgroup {
            path: path.trim_matches('/').to_string(),
        }
    }

    /// A container's cgroup under berth's default parent.
    pub fn container(id: &str) -> Cgroup {
        Cgroup::new(&format!("berth/{id}"))
    }

    pub fn child(&self, sub: &str) -> Cgroup {
        Cgroup::new(&format!("{}/{}", self.path, sub.trim_matches('/')))
    }

    /// The directory that holds `ctrl`'s files for this cgroup. On the
    /// hybrid layout hugetlb is only on the unified mount (this machine's
    /// kernel has no v1 hugetlb hierarchy); "unified" names that mount.
    pub fn dir(&self, ctrl: &str) -> PathBuf {
        match layout() {
            Layout::Unified => Path::new(ROOT).join(&self.path),
            Layout::Hybrid => {
                // "unified" names the cgroup2 mount itself.
                let hier = if ctrl == "hugetlb" { "unified" } else { ctrl };
                Path::new(ROOT).join(hier).join(&self.path)
            }
        }
    }

    /// The file `v1` of `ctrl` on the hybrid layout, `v2` on pure v2.
    pub fn file(&self, ctrl: &str, v1: &str, v2: &str) -> PathBuf {
        self.dir(ctrl).join(by_layout(v1, v2))
    }

    /// A file's contents, trimmed; panics naming the file when it cannot be read.
    pub fn read(&self, ctrl: &str, v1: &str, v2: &str) -> String {
        read_trimmed(&self.file(ctrl, v1, v2))
    }

    /// The processes in this cgroup (the pids hierarchy's view on hybrid).
    pub fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir("pids").join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    pub fn exists(&self) -> bool {
        self.dir("pids").exists()
    }

    /// Every directory this cgroup may have: one per mounted hierarchy.
    pub fn all_dirs(&self) -> Vec<PathBuf> {
        let mut out = vec![Path::new(ROOT).join(&self.path)];
        if layout() == Layout::Hybrid {
            if let Ok(entries) = std::fs::read_dir(ROOT) {
                for e in entries.flatten() {
                    out.push(e.path().join(&self.path));
                }
            }
        }
        out
    }
}

pub fn read_trimmed(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// A resource limit as the OCI config names it, read back from whichever
/// file holds it on this layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// v1 cpu.shares; v2 cpu.weight (runc's conversion, so a different number).
    CpuShares,
    /// v1 cpu.cfs_quota_us; v2 cpu.max's first field ("max" shown as -1).
    CpuQuota,
    /// v1 cpu.cfs_period_us; v2 cpu.max's second field.
    CpuPeriod,
    Cpus,
    Mems,
    /// v1 memory.limit_in_bytes; v2 memory.max.
    Memory,
    /// v1 memory.soft_limit_in_bytes; v2 memory.low.
    MemoryReservation,
    /// OCI's memory+swap: v1 memory.memsw.limit_in_bytes; v2 memory.max + memory.swap.max.
    MemorySwap,
    Pids,
    /// The 2 MB huge page limit (hugetlb.2MB.max; on hybrid, on the unified mount).
    Hugetlb2MB,
    /// The block I/O weight: v1 blkio.weight or blkio.bfq.weight; v2 io.bfq.weight
    /// (the v1 range) or io.weight (runc's conversion).
    BlkioWeight,
}

impl Limit {
    /// Every limit, for before/after comparisons.
    pub const ALL: [Limit; 11] = [
        Limit::CpuShares,
        Limit::CpuQuota,
        Limit::CpuPeriod,
        Limit::Cpus,
        Limit::Mems,
        Limit::Memory,
        Limit::MemoryReservation,
        Limit::MemorySwap,
        Limit::Pids,
        Limit::Hugetlb2MB,
        Limit::BlkioWeight,
    ];
}

impl Cgroup {
    /// The file that holds `limit` (the first of them for memory+swap on v2),
    /// or None when this kernel has no such file.
    fn limit_file(&self, limit: Limit) -> Option<PathBuf> {
        use Limit::*;
        let (ctrl, v1, v2) = match limit {
            CpuShares => ("cpu", "cpu.shares", "cpu.weight"),
            CpuQuota => ("cpu", "cpu.cfs_quota_us", "cpu.max"),
            CpuPeriod => ("cpu", "cpu.cfs_period_us", "cpu.max"),
            Cpus => ("cpuset", "cpuset.cpus", "cpuset.cpus"),
            Mems => ("cpuset", "cpuset.mems", "cpuset.mems"),
            Memory => ("memory", "memory.limit_in_bytes", "memory.max"),
            MemoryReservation => ("memory", "memory.soft_limit_in_bytes", "memory.low"),
            MemorySwap => ("memory", "memory.memsw.limit_in_bytes", "memory.swap.max"),
            Pids => ("pids", "pids.max", "pids.max"),
            Hugetlb2MB => ("hugetlb", "hugetlb.2MB.max", "hugetlb.2MB.max"),
            BlkioWeight => {
                let (ctrl, names) = match layout() {
                    Layout::Hybrid => ("blkio", ["blkio.weight", "blkio.bfq.weight"]),
                    Layout::Unified => ("io", ["io.bfq.weight", "io.weight"]),
                };
                let dir = self.dir(ctrl);
                return names.iter().map(|n| dir.join(n)).find(|p| p.exists());
            }
        };
        let p = self.file(ctrl, v1, v2);
        p.exists().then_some(p)
    }

    /// Whether this kernel has a file for `limit` in this cgroup.
    pub fn has(&self, limit: Limit) -> bool {
        self.limit_file(limit).is_some()
    }

    /// `limit` as the kernel shows it now.
    pub fn limit(&self, limit: Limit) -> String {
        let file = self
            .limit_file(limit)
            .unwrap_or_else(|| panic!("no file for {limit:?} in {}", self.path));
        let text = read_trimmed(&file);
        match (layout(), limit) {
            (Layout::Unified, Limit::CpuQuota | Limit::CpuPeriod) => {
                let mut f = text.split_whitespace();
                let (q, p) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                match limit {
                    Limit::CpuQuota if q == "max" => "-1".into(),
                    Limit::CpuQuota => q.into(),
                    _ => p.into(),
                }
            }
            (Layout::Unified, Limit::MemorySwap) => {
                let mem = read_trimmed(&self.dir("memory").join("memory.max"));
                match (mem.parse::<u64>(), text.parse::<u64>()) {
                    (Ok(m), Ok(s)) => (m + s).to_string(),
                    _ => "max".into(),
                }
            }
            // "default N" (and per-device lines after it) on v2 and BFQ.
            (_, Limit::BlkioWeight) => text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("default ")
                .to_string(),
            _ => text,
        }
    }

    /// Every limit this kernel has a file for, with its value.
    pub fn limits(&self) -> Vec<(Limit, String)> {
        Limit::ALL
            .iter()
            .filter(|l| self.has(**l))
            .map(|l| (*l, self.limit(*l)))
            .collect()
    }

    /// Whether the kernel reports this cgroup frozen (v1 freezer.state;
    /// v2 cgroup.events' `frozen`, set once every task has stopped).
    pub fn frozen(&self) -> bool {
        match layout() {
            Layout::Hybrid => read_trimmed(&self.dir("freezer").join("freezer.state")) == "FROZEN",
            Layout::Unified => read_trimmed(&self.dir("freezer").join("cgroup.events"))
                .lines()
                .any(|l| l == "frozen 1"),
        }
    }
}

impl Cgroup {
    /// How many eBPF device programs are attached to this cgroup's cgroup2
    /// directory (BPF_PROG_QUERY; on hybrid, the one under the unified mount).
    pub fn device_programs(&self) -> u32 {
        const BPF_PROG_QUERY: libc::c_long = 16;
        const BPF_CGROUP_DEVICE: u32 = 6;
        let dir = self.dir("unified");
        let f = std::fs::File::open(&dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
        let mut ids = [0u32; 64];
        // bpf_attr's query: target_fd, attach_type, query_flags, attach_flags,
        // then (8-aligned) the prog_ids pointer and prog_cnt.
        let mut attr = [0u32; 32];
        attr[0] = std::os::fd::AsRawFd::as_raw_fd(&f) as u32;
        attr[1] = BPF_CGROUP_DEVICE;
        let ptr = ids.as_mut_ptr() as u64;
        attr[4] = ptr as u32;
        attr[5] = (ptr >> 32) as u32;
        attr[6] = ids.len() as u32;
        // SAFETY: attr and ids outlive the call; the size covers the query fields.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_QUERY,
                attr.as_mut_ptr(),
                std::mem::size_of_val(&attr),
            )
        };
        assert_eq!(
            rc,
            0,
            "BPF_PROG_QUERY {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        );
        attr[6]
    }
}
