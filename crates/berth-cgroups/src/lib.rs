//! berth-cgroups: one container's cgroup across v1, v2 and hybrid hierarchies.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cgroup: {0}")]
    Other(String),
}
pub type Result<T> = std::result::Result<T, Error>;
