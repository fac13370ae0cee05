//! The three calls the container crate makes — [`prepare`], [`attach`],
//! [`teardown`] — plus bridge definition and removal. This module only
//! orders the work of the others and undoes it on failure.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, Ipv4Cidr};
use crate::config::{Mode, NetworkConfig, DEFAULT_SUBNET};
use crate::files::{self, HostsInput};
use crate::hostports::{self, PublishedPort};
use crate::names::{check_bridge_name, check_container_id};
use crate::netlink::{block_on, connect, connect_in, ipv4_addresses, link_by_name};
use crate::store::{self, BridgeState, Locked, Record};
use crate::{bridge, ipam, isolation, nat, sysctl, veth, Error, Result};

/// A linked container as resolved at prepare time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkedPeer {
    pub id: String,
    pub alias: String,
    pub ip: Ipv4Addr,
}

/// What bridge mode decided for a container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BridgePlan {
    pub name: String,
    /// The bridge's subnet as recorded (its address is the gateway when host bits are set).
    pub subnet: Ipv4Cidr,
    pub ip: Ipv4Addr,
    pub mtu: Option<u32>,
    pub ports: Vec<PublishedPort>,
    pub icc: bool,
    pub links: Vec<LinkedPeer>,
}

/// The outcome of [`prepare`]; saved under `<root>/net/containers/<id>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prepared {
    pub id: String,
    pub mode: Mode,
    pub bridge: Option<BridgePlan>,
    pub hosts_file: PathBuf,
    pub resolv_file: PathBuf,
    /// The namespace to join in `container:<id>` mode.
    pub netns: Option<PathBuf>,
}

impl Prepared {
    /// Host files to bind-mount, with their targets inside the container.
    pub fn files(&self) -> Vec<(PathBuf, &'static str)> {
        vec![
            (self.hosts_file.clone(), "/etc/hosts"),
            (self.resolv_file.clone(), "/etc/resolv.conf"),
        ]
    }

    /// Whether the container needs a network namespace of its own (bridge and none modes).
    pub fn needs_new_netns(&self) -> bool {
        matches!(self.mode, Mode::Bridge | Mode::None)
    }

    /// The namespace to join instead (`container:<id>` mode).
    pub fn netns_path(&self) -> Option<PathBuf> {
        self.netns.clone()
    }

    /// The leased address (bridge mode).
    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.bridge.as_ref().map(|b| b.ip)
    }
}

/// The container's interface as created by [`attach`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub bridge: String,
    pub host_veth: String,
    pub ifname: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub mac: String,
}

/// The outcome of [`attach`]; saved next to the [`Prepared`] record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub mode: Mode,
    /// Bridge mode only.
    pub interface: Option<Interface>,
    pub ports: Vec<PublishedPort>,
}

/// The init pid of a berth container, from `<root>/<id>/state.json`.
fn container_pid(root: &Path, id: &str) -> Result<i32> {
    let path = root.join(id).join("state.json");
    let bad = |reason: String| Error::ContainerNetns {
        id: id.to_string(),
        reason,
    };
    let bytes =
        std::fs::read(&path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    match v.get("pid").and_then(|p| p.as_i64()) {
        Some(pid) if pid > 0 && pid <= i64::from(i32::MAX) => Ok(pid as i32),
        _ => Err(bad(format!("{} has no positive \"pid\"", path.display()))),
    }
}

fn read_host_file(path: &str) -> Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Undo list for [`prepare`]: previous contents of every state file touched.
struct Saved<'a> {
    lock: &'a Locked,
    bridge: Option<(String, Option<BridgeState>)>,
    ports: Option<Vec<store::PortLease>>,
}

impl Saved<'_> {
    fn restore(self) {
        if let Some((name, prev)) = self.bridge {
            let _ = match prev {
                Some(st) => self.lock.save_bridge(&name, &st),
                None => self.lock.remove_bridge(&name),
            };
        }
        if let Some(p) = self.ports {
            let _ = self.lock.save_ports(&p);
        }
    }
}

