//! The crate's single error type. Every variant names the file, field or value involved so
//! the binary can print it as one line.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cgroup: reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cgroup: writing {value:?} to {path}: {source}")]
    Write {
        path: PathBuf,
        value: String,
        source: std::io::Error,
    },

    #[error("cgroup: creating directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Setting up a kernel notification (eventfd, inotify) on a control file.
    #[error("cgroup: {op} {path}: {source}")]
    Notify {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cgroup: removing directory {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cgroup: {path}: cannot parse {value:?}: {reason}")]
    Parse {
        path: PathBuf,
        value: String,
        reason: String,
    },

    /// A resource value or user-typed string that is rejected before anything is written.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        field: String,
        value: String,
        reason: String,
    },

    #[error(
        "cgroup: {field} needs the {controller} controller, which is not mounted on this host"
    )]
    NoController { field: String, controller: String },

    #[error("cgroup: {field} is not supported here: {path} does not exist")]
    Unsupported { field: String, path: PathBuf },

    #[error("cgroup: cannot set memory limit {limit} in {path}: current usage {usage} bytes is higher and the kernel could not reclaim it (EBUSY)")]
    MemoryBelowUsage {
        path: PathBuf,
        limit: String,
        usage: u64,
    },

    /// An unprivileged caller named a cgroup it may not use.
    #[error("unable to apply cgroup configuration: {field} {value:?}: {dir} is not in a cgroup v2 subtree delegated to uid {uid} (without root berth uses only such a subtree): permission denied")]
    NotDelegated {
        field: &'static str,
        value: String,
        dir: PathBuf,
        uid: u32,
    },

    /// An unprivileged caller asked for limits that no usable cgroup can hold.
    #[error("cgroup: cannot set {controller} limit: {reason} (for {field})")]
    RootlessLimit {
        controller: String,
        field: String,
        reason: String,
    },

    /// checkBeforeUpdate refused a limit below the cgroup's usage (runc's words first).
    #[error("cgroup: rejecting {what} limit {limit} below usage {usage} in {}", path.display())]
    BelowUsage {
        what: &'static str,
        limit: u64,
        usage: u64,
        path: PathBuf,
    },

    #[error("cgroup: no cgroup filesystem found in {source_name}")]
    NoHierarchy { source_name: String },

    #[error("cgroup: bpf {op} for {path}: {source}")]
    Bpf {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cgroup: sending signal {signal} to pid {pid} of {path}: {source}")]
    Signal {
        signal: i32,
        pid: i32,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cgroup: {path}: timed out waiting for {what}")]
    Timeout { path: PathBuf, what: &'static str },

    #[error("{original}; restoring the previous value also failed: {restore}")]
    Rollback {
        original: Box<Error>,
        restore: Box<Error>,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid(
    field: impl Into<String>,
    value: impl ToString,
    reason: impl Into<String>,
) -> Error {
    Error::Invalid {
        field: field.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
