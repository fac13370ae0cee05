//! `linux.netDevices` (OCI runtime spec, config-linux.md "Network Devices"):
//! existing devices of the runtime's network namespace (the host's) moved into
//! a container's, optionally renamed. The kernel keeps a device's MTU and MAC
//! across the move but drops its addresses, so the permanent addresses of
//! global scope are read before and added again after, as the spec asks; then
//! the device is brought up.
//!
//! A device is never moved back: the spec forbids it ("the runtime MUST NOT
//! attempt to move the interface out of the namespace before deletion"; the
//! namespace's owner manages it) and runc does not. When the namespace is
//! freed, the kernel returns physical devices to the initial namespace and
//! destroys virtual ones (veth, macvlan, ...); a namespace joined by path
//! keeps the device.
//!
//! Everything that can be checked before a container exists is: the names
//! ([`plan`]), that each device is on the host and each name free inside
//! ([`check`]). [`move_into`] checks the names once more in the container's
//! namespace before it moves the first device.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use oci_spec::runtime::LinuxNetDevice;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::link::LinkMessage;
use rtnetlink::{Handle, LinkUnspec};

use crate::netlink::{addresses, block_on, connect, connect_in, link_by_name, link_name, links};
use crate::{netns, Error, Result};

/// The kernel's IFNAMSIZ: a name has at most 15 bytes and its terminating NUL.
const IFNAMSIZ: usize = 16;

/// One device to move.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDevice {
    /// Its name in the runtime's network namespace (the map's key).
    pub host: String,
    /// Its name inside the container: `name`, or the host's name. A name with
    /// `%d` is a template the kernel completes with the first free number.
    pub name: String,
}

impl NetDevice {
    fn is_template(&self) -> bool {
        self.name.contains('%')
    }

    fn error(&self, reason: impl std::fmt::Display) -> Error {
        Error::NetDevices(format!("{}: {reason}", self.host))
    }
}

/// Why `name` cannot name a network device, by the kernel's rule
/// (`dev_valid_name`): 1 to 15 bytes, not `.` or `..`, no `/`, `:` or byte
/// its `isspace()` takes for white space. With `template`, one `%d` is
/// allowed (`eth%d`).
pub fn invalid_name(name: &str, template: bool) -> Option<String> {
    if name.is_empty() {
        return Some("empty name".into());
    }
    if name.len() >= IFNAMSIZ {
        return Some(format!(
            "name {name:?} is {} bytes long (at most {})",
            name.len(),
            IFNAMSIZ - 1
        ));
    }
    if name == "." || name == ".." {
        return Some(format!("name {name:?} is not allowed"));
    }
    // The kernel's isspace(): \t \n \v \f \r, space and (Latin-1) 0xa0, as bytes.
    if let Some(b) = name
        .bytes()
        .find(|&b| matches!(b, b'/' | b':' | b' ' | b'\t'..=b'\r' | 0xa0))
    {
        return Some(format!("name {name:?} contains {:?}", char::from(b)));
    }
    match name.find('%') {
        None => None,
        Some(_) if !template => Some(format!("name {name:?} contains '%'")),
        Some(i) if !name[i..].starts_with("%d") || name[i + 1..].contains('%') => Some(format!(
            "name {name:?}: a template has one \"%d\" and no other '%'"
        )),
        Some(_) => None,
    }
}

/// Checks the config's map without touching the system: valid names, no two
/// devices given one name inside (templates aside), none named `lo` (the
/// loopback device is in every namespace and cannot move) or one of `taken`
/// (the names berth's own network gives). Sorted by host name.
pub fn plan(devices: &HashMap<String, LinuxNetDevice>, taken: &[&str]) -> Result<Vec<NetDevice>> {
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    let mut out = Vec::new();
    let sorted: BTreeMap<_, _> = devices.iter().collect();
    for (host, dev) in sorted {
        let name = dev
            .name()
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(host);
        let d = NetDevice {
            host: host.clone(),
            name: name.to_string(),
        };
        if let Some(why) = invalid_name(host, false) {
            return Err(d.error(why));
        }
        if let Some(why) = invalid_name(name, true) {
            return Err(d.error(format!("\"name\": {why}")));
        }
        if host == "lo" {
            return Err(d.error("the loopback device cannot be moved"));
        }
        if name == "lo" || taken.contains(&name) {
            return Err(d.error(format!(
                "the container's network namespace already has a device named {name}"
            )));
        }
        if !d.is_template() {
            if let Some(other) = by_name.insert(name, host) {
                return Err(d.error(format!(
                    "{other} would have the same name in the container, {name}"
                )));
            }
        }
        out.push(d);
    }
    Ok(out)
}

/// Whether the namespace at `path` is the caller's own network namespace.
pub fn is_own_netns(path: &Path) -> Result<bool> {
    let id = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| Error::NetDevices(format!("stat {}: {e}", p.display())))
    };
    Ok(id(path)? == id(Path::new("/proc/thread-self/ns/net"))?)
}

