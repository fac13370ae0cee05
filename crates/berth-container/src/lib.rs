//! berth-container: the OCI container lifecycle built directly on kernel primitives.
//!
//! The parent side (`create`, `start`, `kill`, `delete`, `exec`) runs in the
//! runtime's own process; the child side (`init`) runs in the cloned container
//! init before it execs the user's program. See ARCHITECTURE.md.

pub mod error;

pub mod caps;
pub mod rootfs;
pub mod seccomp;

pub use error::{Error, Result};