/// Decides the bridge's subnet: the request, else the recorded one, else the
/// existing bridge's address, else [`DEFAULT_SUBNET`]. Checks it against the
/// kernel without changing anything.
fn resolve_subnet(
    name: &str,
    want: Option<Ipv4Cidr>,
    recorded: Option<&BridgeState>,
) -> Result<Ipv4Cidr> {
    let subnet = block_on(async {
        let h = connect()?;
        let subnet = match (want, recorded) {
            (Some(s), Some(st)) if s != st.subnet && !st.leases.is_empty() => {
                return Err(Error::SubnetConflict {
                    bridge: name.to_string(),
                    subnet: s.to_string(),
                    reason: format!(
                        "bridge {name} has subnet {} with containers on it",
                        st.subnet
                    ),
                })
            }
            (Some(s), _) => s,
            (None, Some(st)) => st.subnet,
            (None, None) => match link_by_name(&h, name).await? {
                Some(link) => match ipv4_addresses(&h, link.header.index, name).await?.first() {
                    Some((ip, prefix)) => Ipv4Cidr::new(*ip, *prefix)?,
                    None => parse_cidr(DEFAULT_SUBNET)?,
                },
                None => parse_cidr(DEFAULT_SUBNET)?,
            },
        };
        subnet.check_bridge_subnet()?;
        bridge::check(&h, name, &subnet).await?;
        Ok(subnet)
    })??;
    Ok(subnet)
}