/// Before anything is made: each device exists in the runtime's network
/// namespace and, when the container joins the namespace at `target`, none
/// of the names is taken there.
pub fn check(devices: &[NetDevice], target: Option<&Path>) -> Result<()> {
    in_field(|| {
        block_on(async {
            let host = connect()?;
            let inside = target.map(connect_in).transpose()?;
            find_all(&host, inside.as_ref(), devices).await.map(drop)
        })?
    })
}

/// Moves every device into the network namespace at `netns_path`
/// (`/proc/<pid>/ns/net` of the container's init), renamed, with its
/// permanent global addresses, and brings it up. Nothing is moved when a
/// device is missing or a name is taken inside.
pub fn move_into(devices: &[NetDevice], netns_path: &Path) -> Result<()> {
    in_field(|| {
        let netns = netns::open(netns_path)?;
        block_on(async {
            let host = connect()?;
            let inside = connect_in(netns_path)?;
            let links = find_all(&host, Some(&inside), devices).await?;
            for (d, link) in devices.iter().zip(links) {
                move_one(&host, &inside, d, link, netns.as_raw_fd()).await?;
            }
            Ok(())
        })?
    })
}

/// Every error of this module names the config field.
fn in_field(f: impl FnOnce() -> Result<()>) -> Result<()> {
    f().map_err(|e| match e {
        e @ Error::NetDevices(_) => e,
        e => Error::NetDevices(e.to_string()),
    })
}

/// Each device's link on the host, once each name is known to be free in
/// the namespace of `inside`, when given.
async fn find_all(
    host: &Handle,
    inside: Option<&Handle>,
    devices: &[NetDevice],
) -> Result<Vec<LinkMessage>> {
    let mut found = Vec::new();
    for d in devices {
        let link = link_by_name(host, &d.host).await?;
        found.push(link.ok_or_else(|| d.error("no such network device on the host"))?);
    }
    for d in devices.iter().filter(|d| !d.is_template()) {
        let Some(inside) = inside else { break };
        if link_by_name(inside, &d.name).await?.is_some() {
            return Err(d.error(format!(
                "the container's network namespace already has a device named {}",
                d.name
            )));
        }
    }
    Ok(found)
}

async fn move_one(
    host: &Handle,
    inside: &Handle,
    d: &NetDevice,
    link: LinkMessage,
    netns_fd: i32,
) -> Result<()> {
    let addresses = kept_addresses(host, link.header.index, &d.host).await?;
    let before: Vec<u32> = if d.is_template() {
        links(inside)
            .await?
            .iter()
            .map(|l| l.header.index)
            .collect()
    } else {
        Vec::new()
    };
    // One request moves and renames, so the host name never has to be free inside.
    host.link()
        .set(
            LinkUnspec::new_with_index(link.header.index)
                .setns_by_fd(netns_fd)
                .name(d.name.clone())
                .build(),
        )
        .execute()
        .await
        .map_err(|e| {
            d.error(format!(
                "move into the container's network namespace as {}: {}",
                d.name,
                crate::netlink::reason(&e)
            ))
        })?;
    // The index is kept unless it is taken inside: find the device by its name,
    // or (a template) as the one device that was not there before.
    let moved = if d.is_template() {
        let new: Vec<LinkMessage> = links(inside)
            .await?
            .into_iter()
            .filter(|l| !before.contains(&l.header.index))
            .collect();
        <[LinkMessage; 1]>::try_from(new).ok().map(|[l]| l)
    } else {
        link_by_name(inside, &d.name).await?
    };
    let moved = moved.ok_or_else(|| d.error("not found in the container after the move"))?;
    let index = moved.header.index;
    let name = link_name(&moved).unwrap_or(&d.name).to_string();
    for mut a in addresses {
        a.header.index = index;
        let (ip, shown) = address_of(&a);
        // The request's own message is replaced by the one read from the host.
        let mut req = inside.address().add(index, ip, a.header.prefix_len);
        *req.message_mut() = a;
        req.execute().await.map_err(|e| {
            d.error(format!(
                "add address {shown} to {name} in the container: {}",
                crate::netlink::reason(&e)
            ))
        })?;
    }
    inside
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| {
            d.error(format!(
                "bring up {name} in the container: {}",
                crate::netlink::reason(&e)
            ))
        })
}

/// Address flags given when an address is added, carried over.
const CHOSEN_FLAGS: AddressFlags = AddressFlags::Nodad
    .union(AddressFlags::Optimistic)
    .union(AddressFlags::Noprefixroute)
    .union(AddressFlags::Managetempaddr)
    .union(AddressFlags::Mcautojoin);

