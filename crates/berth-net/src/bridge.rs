//! Bridges: checked before a lease is taken, created or reused at attach,
//! removed only on request and only when unused.

use std::net::Ipv4Addr;

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{Handle, LinkBridge, LinkUnspec, RouteMessageBuilder};

use crate::cidr::Ipv4Cidr;
use crate::netlink::{err, errno, ipv4_addresses, link_by_name, link_name, links};
use crate::{Error, Result};

fn is_bridge(m: &LinkMessage) -> bool {
    m.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Bridge))),
        _ => false,
    })
}

fn conflict(bridge: &str, subnet: &Ipv4Cidr, reason: String) -> Error {
    Error::SubnetConflict {
        bridge: bridge.to_string(),
        subnet: subnet.to_string(),
        reason,
    }
}

/// Checks, without changing anything, that `subnet` can be used for bridge
/// `name`: an existing bridge must already carry the gateway address or no
/// IPv4 address at all, and no host route outside the bridge may overlap it.
pub async fn check(h: &Handle, name: &str, subnet: &Ipv4Cidr) -> Result<()> {
    let gateway = subnet.gateway();
    let mut bridge_index = None;
    if let Some(link) = link_by_name(h, name).await? {
        if !is_bridge(&link) {
            return Err(conflict(
                name,
                subnet,
                format!("interface {name} exists and is not a bridge"),
            ));
        }
        let addrs = ipv4_addresses(h, link.header.index, name).await?;
        if addrs.contains(&(gateway, subnet.prefix())) {
            return Ok(());
        }
        if let Some((ip, p)) = addrs.first() {
            return Err(conflict(
                name,
                subnet,
                format!("bridge {name} already has address {ip}/{p}"),
            ));
        }
        bridge_index = Some(link.header.index);
    }
    let routes: Vec<_> = h
        .route()
        .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
        .execute()
        .try_collect()
        .await
        .map_err(|e| err("list routes", "ipv4", e))?;
    let all_links = links(h).await?;
    for r in routes {
        let table = r
            .attributes
            .iter()
            .find_map(|a| {
                if let RouteAttribute::Table(t) = a {
                    Some(*t)
                } else {
                    None
                }
            })
            .unwrap_or(u32::from(r.header.table));
        if table != u32::from(rtnetlink::packet_route::route::RouteHeader::RT_TABLE_MAIN)
            || r.header.destination_prefix_length == 0
        {
            continue;
        }
        let Some(dst) = r.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(RouteAddress::Inet(ip)) => Some(*ip),
            _ => None,
        }) else {
            continue;
        };
        let oif = r.attributes.iter().find_map(|a| {
            if let RouteAttribute::Oif(i) = a {
                Some(*i)
            } else {
                None
            }
        });
        if oif.is_some() && oif == bridge_index {
            continue;
        }
        let route = Ipv4Cidr::new(dst, r.header.destination_prefix_length)?;
        if route.overlaps(subnet) {
            let dev = oif
                .and_then(|i| all_links.iter().find(|l| l.header.index == i))
                .and_then(link_name)
                .unwrap_or("?");
            return Err(conflict(
                name,
                subnet,
                format!("overlaps host route {} on {dev}", route.subnet()),
            ));
        }
    }
    Ok(())
}

/// Creates bridge `name` (or reuses it), gives it the gateway address and
/// MTU, and brings it up. Returns its index and whether this call created it.
pub async fn ensure(
    h: &Handle,
    name: &str,
    subnet: &Ipv4Cidr,
    mtu: Option<u32>,
) -> Result<(u32, bool)> {
    let mut created = false;
    let link = match link_by_name(h, name).await? {
        Some(l) => l,
        None => {
            let mut b = LinkBridge::new(name);
            if let Some(m) = mtu {
                b = b.mtu(m);
            }
            match h.link().add(b.build()).execute().await {
                Ok(()) => created = true,
                // Another berth process created it first: reuse it.
                Err(e) if errno(&e) == Some(libc::EEXIST) => {}
                Err(e) => return Err(err("create bridge", name, e)),
            }
            link_by_name(h, name).await?.ok_or_else(|| Error::Netlink {
                op: "find bridge",
                target: name.to_string(),
                reason: "vanished after creation".into(),
            })?
        }
    };
    if !is_bridge(&link) {
        return Err(conflict(
            name,
            subnet,
            format!("interface {name} exists and is not a bridge"),
        ));
    }
    let index = link.header.index;
    let result = async {
        let addrs = ipv4_addresses(h, index, name).await?;
        if !addrs.contains(&(subnet.gateway(), subnet.prefix())) {
            match h
                .address()
                .add(index, subnet.gateway().into(), subnet.prefix())
                .execute()
                .await
            {
                Ok(()) => {}
                Err(e) if errno(&e) == Some(libc::EEXIST) => {}
                Err(e) => {
                    return Err(err(
                        "add address to bridge",
                        format!("{name} {}/{}", subnet.gateway(), subnet.prefix()),
                        e,
                    ))
                }
            }
        }
        h.link()
            .set(LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(|e| err("bring up bridge", name, e))
    }
    .await;
    if let Err(e) = result {
        if created {
            let _ = h.link().del(index).execute().await;
        }
        return Err(e);
    }
    Ok((index, created))
}

/// Names of the interfaces enslaved to the bridge with `index`.
pub async fn ports(h: &Handle, index: u32) -> Result<Vec<String>> {
    Ok(links(h)
        .await?
        .iter()
        .filter(|l| {
            l.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Controller(c) if *c == index))
        })
        .filter_map(|l| link_name(l).map(str::to_string))
        .collect())
}

/// Deletes bridge `name` when it has no ports. `Ok(false)` if it did not exist.
pub async fn remove(h: &Handle, name: &str) -> Result<bool> {
    let Some(link) = link_by_name(h, name).await? else {
        return Ok(false);
    };
    if !is_bridge(&link) {
        return Err(Error::BridgeInUse {
            bridge: name.to_string(),
            reason: "is not a bridge".into(),
        });
    }
    let used = ports(h, link.header.index).await?;
    if !used.is_empty() {
        return Err(Error::BridgeInUse {
            bridge: name.to_string(),
            reason: format!("still has ports {}", used.join(", ")),
        });
    }
    match h.link().del(link.header.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(err("delete bridge", name, e)),
    }
}
