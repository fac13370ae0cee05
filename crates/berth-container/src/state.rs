//! The state store: one directory per container under the runtime root,
//! holding `state.json` (written atomically) and the exec fifo. The
//! directory itself is the lock: `flock` on its fd serialises commands on one id.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

use crate::{procfs, Error, Result};

pub const STATE_FILE: &str = "state.json";
const INTENT_FILE: &str = "intent.json";
pub const EXEC_FIFO: &str = "exec.fifo";

/// Status as the OCI runtime spec (and runc, which adds `paused`) reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What berth keeps about a container between commands. The fields stay inside the crate so
/// that the cgroup and the saved config change only under the lock (see `Container`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Saved {
    #[serde(rename = "ociVersion")]
    pub(crate) oci_version: String,
    pub(crate) id: String,
    /// Init's pid in the host pid namespace.
    pub(crate) pid: i32,
    /// Init's start time (clock ticks since boot): guards against pid reuse.
    pub(crate) start_time: u64,
    pub(crate) bundle: PathBuf,
    pub(crate) rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) annotations: HashMap<String, String>,
    pub(crate) cgroup: berth_cgroups::Manager,
    /// Whether berth-net set up networking and must tear it down.
    #[serde(default)]
    pub(crate) network: bool,
    /// The config the container was created from (exec and delete hooks need it).
    pub(crate) config: Spec,
}

/// What a create in progress has made or is about to make. It is recorded
/// before each resource exists, so `delete -f` can undo a create that was
/// killed half-way; every undo step tolerates a resource that was never made.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Intent {
    pub cgroup: Option<berth_cgroups::Manager>,
    pub network: bool,
    /// The container process and its start time, once known.
    pub pid: Option<(i32, u64)>,
}

/// The OCI state JSON as `berth state` prints it and hooks receive it.
#[derive(Debug, Serialize)]
pub struct OciState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

/// The runtime's state root (runc's `--root`).
#[derive(Clone, Debug)]
pub struct Root(PathBuf);

impl Root {
    pub fn new(path: impl Into<PathBuf>) -> Root {
        Root(path.into())
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn dir(&self, id: &str) -> PathBuf {
        self.0.join(id)
    }
    /// Ids of every container with a state directory, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.0) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read state root", &self.0, e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

/// A held lock on one container's state directory; released on drop.
pub(crate) struct Lock {
    dir: File,
    pub(crate) path: PathBuf,
}

impl Lock {
    /// Creates the directory for a new container (fails if the id exists) and locks it.
    pub(crate) fn create(root: &Root, id: &str) -> Result<Lock> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(root.path())
            .map_err(|e| Error::io("create state root", root.path(), e))?;
        let path = root.dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(if path.join(STATE_FILE).exists() {
                    Error::Exists(id.to_string())
                } else {
                    Error::Unfinished(id.to_string())
                });
            }
            Err(e) => return Err(Error::io("create state dir", &path, e)),
        }
        Self::open(path, id)
    }

    /// Locks the directory of an existing container.
    pub(crate) fn existing(root: &Root, id: &str) -> Result<Lock> {
        crate::id::validate(id)?;
        Self::open(root.dir(id), id)
    }

    fn open(path: PathBuf, id: &str) -> Result<Lock> {
        let dir = match File::open(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(id.to_string()))
            }
            Err(e) => return Err(Error::io("open state dir", &path, e)),
        };
        // SAFETY: flock on an fd we own; the lock lives as long as the fd.
        if unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::sys(
                format!("lock {}", path.display()),
                nix::errno::Errno::last(),
            ));
        }
        // A concurrent delete may have removed the directory while we waited.
        if !path.exists() {
            return Err(Error::NotFound(id.to_string()));
        }
        Ok(Lock { dir, path })
    }

    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.dir.as_raw_fd()
    }

    pub(crate) fn save(&self, saved: &Saved) -> Result<()> {
        self.write_json(STATE_FILE, saved)
    }

    /// Records what a create is about to make, before it makes it.
    pub(crate) fn record_intent(&self, intent: &Intent) -> Result<()> {
        self.write_json(INTENT_FILE, intent)
    }

    /// The intent of a create that never saved its state; None if it recorded none.
    pub(crate) fn load_intent(&self) -> Result<Option<Intent>> {
        let file = self.path.join(INTENT_FILE);
        match fs::read(&file) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| Error::Corrupt {
                    path: file.clone(),
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &file, e)),
        }
    }

    /// Written whole or not at all: a temporary file renamed over `name`.
    fn write_json(&self, name: &str, value: &impl Serialize) -> Result<()> {
        let tmp = self.path.join(format!(".{name}.tmp"));
        let json = serde_json::to_vec(value).map_err(|e| Error::io("encode", &tmp, e.into()))?;
        let mut f = File::create(&tmp).map_err(|e| Error::io("write", &tmp, e))?;
        f.write_all(&json)
            .map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, self.path.join(name)).map_err(|e| Error::io("rename", &tmp, e))
    }

    pub(crate) fn load(&self, id: &str) -> Result<Saved> {
        load_file(&self.path, id)
    }

    /// Removes the state directory; the lock goes with it.
    pub(crate) fn remove(self) -> Result<()> {
        fs::remove_dir_all(&self.path).map_err(|e| Error::io("remove state dir", &self.path, e))?;
        drop(self.dir);
        Ok(())
    }
}

fn load_file(dir: &Path, id: &str) -> Result<Saved> {
    let file = dir.join(STATE_FILE);
    let bytes = match fs::read(&file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotFound(id.to_string()))
        }
        Err(e) => return Err(Error::io("read", &file, e)),
    };
    // Through a Value, as config.json is read: the spec's deserializer then exists
    // once in the binary (for Value) instead of twice, and so do the pages it costs.
    serde_json::from_slice(&bytes)
        .and_then(serde_json::from_value)
        .map_err(|e| Error::Corrupt {
            path: file,
            reason: e.to_string(),
        })
}

/// Reads a container's saved state without taking its lock (for `state` and `list`).
pub(crate) fn peek(root: &Root, id: &str) -> Result<Saved> {
    crate::id::validate(id)?;
    load_file(&root.dir(id), id)
}

impl Saved {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Init's pid in the host pid namespace.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn bundle(&self) -> &Path {
        &self.bundle
    }

    /// RFC 3339 creation time.
    pub fn created(&self) -> &str {
        &self.created
    }

    pub fn state_dir(&self, root: &Root) -> PathBuf {
        root.dir(&self.id)
    }

    /// Derives the status from the init process, the exec fifo and the freezer.
    pub fn status(&self, root: &Root) -> Status {
        if !procfs::is_same_live_process(self.pid, self.start_time) {
            return Status::Stopped;
        }
        if root.dir(&self.id).join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if self.cgroup.is_frozen().unwrap_or(false) {
            return Status::Paused;
        }
        Status::Running
    }

    /// A pidfd for init, if it is still the process that was created: the
    /// pidfd pins the process, so once checked the answer cannot go stale.
    pub fn pidfd(&self) -> Option<std::os::fd::OwnedFd> {
        let fd = crate::sys::pidfd_open(self.pid).ok()?;
        procfs::is_same_live_process(self.pid, self.start_time).then_some(fd)
    }

    pub fn oci_state<'a>(&'a self, status: Status) -> OciState<'a> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            // runc reports pid 0 once the container has stopped.
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: "",
            annotations: &self.annotations,
        }
    }
}

/// Current time as RFC 3339 with nanoseconds, in UTC, as runc writes `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Gregorian date from days since 1970-01-01 (Howard Hinnant's civil calendar algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}