/// Before the container's init is cloned: takes the address lease (bridge
/// mode), decides host ports, resolves links, and writes `hosts` and
/// `resolv.conf` into `state_dir`. Leaves nothing behind on error.
pub fn prepare(root: &Path, id: &str, cfg: &NetworkConfig, state_dir: &Path) -> Result<Prepared> {
    check_container_id(id)?;
    cfg.validate()?;
    let lock = store::lock(root)?;
    if lock.record(id)?.is_some() {
        return Err(Error::InvalidName {
            what: "container id",
            value: id.to_string(),
            reason: "already has a network; tear it down first".into(),
        });
    }
    let host_resolv = read_host_file("/etc/resolv.conf")?;
    let mut saved = Saved {
        lock: &lock,
        bridge: None,
        ports: None,
    };
    let mut netns = None;
    let mut pending_ports = None;
    let mut pending_lease = None;
    let mut own_ip = None;
    let mut plan = None;
    let mut host_hosts = None;
    match &cfg.mode {
        Mode::Bridge => {
            let recorded = lock.bridge(&cfg.bridge)?;
            let subnet = resolve_subnet(&cfg.bridge, cfg.subnet, recorded.as_ref())?;
            let mut state = match recorded.clone() {
                Some(st) if st.subnet == subnet => st,
                _ => BridgeState {
                    subnet,
                    leases: Vec::new(),
                    icc: !matches!(&recorded, Some(st) if !st.icc),
                },
            };
            let ip = ipam::lease(&cfg.bridge, &mut state, id, cfg.ip)?;
            let mut links = Vec::new();
            for (lid, alias) in &cfg.links {
                let peer = lock.record(lid)?.ok_or_else(|| Error::LinkTarget {
                    id: lid.clone(),
                    reason: "no such container on any berth network".into(),
                })?;
                let Some(pb) = peer.prepared.bridge.filter(|b| b.name == cfg.bridge) else {
                    return Err(Error::LinkTarget {
                        id: lid.clone(),
                        reason: format!("not on bridge {}", cfg.bridge),
                    });
                };
                links.push(LinkedPeer {
                    id: lid.clone(),
                    alias: alias.clone(),
                    ip: pb.ip,
                });
            }
            let mut taken = lock.ports()?;
            let before = taken.clone();
            let ports =
                hostports::allocate(&mut taken, id, &cfg.publish, cfg.publish_all, &cfg.expose)?;
            // Saved only after the container's record, so that a runtime
            // killed in between leaves a record that teardown can undo from.
            if !ports.is_empty() {
                pending_ports = Some((before, taken));
            }
            own_ip = Some(ip);
            plan = Some(BridgePlan {
                name: cfg.bridge.clone(),
                subnet,
                ip,
                mtu: cfg.mtu,
                ports,
                icc: cfg.icc && state.icc,
                links,
            });
            pending_lease = Some((recorded, state));
        }
        Mode::Container(other) => {
            let pid = container_pid(root, other)?;
            let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
            if !path.exists() {
                return Err(Error::ContainerNetns {
                    id: other.clone(),
                    reason: format!("process {pid} is gone"),
                });
            }
            own_ip = lock.record(other)?.and_then(|r| r.prepared.ip());
            netns = Some(path);
        }
        Mode::Host => host_hosts = Some(read_host_file("/etc/hosts")?),
        Mode::None => {}
    }
    let link_lines: Vec<(String, Ipv4Addr)> = plan
        .iter()
        .flat_map(|p| p.links.iter().map(|l| (l.alias.clone(), l.ip)))
        .collect();
    let hosts_text = files::hosts(&HostsInput {
        base: host_hosts.as_deref(),
        own: own_ip.zip(cfg.hostname.as_deref()),
        links: &link_lines,
        extra: &cfg.add_hosts,
    });
    let resolv_text = files::resolv(
        &host_resolv,
        &cfg.dns,
        &cfg.dns_search,
        &cfg.dns_options,
        cfg.mode == Mode::Host,
    );
    let (hosts_file, resolv_file) = match files::write(state_dir, &hosts_text, &resolv_text) {
        Ok(paths) => paths,
        Err(e) => {
            saved.restore();
            return Err(e);
        }
    };
    let prepared = Prepared {
        id: id.to_string(),
        mode: cfg.mode.clone(),
        bridge: plan,
        hosts_file,
        resolv_file,
        netns,
    };
    let undo = |saved: Saved, e: Error| {
        let _ = lock.remove_record(id);
        let _ = std::fs::remove_file(&prepared.hosts_file);
        let _ = std::fs::remove_file(&prepared.resolv_file);
        saved.restore();
        Err(e)
    };
    if let Err(e) = lock.save_record(
        id,
        &Record {
            prepared: prepared.clone(),
            attachment: None,
        },
    ) {
        return undo(saved, e);
    }
    // The record names the ports and the lease before they are taken.
    if let Some((before, taken)) = pending_ports {
        saved.ports = Some(before);
        if let Err(e) = lock.save_ports(&taken) {
            return undo(saved, e);
        }
    }
    if let Some((recorded, state)) = pending_lease {
        saved.bridge = Some((cfg.bridge.clone(), recorded));
        if let Err(e) = lock.save_bridge(&cfg.bridge, &state) {
            return undo(saved, e);
        }
    }
    Ok(prepared)
}

/// After init (`pid`) exists in its new network namespace: sets up the
/// network [`prepare`] planned. Undoes its own work on error.
pub fn attach(root: &Path, id: &str, prepared: &Prepared, pid: i32) -> Result<Attachment> {
    if pid <= 0 {
        return Err(Error::InvalidName {
            what: "pid",
            value: pid.to_string(),
            reason: "must be positive".into(),
        });
    }
    attach_netns(
        root,
        id,
        prepared,
        Path::new(&format!("/proc/{pid}/ns/net")),
    )
}

