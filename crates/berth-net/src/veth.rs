//! The veth pair of a bridged container: host end on the bridge, peer moved
//! into the container's namespace as `eth0` with its address and default route.

use std::net::Ipv4Addr;
use std::os::fd::RawFd;

use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::{Handle, LinkBridgePort, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::netlink::{err, errno, link_by_name};
use crate::{Error, Result};

/// Name of the container's interface.
pub const CONTAINER_IFNAME: &str = "eth0";

/// Host-side and temporary peer names derived from the container id
/// (FNV-1a, 40 bits in hex): `vb<10 hex>` and `vp<10 hex>`, 12 bytes each.
pub fn names(id: &str) -> (String, String) {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let tag = format!("{:010x}", hash & 0xff_ffff_ffff);
    (format!("vb{tag}"), format!("vp{tag}"))
}

async fn index_of(h: &Handle, name: &str) -> Result<u32> {
    link_by_name(h, name)
        .await?
        .map(|l| l.header.index)
        .ok_or_else(|| Error::Netlink {
            op: "find link",
            target: name.to_string(),
            reason: "no such interface".into(),
        })
}

/// Creates the pair, enslaves the host end (hairpin on) and raises it, and moves the peer
/// into the namespace open at `netns_fd`. Deletes the pair on failure.
pub async fn create(
    h: &Handle,
    host: &str,
    peer: &str,
    bridge_index: u32,
    mtu: Option<u32>,
    netns_fd: RawFd,
) -> Result<()> {
    let mut pair = LinkVeth::new(host, peer);
    if let Some(m) = mtu {
        pair = pair.mtu(m);
    }
    h.link()
        .add(pair.build())
        .execute()
        .await
        .map_err(|e| err("create veth pair", format!("{host}/{peer}"), e))?;
    let result = async {
        let host_index = index_of(h, host).await?;
        h.link()
            .set(
                LinkUnspec::new_with_index(host_index)
                    .controller(bridge_index)
                    .up()
                    .build(),
            )
            .execute()
            .await
            .map_err(|e| err("attach to bridge and bring up", host, e))?;
        // Hairpin: a container reaching its own published port through the
        // gateway gets the DNAT-ed frame back out of the port it came in on
        // when br_netfilter bridges it.
        h.link()
            .set_port(LinkBridgePort::new(host_index).hairpin(true).build())
            .execute()
            .await
            .map_err(|e| err("enable hairpin on", host, e))?;
        let peer_index = index_of(h, peer).await?;
        h.link()
            .set(
                LinkUnspec::new_with_index(peer_index)
                    .setns_by_fd(netns_fd)
                    .build(),
            )
            .execute()
            .await
            .map_err(|e| err("move into container namespace", peer, e))
    }
    .await;
    if result.is_err() {
        let _ = delete(h, host).await;
    }
    result
}

fn mac_of(m: &LinkMessage) -> String {
    m.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Address(bytes) => Some(
                bytes
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// Inside the container (handle `h` opened there): renames `peer` to `eth0`,
/// sets MTU and address, brings it and `lo` up, and adds the default route.
/// Returns eth0's MAC address.
pub async fn configure_inside(
    h: &Handle,
    peer: &str,
    ip: Ipv4Addr,
    prefix: u8,
    gateway: Ipv4Addr,
    mtu: Option<u32>,
) -> Result<String> {
    let index = index_of(h, peer).await?;
    let mut msg = LinkUnspec::new_with_index(index).name(CONTAINER_IFNAME);
    if let Some(m) = mtu {
        msg = msg.mtu(m);
    }
    h.link()
        .set(msg.build())
        .execute()
        .await
        .map_err(|e| err("rename to eth0", peer, e))?;
    h.address()
        .add(index, ip.into(), prefix)
        .execute()
        .await
        .map_err(|e| {
            err(
                "add address",
                format!("{CONTAINER_IFNAME} {ip}/{prefix}"),
                e,
            )
        })?;
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| err("bring up", CONTAINER_IFNAME, e))?;
    loopback_up(h).await?;
    let route = RouteMessageBuilder::<Ipv4Addr>::new()
        .gateway(gateway)
        .output_interface(index)
        .build();
    h.route()
        .add(route)
        .execute()
        .await
        .map_err(|e| err("add default route via", gateway.to_string(), e))?;
    let link = link_by_name(h, CONTAINER_IFNAME)
        .await?
        .ok_or_else(|| Error::Netlink {
            op: "find link",
            target: CONTAINER_IFNAME.into(),
            reason: "vanished".into(),
        })?;
    Ok(mac_of(&link))
}

/// Brings `lo` up in the namespace of `h`.
pub async fn loopback_up(h: &Handle) -> Result<()> {
    let index = index_of(h, "lo").await?;
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| err("bring up", "lo", e))
}

/// Deletes a veth by its host-side name (which removes both ends).
/// `Ok(false)` when it was already gone.
pub async fn delete(h: &Handle, host: &str) -> Result<bool> {
    let Some(link) = link_by_name(h, host).await? else {
        return Ok(false);
    };
    match h.link().del(link.header.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(err("delete veth", host, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ifnamsiz_and_differ() {
        let (a, b) = names("container-1");
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("vb") && b.starts_with("vp"));
        assert_eq!(a[2..], b[2..]);
        assert_ne!(names("container-1").0, names("container-2").0);
        assert_eq!(names("x"), names("x"));
    }
}
