//! Host port allocation for published ports.
//!
//! A host port is refused when another berth container publishes it (the
//! `ports.json` table, read under the state lock) or when binding it on the
//! host fails (some host process uses it). Ports chosen automatically (`-P`,
//! `ip::ctrPort`, `ctrPort`) come from [`AUTO_FIRST`]..=[`AUTO_LAST`].

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::ports::{PortSpec, Proto};
use crate::store::PortLease;
use crate::{Error, Result};

/// First port of the automatic range (docker's `-P` range).
pub const AUTO_FIRST: u16 = 49000;
/// Last port of the automatic range.
pub const AUTO_LAST: u16 = 49900;

/// A published port with its host port decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `None`: every host address.
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

fn overlaps(a: Option<Ipv4Addr>, b: Option<Ipv4Addr>) -> bool {
    a.is_none() || b.is_none() || a == b
}

/// Why the host port cannot be used, if it cannot.
fn check_free(
    taken: &[PortLease],
    ip: Option<Ipv4Addr>,
    port: u16,
    proto: Proto,
    spec: &str,
) -> Result<Option<String>> {
    if let Some(l) = taken
        .iter()
        .find(|l| l.port == port && l.proto == proto && overlaps(l.host_ip, ip))
    {
        return Ok(Some(format!(" (published by container {})", l.id)));
    }
    let addr = SocketAddrV4::new(ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
    let bound = match proto {
        Proto::Tcp => TcpListener::bind(addr).map(drop),
        Proto::Udp => UdpSocket::bind(addr).map(drop),
    };
    match bound {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            Ok(Some(" (bound by a host process)".to_string()))
        }
        Err(e) if e.kind() == ErrorKind::AddrNotAvailable => Err(Error::InvalidPortSpec {
            value: spec.to_string(),
            reason: format!("host address {} is not an address of this host", addr.ip()),
        }),
        Err(e) => Err(Error::InvalidPortSpec {
            value: spec.to_string(),
            reason: format!("cannot bind {addr}/{proto}: {e}"),
        }),
    }
}

/// Decides host ports for `publish` plus, when `publish_all`, every exposed
/// port not already published. Appends leases for `id` to `taken`.
pub fn allocate(
    taken: &mut Vec<PortLease>,
    id: &str,
    publish: &[PortSpec],
    publish_all: bool,
    expose: &[(u16, Proto)],
) -> Result<Vec<PublishedPort>> {
    let mut wanted: Vec<PortSpec> = publish.to_vec();
    if publish_all {
        for &(port, proto) in expose {
            if !wanted
                .iter()
                .any(|p| p.container_port == port && p.proto == proto)
            {
                wanted.push(PortSpec {
                    host_ip: None,
                    host_port: None,
                    container_port: port,
                    proto,
                });
            }
        }
    }
    // Fixed host ports first, so automatic ones never take a port asked for by number.
    wanted.sort_by_key(|p| p.host_port.is_none());
    let mut out = Vec::new();
    for spec in wanted {
        let text = spec.to_string();
        let host_port = match spec.host_port {
            Some(port) => {
                if let Some(by) = check_free(taken, spec.host_ip, port, spec.proto, &text)? {
                    return Err(Error::PortInUse {
                        addr: spec.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                        port,
                        proto: spec.proto.as_str(),
                        by,
                    });
                }
                port
            }
            None => {
                let mut found = None;
                for port in AUTO_FIRST..=AUTO_LAST {
                    if check_free(taken, spec.host_ip, port, spec.proto, &text)?.is_none() {
                        found = Some(port);
                        break;
                    }
                }
                found.ok_or(Error::NoFreePort {
                    proto: spec.proto.as_str(),
                    first: AUTO_FIRST,
                    last: AUTO_LAST,
                })?
            }
        };
        taken.push(PortLease {
            host_ip: spec.host_ip,
            port: host_port,
            proto: spec.proto,
            id: id.to_string(),
        });
        out.push(PublishedPort {
            host_ip: spec.host_ip,
            host_port,
            container_port: spec.container_port,
            proto: spec.proto,
        });
    }
    Ok(out)
}

/// Drops every port lease held by `id`; returns how many there were.
pub fn release(taken: &mut Vec<PortLease>, id: &str) -> usize {
    let before = taken.len();
    taken.retain(|l| l.id != id);
    before - taken.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::parse_publish;

    #[test]
    fn fixed_port_in_table_is_refused() {
        // Port 1 is privileged and unused in test environments; the table clash
        // is found before any bind is tried.
        let mut taken = vec![PortLease {
            host_ip: None,
            port: 1,
            proto: Proto::Tcp,
            id: "other".into(),
        }];
        let e = allocate(
            &mut taken,
            "me",
            &[parse_publish("127.0.0.1:1:80").unwrap()],
            false,
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, Error::PortInUse { port: 1, .. }), "{e}");
        assert!(e.to_string().contains("other"), "{e}");
        assert_eq!(taken.len(), 1);
    }

    #[test]
    fn host_process_port_is_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut taken = Vec::new();
        let spec = parse_publish(&format!("{port}:80")).unwrap();
        let e = allocate(&mut taken, "me", &[spec], false, &[]).unwrap_err();
        assert!(matches!(e, Error::PortInUse { .. }), "{e}");
        assert!(e.to_string().contains(&port.to_string()));
    }

    #[test]
    fn automatic_ports_skip_taken_and_cover_exposed() {
        let mut taken = vec![PortLease {
            host_ip: None,
            port: AUTO_FIRST,
            proto: Proto::Udp,
            id: "x".into(),
        }];
        let got = allocate(
            &mut taken,
            "me",
            &[parse_publish("53/udp").unwrap()],
            true,
            &[(53, Proto::Udp), (80, Proto::Tcp)],
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        let udp = got.iter().find(|p| p.proto == Proto::Udp).unwrap();
        assert!(udp.host_port > AUTO_FIRST && udp.host_port <= AUTO_LAST);
        let tcp = got.iter().find(|p| p.proto == Proto::Tcp).unwrap();
        assert_eq!(tcp.container_port, 80);
        assert!((AUTO_FIRST..=AUTO_LAST).contains(&tcp.host_port));
        assert_eq!(release(&mut taken, "me"), 2);
        assert_eq!(taken.len(), 1);
    }

    #[test]
    fn non_local_host_address_is_refused() {
        let mut taken = Vec::new();
        // 198.51.100.0/24 is TEST-NET-2; binding only asks the local kernel, no traffic is sent.
        let e = allocate(
            &mut taken,
            "me",
            &[parse_publish("198.51.100.1:8080:80").unwrap()],
            false,
            &[],
        )
        .unwrap_err();
        assert!(e.to_string().contains("198.51.100.1"), "{e}");
    }
}
