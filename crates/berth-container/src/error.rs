//! The one error type of berth-container. Every message names what failed
//! (the field, path or operation) so the CLI can print it on one line.

use std::path::PathBuf;

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
    /// The container is in a state that does not allow the operation.
    #[error("{0}")]
    State(String),
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

impl Error {
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
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
