//! The one error type of berth-container. Every message names what failed
//! (the field, path or operation) so the CLI can print it on one line.

use std::path::PathBuf;

use crate::state::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from config.json or the command line; the message names the field and value.
    #[error("{0}")]
    Invalid(String),
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
    /// A hook failed or timed out.
    #[error("{0}")]
    Hook(String),
    /// The container's init process reported an error during setup.
    #[error("container init: {0}")]
    Init(String),
    /// An exec'd process never started (what failed is inside). runc's CLI
    /// exits 255 for this; the library only says it.
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

impl Error {
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

/// Shorthand for `Err(Error::Invalid(format!(...)))`.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { Err($crate::Error::Invalid(format!($($arg)*))) };
}
