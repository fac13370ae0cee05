//! Inter-container isolation (`icc=false`) and the exceptions for links.
//!
//! Rules live in the `bridge berth` table's `isolation` chain, reached from
//! its `forward` hook, which sees only frames bridged from one port to
//! another: traffic to the gateway (the bridge device itself) is not bridged,
//! and DNAT-ed published-port traffic, which `br_netfilter` may bridge, is
//! accepted before the jump (see [`crate::nft::DNAT_MARK`]). Kernel port isolation (`isolated on`)
//! was not used because it cannot let linked pairs through.
//!
//! For a container with host-side veth `V`:
//! - every link peer `L` (whatever the icc setting): `iifname V ip daddr L
//!   accept` and `oifname V ip saddr L accept`, inserted at the chain's head;
//! - with icc=false also ARP accepted (so links resolve), then `iifname V drop`
//!   and `oifname V drop` appended at the tail, after every accept.

use std::net::Ipv4Addr;

use crate::nat::container_tag;
use crate::nft::{self, bridge_setup, TABLE};
use crate::Result;

/// The nft statements for one container; empty when there is nothing to do.
pub fn rules(id: &str, veth: &str, icc: bool, links: &[Ipv4Addr]) -> String {
    let tag = container_tag(id);
    let mut s = String::new();
    for l in links {
        s.push_str(&format!("insert rule bridge {TABLE} isolation iifname \"{veth}\" ip daddr {l} accept comment \"{tag}\"\n"));
        s.push_str(&format!("insert rule bridge {TABLE} isolation oifname \"{veth}\" ip saddr {l} accept comment \"{tag}\"\n"));
    }
    if !icc {
        for dir in ["iifname", "oifname"] {
            s.push_str(&format!("insert rule bridge {TABLE} isolation {dir} \"{veth}\" ether type arp accept comment \"{tag}\"\n"));
        }
        for dir in ["iifname", "oifname"] {
            s.push_str(&format!(
                "add rule bridge {TABLE} isolation {dir} \"{veth}\" drop comment \"{tag}\"\n"
            ));
        }
    }
    s
}

/// Installs the container's isolation rules in one transaction.
pub fn apply(id: &str, veth: &str, icc: bool, links: &[Ipv4Addr]) -> Result<()> {
    let body = rules(id, veth, icc, links);
    if body.is_empty() {
        return Ok(());
    }
    nft::apply(
        &format!("isolate container {id}"),
        &format!("{}{body}", bridge_setup()),
    )
}

/// Removes the container's isolation rules; returns how many there were.
pub fn remove(id: &str) -> Result<usize> {
    nft::delete_tagged("bridge", &container_tag(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icc_true_without_links_needs_nothing() {
        assert!(rules("a", "vb1", true, &[]).is_empty());
    }

    #[test]
    fn accepts_before_drops() {
        let s = rules("a", "vb1", false, &[Ipv4Addr::new(10, 0, 0, 3)]);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 6);
        assert!(lines[..4]
            .iter()
            .all(|l| l.starts_with("insert rule") && l.ends_with("accept comment \"berth:a\"")));
        assert!(lines[4..]
            .iter()
            .all(|l| l.starts_with("add rule") && l.ends_with("drop comment \"berth:a\"")));
        assert!(lines[0].contains("iifname \"vb1\" ip daddr 10.0.0.3"));
    }
}
