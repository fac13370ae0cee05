//! berth-container: the OCI container lifecycle built directly on kernel primitives.
//!
//! The parent side (`create`, `start`, `kill`, `delete`) runs in the runtime's
//! own process; the child side (`init`) runs in the cloned container init
//! before it execs the user's program. See ARCHITECTURE.md.

mod affinity;
pub mod error;

pub mod attrs;
pub mod caps;
pub mod config;
mod config_json;
pub mod console;
pub mod container;
pub mod create;
pub mod device_access;
pub mod exec;
pub mod exec_stage;
mod fault;
pub mod fd_socket;
pub mod hooks;
pub mod id;
mod id_maps;
pub(crate) mod launch;
pub mod lifecycle;
pub mod lsm;
pub mod namespaces;
mod network;
mod no_cgroup;
mod notify;
pub mod passwd;
pub mod process;
pub mod procfs;
pub mod rootfs;
mod rootless;
pub mod seccomp;
pub mod state;
mod sync;
mod sys;
pub mod timens;
pub mod update_request;

pub use container::{Container, Event, Events};
pub use create::{create, CreateOptions, Created};
pub use error::{Error, Operation, Result};
pub use lifecycle::{delete, kill, list, parse_signal, start};
pub use network::NET_DEVICES;
pub use oci_spec;
pub use rootless::in_user_namespace;
pub use state::{Root, Saved, Status};
