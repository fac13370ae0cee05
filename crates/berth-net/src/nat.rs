//! Published ports through kernel NAT, written with the `nft` binary.
//!
//! Backend choice: nftables. One `nft -f` batch is atomic, every rule carries
//! a comment naming its container (`berth:<id>`) or bridge
//! (`berth-bridge:<name>`) so teardown deletes exactly those rules by handle,
//! and berth's rules live in their own `ip berth` table, never editing the
//! chains of docker, firewalld or the administrator. iptables would need a
//! rule-by-rule exec and a shared legacy/nft backend guess.
//!
//! Rules, in table `ip berth`:
//! - `prerouting` (nat, dstnat): `fib daddr type local <proto> dport HOSTPORT
//!   dnat to CONTAINER:PORT` (or `ip daddr HOSTIP ...` for a specific host
//!   address): traffic arriving from outside and from other containers;
//! - `output` (nat, -100): the same for connections the host itself opens,
//!   including to `127.0.0.1:HOSTPORT`;
//! - `postrouting` (nat, srcnat), per bridge: masquerade packets leaving
//!   through the bridge with a loopback source (the `127.0.0.1` case, which
//!   also needs `route_localnet=1` on the bridge so the kernel routes them),
//!   masquerade DNAT-ed hairpin traffic from the bridge's own subnet, and
//!   masquerade the subnet's traffic leaving through any other interface.

use std::net::Ipv4Addr;

use crate::cidr::Ipv4Cidr;
use crate::hostports::PublishedPort;
use crate::nft::{self, ip_setup, TABLE};
use crate::Result;

/// The comment tagging a container's rules.
pub fn container_tag(id: &str) -> String {
    format!("berth:{id}")
}

/// The comment tagging a bridge's rules.
pub fn bridge_tag(bridge: &str) -> String {
    format!("berth-bridge:{bridge}")
}

/// The nft statements publishing `ports` on container address `ip`.
pub fn port_rules(id: &str, ip: Ipv4Addr, ports: &[PublishedPort]) -> String {
    let tag = container_tag(id);
    let mut s = String::new();
    for p in ports {
        let daddr = match p.host_ip {
            Some(h) => format!("ip daddr {h}"),
            None => "fib daddr type local".to_string(),
        };
        for chain in ["prerouting", "output"] {
            s.push_str(&format!(
                "add rule ip {TABLE} {chain} {daddr} {proto} dport {hp} dnat to {ip}:{cp} comment \"{tag}\"\n",
                proto = p.proto,
                hp = p.host_port,
                cp = p.container_port,
            ));
        }
    }
    s
}

/// The nft statements of a bridge's masquerade rules.
pub fn bridge_rules(bridge: &str, subnet: &Ipv4Cidr) -> String {
    let tag = bridge_tag(bridge);
    let net = subnet.subnet();
    format!(
        "add rule ip {TABLE} postrouting oifname \"{bridge}\" ip saddr 127.0.0.0/8 masquerade comment \"{tag}\"\n\
add rule ip {TABLE} postrouting oifname \"{bridge}\" ip saddr {net} ct status dnat masquerade comment \"{tag}\"\n\
add rule ip {TABLE} postrouting oifname != \"{bridge}\" ip saddr {net} masquerade comment \"{tag}\"\n"
    )
}

/// Installs the bridge's masquerade rules unless they are there already.
/// The caller holds the state lock, so two processes never both add them.
pub fn ensure_bridge(bridge: &str, subnet: &Ipv4Cidr) -> Result<()> {
    let tag = bridge_tag(bridge);
    if nft::rules("ip")?.iter().any(|r| r.comment == tag) {
        return Ok(());
    }
    nft::apply(
        &format!("add masquerade rules for bridge {bridge}"),
        &format!("{}{}", ip_setup(), bridge_rules(bridge, subnet)),
    )
}

/// Installs the container's DNAT rules in one transaction.
pub fn publish(id: &str, ip: Ipv4Addr, ports: &[PublishedPort]) -> Result<()> {
    if ports.is_empty() {
        return Ok(());
    }
    nft::apply(
        &format!("publish ports of container {id}"),
        &format!("{}{}", ip_setup(), port_rules(id, ip, ports)),
    )
}

/// Removes the container's DNAT rules; returns how many there were.
pub fn unpublish(id: &str) -> Result<usize> {
    nft::delete_tagged("ip", &container_tag(id))
}

/// Removes the bridge's masquerade rules.
pub fn remove_bridge(bridge: &str) -> Result<usize> {
    nft::delete_tagged("ip", &bridge_tag(bridge))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cidr::parse_cidr;
    use crate::ports::Proto;

    #[test]
    fn port_rule_text() {
        let ports = vec![
            PublishedPort {
                host_ip: None,
                host_port: 8080,
                container_port: 80,
                proto: Proto::Tcp,
            },
            PublishedPort {
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_port: 5353,
                container_port: 53,
                proto: Proto::Udp,
            },
        ];
        let s = port_rules("c1", Ipv4Addr::new(10, 0, 0, 2), &ports);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "add rule ip berth prerouting fib daddr type local tcp dport 8080 dnat to 10.0.0.2:80 comment \"berth:c1\"");
        assert_eq!(lines[3], "add rule ip berth output ip daddr 127.0.0.1 udp dport 5353 dnat to 10.0.0.2:53 comment \"berth:c1\"");
    }

    #[test]
    fn bridge_rule_text() {
        let s = bridge_rules("br1", &parse_cidr("10.0.0.1/24").unwrap());
        assert!(s.contains(
            "oifname \"br1\" ip saddr 127.0.0.0/8 masquerade comment \"berth-bridge:br1\""
        ));
        assert!(s.contains("ip saddr 10.0.0.0/24 ct status dnat masquerade"));
        assert_eq!(s.lines().count(), 3);
    }
}
