//! Network state kept under berth's state root, guarded by one `flock`.
//!
//! Layout of `<root>/net/`:
//! - `lock`: taken exclusively (flock) around every read-modify-write below,
//!   so concurrent berth processes never hand out one address or port twice;
//! - `bridges/<bridge>.json`: the bridge's subnet and its address leases;
//! - `ports.json`: host ports published by containers;
//! - `containers/<id>.json`: what [`crate::prepare`] and [`crate::attach`]
//!   decided for a container, so [`crate::teardown`] needs only root and id.
//!
//! Files are replaced atomically (write to a temporary name, then rename).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cidr::Ipv4Cidr;
use crate::ports::Proto;
use crate::{Attachment, Error, Prepared, Result};

/// One leased address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub id: String,
}

/// A bridge's subnet (as given, so the gateway is kept) and its leases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BridgeState {
    pub subnet: Ipv4Cidr,
    pub leases: Vec<Lease>,
    /// `false` (`berth network create --icc=false`): every container on the
    /// bridge is isolated as if it asked for `icc=false` itself.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub icc: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// One published host port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortLease {
    /// `None`: every host address.
    pub host_ip: Option<Ipv4Addr>,
    pub port: u16,
    pub proto: Proto,
    pub id: String,
}

/// Everything recorded about one container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub prepared: Prepared,
    pub attachment: Option<Attachment>,
}

/// `<root>/net`.
pub fn net_dir(root: &Path) -> PathBuf {
    root.join("net")
}

/// An exclusive hold on the network state of one root.
pub struct Locked {
    dir: PathBuf,
    _lock: Flock<File>,
}

/// Takes the state lock, creating `<root>/net` if needed. Blocks until free.
pub fn lock(root: &Path) -> Result<Locked> {
    let dir = net_dir(root);
    for sub in ["", "bridges", "containers"] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(|e| Error::io("create directory", &d, e))?;
    }
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    let lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, errno)| Error::io("lock", &path, std::io::Error::from(errno)))?;
    Ok(Locked { dir, _lock: lock })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| Error::State {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Writes `value` as JSON to `path` atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::State {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io("write", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("rename into place", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Reads a container's record without taking the lock (records are replaced
/// atomically, so a reader sees either the old or the new file).
pub fn read_record(root: &Path, id: &str) -> Result<Option<Record>> {
    read_json(&net_dir(root).join("containers").join(format!("{id}.json")))
}

/// Reads a bridge's state without taking the lock.
pub fn read_bridge(root: &Path, name: &str) -> Result<Option<BridgeState>> {
    read_json(&net_dir(root).join("bridges").join(format!("{name}.json")))
}

/// Names of every bridge with a state file, sorted, without taking the lock.
pub fn bridge_names(root: &Path) -> Result<Vec<String>> {
    json_stems(&net_dir(root).join("bridges"))
}

/// Ids of every container with a record, sorted, without taking the lock.
pub fn record_ids(root: &Path) -> Result<Vec<String>> {
    json_stems(&net_dir(root).join("containers"))
}

/// `<stem>` of every `<stem>.json` in `d` (temporary `.name.tmp` files skipped);
/// a missing directory is empty.
fn json_stems(d: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(d) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("list", d, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", d, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".json") {
            if !stem.starts_with('.') {
                out.push(stem.to_string());
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Locked {
    fn bridge_path(&self, name: &str) -> PathBuf {
        self.dir.join("bridges").join(format!("{name}.json"))
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join("containers").join(format!("{id}.json"))
    }

    pub fn bridge(&self, name: &str) -> Result<Option<BridgeState>> {
        read_json(&self.bridge_path(name))
    }

    pub fn save_bridge(&self, name: &str, state: &BridgeState) -> Result<()> {
        write_json(&self.bridge_path(name), state)
    }

    pub fn remove_bridge(&self, name: &str) -> Result<()> {
        remove_if_present(&self.bridge_path(name))
    }

    pub fn ports(&self) -> Result<Vec<PortLease>> {
        Ok(read_json(&self.dir.join("ports.json"))?.unwrap_or_default())
    }

    pub fn save_ports(&self, ports: &[PortLease]) -> Result<()> {
        write_json(&self.dir.join("ports.json"), &ports)
    }

    pub fn record(&self, id: &str) -> Result<Option<Record>> {
        read_json(&self.record_path(id))
    }

    pub fn save_record(&self, id: &str, record: &Record) -> Result<()> {
        write_json(&self.record_path(id), record)
    }

    pub fn remove_record(&self, id: &str) -> Result<()> {
        remove_if_present(&self.record_path(id))
    }

    /// Ids of every container with a record.
    pub fn record_ids(&self) -> Result<Vec<String>> {
        json_stems(&self.dir.join("containers"))
    }
}
