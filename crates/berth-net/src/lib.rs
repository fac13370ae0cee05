//! berth-net: bridges, veth pairs, IPAM, published ports and the hosts/resolv files.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("network: {0}")]
    Other(String),
}
pub type Result<T> = std::result::Result<T, Error>;
