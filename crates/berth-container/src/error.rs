//! The one error type of berth-container. Every message names what failed
//! (the field, path or operation) so the CLI can print it on one line.
//!
//! Bad input carries its parts as fields, as berth-cgroups' and berth-net's
//! errors do: a program matches `Error::Invalid { field, .. }` instead of
//! reading the text. `field` is the config.json path (`mounts[2].destination`,
//! `linux.sysctl`, `process.rlimits[0]`) or the command-line flag
//! (`--console-socket`) the user wrote.

use std::path::PathBuf;

use crate::state::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One field of config.json or one flag has a value that cannot be used.
    /// `value` is the value as written (empty when there is none to show).
    /// Reads `{field} {value:?}: {reason}`, or `{field}: {reason}` without a value.
    #[error("{field}{}: {reason}", quoted(value))]
    Invalid {
        field: String,
        value: String,
        reason: String,
    },
    /// Two fields or flags, each fine alone, that cannot go together.
    /// Reads `{field} and {other}: {reason}`.
    #[error("{field} and {other}: {reason}")]
    Conflict {
        field: String,
        other: String,
        reason: String,
    },
    /// A field that must be given is absent (or empty). Reads `{field} is required: {reason}`.
    #[error("{field} is required: {reason}")]
    Missing { field: String, reason: String },
    /// Something this host, kernel or build cannot do (an LSM the kernel lacks, a
    /// feature built out, a container made without a cgroup); `what` is the field,
    /// flag or operation that asked for it. Reads `{what} is not supported here: {reason}`.
    #[error("{what} is not supported here: {reason}")]
    Unsupported { what: String, reason: String },
    /// A file the runtime was about to write through, or use, is not what it must
    /// be (a procfs file not on procfs, a /dev/null that is not the null device):
    /// refused, since writing there could reach the host. Reads `{path}: {reason}`.
    #[error("{}: {reason}", path.display())]
    Unsafe { path: PathBuf, reason: String },
    /// A file in the state root that berth wrote cannot be read back.
    /// Reads `{path}: corrupt state: {reason}`.
    #[error("{}: corrupt state: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A file-system operation on a path failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A system call failed; `op` says what was being done.
    #[error("{op}: {source}")]
    Sys {
        op: String,
        #[source]
        source: nix::Error,
    },
    /// The container does not exist under the state root.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// A container with this id already exists.
    #[error("container with id \"{0}\" already exists")]
    Exists(String),
    /// An earlier create of this id never finished (it was killed, or it is still running).
    #[error("container with id \"{0}\" already exists from a create that did not finish: `berth delete -f {0}` removes what it made")]
    Unfinished(String),
    /// The container's status does not allow the operation (in runc's words).
    #[error("{}", wrong_state(*op, *status, id))]
    WrongState {
        id: String,
        op: Operation,
        status: Status,
    },
    /// init outlived the wait after SIGKILL (`delete -f`).
    #[error("container {id}: init did not exit after SIGKILL")]
    KillTimeout { id: String },
    /// Hook number `index` of its `kind` (`createRuntime`, `poststart`, ...)
    /// failed to start, failed or timed out. Reads as runc's
    /// `error running {kind} hook #{index}: {path}: {reason}`.
    #[error("error running {kind} hook #{index}: {}: {reason}", path.display())]
    Hook {
        kind: &'static str,
        index: usize,
        path: PathBuf,
        reason: String,
    },
    /// The container's init process (or the launcher on its way to it) reported
    /// an error during setup. It is text: the typed error was made on the other
    /// side of the launch channel, in another process, and only its message
    /// crossed (see `launch::messages`).
    #[error("container init: {0}")]
    Init(String),
    /// An exec'd process never started (what failed is inside, as text that crossed
    /// the launch channel, like [`Error::Init`]'s). runc's CLI exits 255 for this;
    /// the library only says it.
    #[error("{0}")]
    NotStarted(String),
    #[error(transparent)]
    Cgroup(#[from] berth_cgroups::Error),
    #[cfg(feature = "net")]
    #[error(transparent)]
    Net(#[from] berth_net::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// A lifecycle operation, for [`Error::WrongState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Start,
    Exec,
    Kill,
    Pause,
    Resume,
    Update,
    Delete,
}

/// runc's message for `op` on a container in `status`.
fn wrong_state(op: Operation, status: Status, id: &str) -> String {
    match (op, status) {
        (Operation::Start, Status::Stopped) => "cannot start a container that has stopped".into(),
        (Operation::Start, _) => "cannot start an already running container".into(),
        (Operation::Exec, Status::Paused) => {
            "cannot exec in a paused container (use --ignore-paused to override)".into()
        }
        (Operation::Exec, _) => "cannot exec in a stopped container".into(),
        (Operation::Resume, _) => "container not paused".into(),
        (Operation::Delete, _) => {
            format!("cannot delete container {id} that is not stopped: {status}")
        }
        (Operation::Kill | Operation::Pause | Operation::Update, _) => {
            "container not running".into()
        }
    }
}

/// `Invalid`'s value as it is shown: Debug-quoted after a space, nothing when empty.
fn quoted(value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!(" {value:?}")
    }
}

impl Error {
    /// [`Error::Invalid`]: `value` as the user wrote it (a path through `.display()`).
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
    /// [`Error::Conflict`].
    pub fn conflict(
        field: impl Into<String>,
        other: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::Conflict {
            field: field.into(),
            other: other.into(),
            reason: reason.into(),
        }
    }
    /// [`Error::Missing`].
    pub fn missing(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Missing {
            field: field.into(),
            reason: reason.into(),
        }
    }
    /// [`Error::Unsupported`].
    pub fn unsupported(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            what: what.into(),
            reason: reason.into(),
        }
    }
    /// [`Error::Unsafe`].
    pub fn unsafe_path(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Unsafe {
            path: path.into(),
            reason: reason.into(),
        }
    }
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
    /// The text to pass to the other side of the launch channel, which wraps it
    /// in `Init` again: without this side's own `container init:` prefix.
    pub(crate) fn to_message(&self) -> String {
        match self {
            Error::Init(why) => why.clone(),
            e => e.to_string(),
        }
    }
    pub fn sys(op: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            op: op.into(),
            source,
        }
    }
}

/// `invalid!(field, value, "reason {x}")`: shorthand for
/// `Err(Error::invalid(field, value, format!("reason {x}")))`.
#[macro_export]
macro_rules! invalid {
    ($field:expr, $value:expr, $($reason:tt)+) => {
        Err($crate::Error::invalid($field, $value, format!($($reason)+)))
    };
}