/// [`attach`] for a namespace given by path (`/proc/<pid>/ns/net` or a bind
/// mount such as `/run/netns/<name>`).
pub fn attach_netns(
    root: &Path,
    id: &str,
    prepared: &Prepared,
    netns_path: &Path,
) -> Result<Attachment> {
    check_container_id(id)?;
    let mut att = Attachment {
        id: id.to_string(),
        mode: prepared.mode.clone(),
        interface: None,
        ports: Vec::new(),
    };
    match &prepared.mode {
        Mode::Host | Mode::Container(_) => {}
        Mode::None => {
            block_on(async {
                let h = connect_in(netns_path)?;
                veth::loopback_up(&h).await
            })??;
        }
        Mode::Bridge => {
            let plan = prepared
                .bridge
                .as_ref()
                .ok_or_else(|| Error::InvalidConfig {
                    key: "prepared.bridge".into(),
                    value: id.to_string(),
                    reason: "bridge mode without a bridge plan".into(),
                })?;
            let (iface, created) = attach_bridge(id, plan, netns_path)?;
            if let Err(e) = rules_and_record(root, id, prepared, plan, &iface) {
                undo_attach(id, &iface.host_veth, created.then_some(plan));
                return Err(e);
            }
            att.interface = Some(iface);
            att.ports = plan.ports.clone();
            return Ok(att);
        }
    }
    let lock = store::lock(root)?;
    lock.save_record(
        id,
        &Record {
            prepared: prepared.clone(),
            attachment: Some(att.clone()),
        },
    )?;
    Ok(att)
}

/// Netlink part of bridge attach: bridge, sysctls, veth, inside setup.
fn attach_bridge(id: &str, plan: &BridgePlan, netns_path: &Path) -> Result<(Interface, bool)> {
    let (host, peer) = veth::names(id);
    let netns_file = crate::netns::open(netns_path)?;
    let gateway = plan.subnet.gateway();
    block_on(async {
        let h = connect()?;
        let (bridge_index, created) =
            bridge::ensure(&h, &plan.name, &plan.subnet, plan.mtu).await?;
        let undo_bridge = |h: rtnetlink::Handle| async move {
            if created {
                let _ = bridge::remove(&h, &plan.name).await;
            }
        };
        if let Err(e) =
            sysctl::enable_ip_forward().and_then(|_| sysctl::enable_route_localnet(&plan.name))
        {
            undo_bridge(h).await;
            return Err(e);
        }
        use std::os::fd::AsRawFd;
        if let Err(e) = veth::create(
            &h,
            &host,
            &peer,
            bridge_index,
            plan.mtu,
            netns_file.as_raw_fd(),
        )
        .await
        {
            undo_bridge(h).await;
            return Err(e);
        }
        let inside = async {
            let hc = connect_in(netns_path)?;
            veth::configure_inside(&hc, &peer, plan.ip, plan.subnet.prefix(), gateway, plan.mtu)
                .await
        }
        .await;
        match inside {
            Ok(mac) => Ok((
                Interface {
                    bridge: plan.name.clone(),
                    host_veth: host.clone(),
                    ifname: veth::CONTAINER_IFNAME.to_string(),
                    ip: plan.ip,
                    prefix: plan.subnet.prefix(),
                    gateway,
                    mac,
                },
                created,
            )),
            Err(e) => {
                let _ = veth::delete(&h, &host).await;
                undo_bridge(h).await;
                Err(e)
            }
        }
    })?
}

/// nft part of bridge attach plus the record update, under the state lock.
fn rules_and_record(
    root: &Path,
    id: &str,
    prepared: &Prepared,
    plan: &BridgePlan,
    iface: &Interface,
) -> Result<()> {
    let lock = store::lock(root)?;
    nat::ensure_bridge(&plan.name, &plan.subnet)?;
    nat::publish(id, plan.ip, &plan.ports)?;
    let link_ips: Vec<Ipv4Addr> = plan.links.iter().map(|l| l.ip).collect();
    isolation::apply(id, &iface.host_veth, plan.icc, &link_ips)?;
    let att = Attachment {
        id: id.to_string(),
        mode: Mode::Bridge,
        interface: Some(iface.clone()),
        ports: plan.ports.clone(),
    };
    lock.save_record(
        id,
        &Record {
            prepared: prepared.clone(),
            attachment: Some(att),
        },
    )
}