/// The addresses of link `index` the spec says travel with it: permanent
/// (`IFA_F_PERMANENT`, not learned) and of global scope, any family. Each is
/// returned as the message that adds it again: family, prefix length, scope,
/// local and peer address, IPv4 broadcast, the flags chosen when it was
/// added; not the label, which carries the old name.
async fn kept_addresses(h: &Handle, index: u32, name: &str) -> Result<Vec<AddressMessage>> {
    let mut out = Vec::new();
    for m in addresses(h, index, name).await? {
        let flags = m
            .attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Flags(f) => Some(*f),
                _ => None,
            })
            .unwrap_or(AddressFlags::from_bits_retain(m.header.flags.bits().into()));
        if !flags.contains(AddressFlags::Permanent) || m.header.scope != AddressScope::Universe {
            continue;
        }
        let mut add = AddressMessage::default();
        add.header.family = m.header.family;
        add.header.prefix_len = m.header.prefix_len;
        add.header.scope = m.header.scope;
        add.attributes = m
            .attributes
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    AddressAttribute::Local(_)
                        | AddressAttribute::Address(_)
                        | AddressAttribute::Broadcast(_)
                )
            })
            .collect();
        // The flags the user set (`ip address add ... nodad noprefixroute`); the
        // rest (permanent, tentative, secondary, ...) are the kernel's to decide.
        let chosen = flags & CHOSEN_FLAGS;
        if !chosen.is_empty() {
            add.attributes.push(AddressAttribute::Flags(chosen));
        }
        out.push(add);
    }
    Ok(out)
}

/// The address a message adds (its local address, else its address), and
/// how an error shows it.
fn address_of(m: &AddressMessage) -> (IpAddr, String) {
    let find = |local: bool| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if local => Some(*ip),
            AddressAttribute::Address(ip) if !local => Some(*ip),
            _ => None,
        })
    };
    let ip = find(true)
        .or_else(|| find(false))
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    (ip, format!("{ip}/{}", m.header.prefix_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices(entries: &[(&str, Option<&str>)]) -> HashMap<String, LinuxNetDevice> {
        entries
            .iter()
            .map(|(host, name)| {
                let mut d = LinuxNetDevice::default();
                d.set_name(name.map(str::to_string));
                (host.to_string(), d)
            })
            .collect()
    }

    #[test]
    fn names_follow_the_kernels_rule() {
        for ok in ["eth0", "a", "ctr_dummy0", "x-y.z", "fifteen_bytes_x"] {
            assert_eq!(invalid_name(ok, false), None, "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "a\tb",
            "a\u{b}b",
            "a\u{a0}b",
            "sixteen_bytes_xx",
        ] {
            assert!(invalid_name(bad, true).is_some(), "{bad:?}");
        }
        assert_eq!(invalid_name("eth%d", true), None);
        assert!(invalid_name("eth%d", false).is_some());
        assert!(invalid_name("eth%s", true).is_some());
        assert!(invalid_name("e%dth%d", true).is_some());
    }

    #[test]
    fn plan_renames_and_defaults_to_the_host_name() {
        let p = plan(
            &devices(&[("ndb", None), ("nda", Some("ctr0")), ("ndc", Some(""))]),
            &[],
        )
        .unwrap();
        let pairs: Vec<_> = p.iter().map(|d| (&*d.host, &*d.name)).collect();
        assert_eq!(pairs, [("nda", "ctr0"), ("ndb", "ndb"), ("ndc", "ndc")]);
    }

    #[test]
    fn plan_refuses_bad_and_clashing_names() {
        let err = |e: &[(&str, Option<&str>)], taken: &[&str]| {
            plan(&devices(e), taken).unwrap_err().to_string()
        };
        let e = err(&[("nda", Some("x")), ("ndb", Some("x"))], &[]);
        assert!(
            e.starts_with("linux.netDevices: ndb: nda would have the same name"),
            "{e}"
        );
        let e = err(&[("nda", Some("ndb")), ("ndb", None)], &[]);
        assert!(e.contains("same name in the container, ndb"), "{e}");
        let e = err(&[("nda", Some("a/b"))], &[]);
        assert!(
            e.starts_with("linux.netDevices: nda: \"name\": name \"a/b\""),
            "{e}"
        );
        let e = err(&[("a b", None)], &[]);
        assert!(e.starts_with("linux.netDevices: a b: name"), "{e}");
        let e = err(&[("lo", Some("x"))], &[]);
        assert!(e.contains("loopback"), "{e}");
        let e = err(&[("nda", Some("lo"))], &[]);
        assert!(e.contains("already has a device named lo"), "{e}");
        let e = err(&[("nda", Some("eth0"))], &["eth0"]);
        assert!(e.contains("already has a device named eth0"), "{e}");
        // Templates may repeat: the kernel numbers them.
        assert!(plan(&devices(&[("nda", Some("n%d")), ("ndb", Some("n%d"))]), &[]).is_ok());
    }
}
