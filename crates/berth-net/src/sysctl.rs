//! The few IPv4 sysctls a bridge needs, written through `/proc/sys`.

use std::fs;
use std::path::PathBuf;

use crate::{Error, Result};

fn set(path: PathBuf, value: &str) -> Result<()> {
    match fs::read_to_string(&path) {
        Ok(cur) if cur.trim() == value => return Ok(()),
        Ok(_) => {}
        Err(e) => return Err(Error::io("read", &path, e)),
    }
    fs::write(&path, value).map_err(|e| Error::io("write", &path, e))
}

/// `net.ipv4.ip_forward = 1`, so containers reach beyond their bridge.
pub fn enable_ip_forward() -> Result<()> {
    set(PathBuf::from("/proc/sys/net/ipv4/ip_forward"), "1")
}

/// `net.ipv4.conf.<iface>.route_localnet = 1`: lets packets the host sends
/// to `127.0.0.1:HOSTPORT`, DNAT-ed to a container, leave through the bridge.
pub fn enable_route_localnet(iface: &str) -> Result<()> {
    set(
        PathBuf::from(format!("/proc/sys/net/ipv4/conf/{iface}/route_localnet")),
        "1",
    )
}
