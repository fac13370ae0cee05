//! What `berth network ls` and `inspect` show: each recorded bridge with its
//! subnet, gateway and the containers holding a lease on it.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::Serialize;

use crate::names::check_bridge_name;
use crate::store::{self, BridgeState};
use crate::Result;

/// A container attached to a bridge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Endpoint {
    pub id: String,
    pub ip: Ipv4Addr,
    /// The container's eth0 MAC, once attached.
    pub mac: Option<String>,
    /// The host end of its veth pair, once attached.
    pub host_veth: Option<String>,
}

/// One bridge network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    /// The subnet in network form (`192.168.0.0/24`).
    pub subnet: String,
    pub gateway: Ipv4Addr,
    /// `false`: containers on it cannot reach each other (`--icc=false`).
    pub icc: bool,
    /// Whether the kernel interface exists now.
    pub bridge_up: bool,
    pub containers: Vec<Endpoint>,
}

fn describe(root: &Path, name: &str, st: BridgeState) -> Result<Network> {
    let mut containers = Vec::new();
    for lease in st.leases {
        let iface = store::read_record(root, &lease.id)?
            .and_then(|r| r.attachment)
            .and_then(|a| a.interface);
        containers.push(Endpoint {
            id: lease.id,
            ip: lease.ip,
            mac: iface.as_ref().map(|i| i.mac.clone()),
            host_veth: iface.map(|i| i.host_veth),
        });
    }
    containers.sort_by_key(|e| e.ip);
    Ok(Network {
        name: name.to_string(),
        subnet: st.subnet.subnet().to_string(),
        gateway: st.subnet.gateway(),
        icc: st.icc,
        bridge_up: Path::new("/sys/class/net")
            .join(name)
            .join("bridge")
            .exists(),
        containers,
    })
}

/// Every bridge recorded under `root`, by name.
pub fn networks(root: &Path) -> Result<Vec<Network>> {
    let mut out = Vec::new();
    for name in store::bridge_names(root)? {
        if let Some(st) = store::read_bridge(root, &name)? {
            out.push(describe(root, &name, st)?);
        }
    }
    Ok(out)
}

/// The bridge `name`, if recorded.
pub fn inspect(root: &Path, name: &str) -> Result<Option<Network>> {
    check_bridge_name(name)?;
    match store::read_bridge(root, name)? {
        Some(st) => Ok(Some(describe(root, name, st)?)),
        None => Ok(None),
    }
}