fn undo_attach(id: &str, host_veth: &str, created_bridge: Option<&BridgePlan>) {
    let _ = nat::unpublish(id);
    let _ = isolation::remove(id);
    let _ = block_on(async {
        let h = connect()?;
        let _ = veth::delete(&h, host_veth).await;
        if let Some(plan) = created_bridge {
            if bridge::remove(&h, &plan.name).await.unwrap_or(false) {
                let _ = nat::remove_bridge(&plan.name);
            }
        }
        Ok::<(), Error>(())
    });
}

/// On delete: removes the container's NAT and isolation rules and its veth
/// (if still there), then releases its address and ports exactly once.
/// Idempotent: an unknown id is not an error. The bridge stays; see [`remove_bridge`].
pub fn teardown(root: &Path, id: &str) -> Result<()> {
    check_container_id(id)?;
    let lock = store::lock(root)?;
    let Some(record) = lock.record(id)? else {
        return Ok(());
    };
    // Published ports and isolation rules exist only in bridge mode; the other modes
    // touch no nftables (and need no root to be torn down).
    if let Some(plan) = &record.prepared.bridge {
        nat::unpublish(id)?;
        isolation::remove(id)?;
        let (host, _) = veth::names(id);
        block_on(async {
            let h = connect()?;
            veth::delete(&h, &host).await
        })??;
        if let Some(mut st) = lock.bridge(&plan.name)? {
            if ipam::release(&mut st, id) > 0 {
                lock.save_bridge(&plan.name, &st)?;
            }
        }
        let mut ports = lock.ports()?;
        if hostports::release(&mut ports, id) > 0 {
            lock.save_ports(&ports)?;
        }
    }
    lock.remove_record(id)
}

/// Records `subnet` for bridge `name` and creates the bridge (for
/// `berth network create`). Refused when the bridge already has a different
/// subnet with containers on it or the subnet overlaps a host route.
/// `icc == false` isolates every container attached from now on (those
/// already attached keep their rules).
pub fn define_bridge(root: &Path, name: &str, subnet: Ipv4Cidr, icc: bool) -> Result<()> {
    check_bridge_name(name)?;
    subnet.check_bridge_subnet()?;
    let lock = store::lock(root)?;
    let recorded = lock.bridge(name)?;
    let subnet = resolve_subnet(name, Some(subnet), recorded.as_ref())?;
    let leases = recorded
        .filter(|st| st.subnet == subnet)
        .map(|st| st.leases)
        .unwrap_or_default();
    let (_, created) = block_on(async {
        let h = connect()?;
        bridge::ensure(&h, name, &subnet, None).await
    })??;
    if let Err(e) = sysctl::enable_route_localnet(name)
        .and_then(|_| nat::ensure_bridge(name, &subnet))
        .and_then(|_| {
            lock.save_bridge(
                name,
                &BridgeState {
                    subnet,
                    leases,
                    icc,
                },
            )
        })
    {
        if created {
            let _ = block_on(async {
                let h = connect()?;
                bridge::remove(&h, name).await
            });
        }
        return Err(e);
    }
    Ok(())
}

/// Deletes bridge `name`, its masquerade rules and its record, when no
/// container holds a lease on it and no interface is enslaved to it.
/// Returns whether a kernel bridge was deleted.
pub fn remove_bridge(root: &Path, name: &str) -> Result<bool> {
    check_bridge_name(name)?;
    let lock = store::lock(root)?;
    if let Some(st) = lock.bridge(name)? {
        if let Some(l) = st.leases.first() {
            return Err(Error::BridgeInUse {
                bridge: name.to_string(),
                reason: format!("container {} still holds {}", l.id, l.ip),
            });
        }
    }
    let removed = block_on(async {
        let h = connect()?;
        bridge::remove(&h, name).await
    })??;
    nat::remove_bridge(name)?;
    lock.remove_bridge(name)?;
    Ok(removed)
}
