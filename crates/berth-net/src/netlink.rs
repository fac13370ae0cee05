//! The blocking shell around rtnetlink: each public call of the crate starts
//! a current-thread tokio runtime, does its netlink work on the calling
//! thread, and drops the runtime before returning, so no thread survives into
//! a later fork.

use std::future::Future;
use std::net::Ipv4Addr;
use std::path::Path;

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::Handle;

use crate::{netns, Error, Result};

/// Runs `fut` to completion on a fresh current-thread runtime.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::Netlink {
            op: "start runtime",
            target: "tokio".into(),
            reason: e.to_string(),
        })?;
    let out = rt.block_on(fut);
    drop(rt);
    Ok(out)
}

fn spawn_connection() -> Result<Handle> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| Error::Netlink {
        op: "open socket",
        target: "rtnetlink".into(),
        reason: e.to_string(),
    })?;
    tokio::spawn(conn);
    Ok(handle)
}

/// A netlink handle in the caller's namespace. Must run inside [`block_on`].
pub fn connect() -> Result<Handle> {
    spawn_connection()
}

/// A netlink handle whose socket lives in the namespace at `path`.
/// Must run inside [`block_on`].
pub fn connect_in(path: &Path) -> Result<Handle> {
    netns::run_in(path, spawn_connection)?
}

/// The positive errno of a netlink error reply.
pub fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// What a failed request says: the kernel's errno as text, or the library's error.
pub fn reason(e: &rtnetlink::Error) -> String {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.to_io().to_string(),
        other => other.to_string(),
    }
}

/// Builds a crate error for a failed request.
pub fn err(op: &'static str, target: impl Into<String>, e: rtnetlink::Error) -> Error {
    Error::Netlink {
        op,
        target: target.into(),
        reason: reason(&e),
    }
}

/// The link called `name`, if there is one.
pub async fn link_by_name(h: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    let mut links = h.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(found) => Ok(found),
        Err(e) if errno(&e) == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(err("get link", name, e)),
    }
}

/// Every link in the namespace.
pub async fn links(h: &Handle) -> Result<Vec<LinkMessage>> {
    h.link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| err("list links", "all", e))
}

/// The name of a link message.
pub fn link_name(m: &LinkMessage) -> Option<&str> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// Every address on link `index` (called `name`, for the error), any family.
pub async fn addresses(h: &Handle, index: u32, name: &str) -> Result<Vec<AddressMessage>> {
    let msgs: Vec<AddressMessage> = h
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .map_err(|e| err("list addresses of", name, e))?;
    Ok(msgs
        .into_iter()
        .filter(|m| m.header.index == index)
        .collect())
}

/// The IPv4 addresses (with prefix) on link `index`.
pub async fn ipv4_addresses(h: &Handle, index: u32, name: &str) -> Result<Vec<(Ipv4Addr, u8)>> {
    let mut out = Vec::new();
    for m in addresses(h, index, name).await? {
        for a in &m.attributes {
            if let AddressAttribute::Local(std::net::IpAddr::V4(ip))
            | AddressAttribute::Address(std::net::IpAddr::V4(ip)) = a
            {
                if !out.contains(&(*ip, m.header.prefix_len)) {
                    out.push((*ip, m.header.prefix_len));
                }
            }
        }
    }
    Ok(out)
}
