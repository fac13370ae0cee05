//! berth-net: bridges, veth pairs, IPAM, published ports, isolation and the
//! hosts/resolv files of berth containers.
//!
//! The API is blocking. Calls that talk netlink start a current-thread tokio
//! runtime on the calling thread and drop it before returning, so no thread
//! outlives a call (the runtime forks right after).
//!
//! Life of a bridged container:
//! 1. [`prepare`] before the init process is cloned: leases the address,
//!    decides host ports, resolves links and writes `hosts`/`resolv.conf`;
//! 2. [`attach`] once init lives in its new network namespace: bridge, veth,
//!    address and route, NAT rules, isolation;
//! 3. [`teardown`] on delete: rules, veth, lease and ports, exactly once.
//!
//! State lives under `<root>/net/` (see [`store`]).
//!
//! [`netdevices`] moves existing host devices into a container (`linux.netDevices`).

pub mod bridge;
pub mod cidr;
pub mod cni;
pub mod config;
mod error;
pub mod files;
pub mod hostports;
pub mod inventory;
pub mod ipam;
pub mod isolation;
pub mod names;
pub mod nat;
pub mod netdevices;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod ports;
pub mod store;
pub mod sysctl;
pub mod veth;

mod lifecycle;

pub use cidr::{parse_cidr, Ipv4Cidr};
pub use config::{Mode, NetworkConfig};
pub use error::{Error, Result};
pub use hostports::PublishedPort;
pub use lifecycle::{
    attach, attach_netns, define_bridge, prepare, remove_bridge, teardown, Attachment, BridgePlan,
    Interface, LinkedPeer, Prepared,
};
pub use ports::{parse_expose, parse_publish, PortSpec, Proto};
