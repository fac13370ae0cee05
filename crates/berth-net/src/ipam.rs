//! Address management: picks a container's address from a bridge's subnet.
//! The caller holds the state lock ([`crate::store::lock`]) around the
//! read-pick-save, which is what makes leases unique across processes.

use std::net::Ipv4Addr;

use crate::cidr::Ipv4Cidr;
use crate::store::{BridgeState, Lease};
use crate::{Error, Result};

/// Leases `want` (if given) or the lowest free address to `id`, adding the
/// lease to `state`. Never the network, gateway or broadcast address.
pub fn lease(
    bridge: &str,
    state: &mut BridgeState,
    id: &str,
    want: Option<Ipv4Addr>,
) -> Result<Ipv4Addr> {
    let subnet: Ipv4Cidr = state.subnet;
    let owner = |ip: Ipv4Addr| {
        state
            .leases
            .iter()
            .find(|l| l.ip == ip)
            .map(|l| l.id.clone())
    };
    let ip = match want {
        Some(ip) => {
            if let Some(reason) = subnet.unleasable_reason(ip) {
                return Err(Error::AddressUnusable {
                    addr: ip,
                    subnet: subnet.to_string(),
                    reason,
                });
            }
            if let Some(owner) = owner(ip) {
                return Err(Error::AddressTaken {
                    addr: ip,
                    bridge: bridge.to_string(),
                    owner,
                });
            }
            ip
        }
        None => subnet
            .leasable()
            .find(|ip| owner(*ip).is_none())
            .ok_or_else(|| Error::SubnetFull {
                bridge: bridge.to_string(),
                subnet: subnet.subnet().to_string(),
            })?,
    };
    state.leases.push(Lease {
        ip,
        id: id.to_string(),
    });
    Ok(ip)
}

/// Drops every lease held by `id`; returns how many there were.
pub fn release(state: &mut BridgeState, id: &str) -> usize {
    let before = state.leases.len();
    state.leases.retain(|l| l.id != id);
    before - state.leases.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::parse_cidr;

    fn state(s: &str) -> BridgeState {
        BridgeState {
            subnet: parse_cidr(s).unwrap(),
            leases: Vec::new(),
            icc: true,
        }
    }

    #[test]
    fn hands_out_upward_and_fills() {
        let mut st = state("10.9.0.0/29");
        let got: Vec<_> = (0..5)
            .map(|i| lease("b", &mut st, &format!("c{i}"), None).unwrap())
            .collect();
        let want: Vec<Ipv4Addr> = (2..=6).map(|n| Ipv4Addr::new(10, 9, 0, n)).collect();
        assert_eq!(got, want);
        let e = lease("b", &mut st, "c5", None).unwrap_err();
        assert!(matches!(e, Error::SubnetFull { .. }));
        assert!(e.to_string().contains("10.9.0.0/29"), "{e}");
        assert_eq!(release(&mut st, "c2"), 1);
        assert_eq!(release(&mut st, "c2"), 0);
        assert_eq!(
            lease("b", &mut st, "c6", None).unwrap(),
            Ipv4Addr::new(10, 9, 0, 4)
        );
    }

    #[test]
    fn static_addresses() {
        let mut st = state("10.9.0.0/24");
        assert_eq!(
            lease("b", &mut st, "a", Some(Ipv4Addr::new(10, 9, 0, 50))).unwrap(),
            Ipv4Addr::new(10, 9, 0, 50)
        );
        let e = lease("b", &mut st, "b", Some(Ipv4Addr::new(10, 9, 0, 50))).unwrap_err();
        assert!(
            matches!(e, Error::AddressTaken { ref owner, .. } if owner == "a"),
            "{e}"
        );
        for bad in [[10, 9, 0, 0], [10, 9, 0, 1], [10, 9, 0, 255], [10, 9, 1, 2]] {
            let e = lease("b", &mut st, "b", Some(Ipv4Addr::from(bad))).unwrap_err();
            assert!(matches!(e, Error::AddressUnusable { .. }), "{e}");
        }
        assert_eq!(st.leases.len(), 1);
    }
}
