//! The crate's single error type. Every message is one line naming the value,
//! interface, address or path involved and what failed.

use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Everything that can go wrong in berth-net.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A CIDR such as `10.0.0.0/24` or `192.168.0.1/24` could not be used.
    #[error("invalid CIDR {value:?}: {reason}")]
    InvalidCidr { value: String, reason: String },

    /// A `-p`/`--publish` or `--expose` spec could not be parsed.
    #[error("invalid port spec {value:?}: {reason}")]
    InvalidPortSpec { value: String, reason: String },

    /// A `berth.network.*` annotation (or config field) is malformed.
    #[error("invalid network setting {key}={value:?}: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },

    /// A bridge name or container id cannot be used as given.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: String,
    },

    /// Every usable address of a subnet is leased.
    #[error("no free address left in {subnet} on bridge {bridge}")]
    SubnetFull { bridge: String, subnet: String },

    /// A requested static address is already leased.
    #[error("address {addr} on bridge {bridge} is already leased to container {owner}")]
    AddressTaken {
        addr: Ipv4Addr,
        bridge: String,
        owner: String,
    },

    /// A requested static address cannot be handed out.
    #[error("address {addr} cannot be used in {subnet}: {reason}")]
    AddressUnusable {
        addr: Ipv4Addr,
        subnet: String,
        reason: &'static str,
    },

    /// The subnet requested for a bridge disagrees with the bridge or the host's routes.
    #[error("subnet {subnet} for bridge {bridge}: {reason}")]
    SubnetConflict {
        bridge: String,
        subnet: String,
        reason: String,
    },

    /// A host port is already bound on the host or published by another container.
    #[error("host port {addr}:{port}/{proto} is already in use{by}")]
    PortInUse {
        addr: Ipv4Addr,
        port: u16,
        proto: &'static str,
        by: String,
    },

    /// No host port in the automatic range is free.
    #[error("no free host port for {proto} in {first}-{last}")]
    NoFreePort {
        proto: &'static str,
        first: u16,
        last: u16,
    },

    /// A `--link` names a container that has no berth network record.
    #[error("link to container {id:?}: {reason}")]
    LinkTarget { id: String, reason: String },

    /// `container:<id>` mode names a container whose namespace cannot be found.
    #[error("network of container {id:?}: {reason}")]
    ContainerNetns { id: String, reason: String },

    /// A bridge cannot be removed.
    #[error("bridge {bridge}: {reason}")]
    BridgeInUse { bridge: String, reason: String },

    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A state file holds JSON that cannot be read.
    #[error("state file {path}: {source}")]
    State {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A netlink request failed.
    #[error("netlink: {op} {target}: {reason}")]
    Netlink {
        op: &'static str,
        target: String,
        reason: String,
    },

    /// Entering or leaving a network namespace failed.
    #[error("network namespace {path}: {op}: {source}")]
    Netns {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: nix::Error,
    },

    /// `linux.netDevices` cannot be met: what and, mostly, which device.
    #[error("linux.netDevices: {0}")]
    NetDevices(String),

    /// The `nft` binary failed or could not be run.
    #[error("nft {op}: {reason}")]
    Nft { op: String, reason: String },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
