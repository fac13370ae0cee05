//! A container's own networking (the `berth.network.*` annotations) through
//! berth-net. Built without the `net` feature, berth-container has no
//! berth-net, tokio or rtnetlink, and refuses a config that asks for it.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::namespaces::Plan;
use crate::{Error, Result};

/// Annotations with this prefix ask berth to set up the network.
#[cfg(not(feature = "net"))]
const ANNOTATION_PREFIX: &str = "berth.network.";

#[cfg(feature = "net")]
pub(crate) use berth_net::NetworkConfig as Config;

/// Built without `net`: no config can exist.
#[cfg(not(feature = "net"))]
pub(crate) enum Config {}

/// What `prepare` made: the lease, the hosts/resolv files, maybe a netns.
#[cfg(feature = "net")]
pub(crate) struct Network(berth_net::Prepared);

#[cfg(not(feature = "net"))]
pub(crate) enum Network {}

/// The network the config asks for, checked against its namespaces.
pub(crate) fn config(spec: &Spec, ns: &Plan) -> Result<Option<Config>> {
    let annotations = spec.annotations().clone().unwrap_or_default();
    #[cfg(feature = "net")]
    {
        let Some(cfg) = Config::from_annotations(&annotations)? else {
            return Ok(None);
        };
        // Without a namespace of its own, attach would configure the host's.
        let own_netns =
            ns.creates(LinuxNamespaceType::Network) || ns.joins(LinuxNamespaceType::Network);
        match cfg.mode {
            berth_net::Mode::Bridge | berth_net::Mode::None if !own_netns => {
                Err(Error::conflict(
                    "berth.network.mode",
                    "linux.namespaces",
                    format!(
                        "mode={} needs a network namespace, and linux.namespaces has no network namespace",
                        cfg.mode
                    ),
                ))
            }
            berth_net::Mode::Host if own_netns => Err(Error::conflict(
                "berth.network.mode",
                "linux.namespaces",
                "mode=host uses the host's network, and linux.namespaces must not have a network namespace",
            )),
            _ => Ok(Some(cfg)),
        }
    }
    #[cfg(not(feature = "net"))]
    {
        let _ = (ns, LinuxNamespaceType::Network);
        match annotations
            .keys()
            .find(|k| k.starts_with(ANNOTATION_PREFIX))
        {
            Some(k) => Err(Error::unsupported(
                format!("annotation {k}"),
                "berth-container was built without the net feature",
            )),
            None => Ok(None),
        }
    }
}

/// Whether this build moves `linux.netDevices` (`berth features` reports it).
pub const NET_DEVICES: bool = cfg!(feature = "net");

/// `linux.netDevices`, checked: the devices exist on the host, their names
/// are valid and free inside.
#[cfg(feature = "net")]
pub(crate) struct Devices(Vec<berth_net::netdevices::NetDevice>);

#[cfg(not(feature = "net"))]
pub(crate) enum Devices {}

/// The devices `linux.netDevices` moves into the container, checked before
/// anything is made: the container has a network namespace of its own (not
/// the host's), the names are valid and unique, each device is on the host,
/// and a namespace joined by path has none of the names yet.
pub(crate) fn devices(spec: &Spec, ns: &Plan, net: Option<&Config>) -> Result<Option<Devices>> {
    let Some(map) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .filter(|m| !m.is_empty())
    else {
        return Ok(None);
    };
    #[cfg(feature = "net")]
    {
        use berth_net::netdevices;
        if crate::rootless::active() {
            return Err(Error::unsupported(
                "linux.netDevices",
                "moving network devices needs root (runc: not supported for rootless containers)",
            ));
        }
        let joined = ns
            .join
            .iter()
            .find(|j| j.typ == LinuxNamespaceType::Network)
            .map(|j| {
                use std::os::fd::AsRawFd;
                PathBuf::from(format!("/proc/self/fd/{}", j.file.as_raw_fd()))
            });
        let own_netns = ns.creates(LinuxNamespaceType::Network)
            || joined.is_some()
            || net.is_some_and(|c| matches!(c.mode, berth_net::Mode::Container(_)));
        if !own_netns {
            return Err(Error::conflict(
                "linux.netDevices",
                "linux.namespaces",
                "the container has no network namespace of its own (no network entry): the devices would stay on the host",
            ));
        }
        if let Some(path) = &joined {
            if netdevices::is_own_netns(path)? {
                return Err(Error::conflict(
                    "linux.netDevices",
                    "linux.namespaces",
                    "the network namespace joined by path is the host's: the devices would stay on the host",
                ));
            }
        }
        // berth's bridge network names its interface eth0.
        let taken: &[&str] = match net.map(|c| &c.mode) {
            Some(berth_net::Mode::Bridge) => &[berth_net::veth::CONTAINER_IFNAME],
            _ => &[],
        };
        let devices = netdevices::plan(map, taken)?;
        netdevices::check(&devices, joined.as_deref())?;
        Ok(Some(Devices(devices)))
    }
    #[cfg(not(feature = "net"))]
    {
        let _ = (map, ns, net);
        Err(Error::unsupported(
            "linux.netDevices",
            "berth-container was built without the net feature",
        ))
    }
}

impl Devices {
    /// Moves the devices into the network namespace of the container process `pid`.
    #[cfg_attr(not(feature = "net"), allow(unused_variables))]
    pub(crate) fn move_into(&self, pid: i32) -> Result<()> {
        #[cfg(feature = "net")]
        return berth_net::netdevices::move_into(
            &self.0,
            Path::new(&format!("/proc/{pid}/ns/net")),
        )
        .map_err(Into::into);
        #[cfg(not(feature = "net"))]
        match *self {}
    }
}

/// Leases an address and writes the container's hosts and resolv.conf files.
#[cfg_attr(not(feature = "net"), allow(unused_variables))]
pub(crate) fn prepare(root: &Path, id: &str, cfg: &Config, state_dir: &Path) -> Result<Network> {
    #[cfg(feature = "net")]
    return Ok(Network(berth_net::prepare(root, id, cfg, state_dir)?));
    #[cfg(not(feature = "net"))]
    match *cfg {}
}

impl Network {
    /// Host files to bind into the container, with their destinations.
    pub(crate) fn files(&self) -> Vec<(PathBuf, &'static str)> {
        #[cfg(feature = "net")]
        return self.0.files();
        #[cfg(not(feature = "net"))]
        match *self {}
    }

    /// A network namespace the container joins (`container:<id>` mode).
    pub(crate) fn netns_path(&self) -> Option<PathBuf> {
        #[cfg(feature = "net")]
        return self.0.netns_path();
        #[cfg(not(feature = "net"))]
        match *self {}
    }

    /// Plugs the container process `pid` into its network (veth, routes, ports).
    #[cfg_attr(not(feature = "net"), allow(unused_variables))]
    pub(crate) fn attach(&self, root: &Path, id: &str, pid: i32) -> Result<()> {
        #[cfg(feature = "net")]
        return berth_net::attach(root, id, &self.0, pid)
            .map(drop)
            .map_err(Into::into);
        #[cfg(not(feature = "net"))]
        match *self {}
    }
}

/// Removes what `prepare` and `attach` made; a no-op when there is nothing.
#[cfg_attr(not(feature = "net"), allow(unused_variables))]
pub(crate) fn teardown(root: &Path, id: &str) -> Result<()> {
    #[cfg(feature = "net")]
    berth_net::teardown(root, id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(annotations: &[(&str, &str)]) -> (Spec, Plan) {
        let mut spec = Spec::default();
        let map = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        spec.set_annotations(Some(map));
        let ns = Plan::from_spec(&spec).unwrap();
        (spec, ns)
    }

    #[test]
    fn no_annotations_no_network() {
        let (spec, ns) = spec_with(&[("org.example", "x")]);
        assert!(config(&spec, &ns).unwrap().is_none());
    }

    #[cfg(not(feature = "net"))]
    #[test]
    fn without_the_feature_a_network_request_is_refused() {
        let (spec, ns) = spec_with(&[("berth.network.mode", "bridge")]);
        let e = config(&spec, &ns).err().unwrap().to_string();
        assert!(
            e.contains("berth.network.mode") && e.contains("net feature"),
            "{e}"
        );
    }

    /// Drops the network namespace Spec::default() has; the plan of what is left.
    #[cfg(feature = "net")]
    fn without_network_namespace(spec: &mut Spec) -> Plan {
        let mut linux = spec.linux().clone().unwrap();
        let kept = linux
            .namespaces()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.typ() != LinuxNamespaceType::Network)
            .collect();
        linux.set_namespaces(Some(kept));
        spec.set_linux(Some(linux));
        Plan::from_spec(spec).unwrap()
    }

    fn with_net_device(spec: &mut Spec) {
        let mut linux = spec.linux().clone().unwrap();
        linux.set_net_devices(Some([("eth1".to_string(), Default::default())].into()));
        spec.set_linux(Some(linux));
    }

    #[test]
    fn no_net_devices_nothing_to_move() {
        let (spec, ns) = spec_with(&[]);
        assert!(devices(&spec, &ns, None).unwrap().is_none());
    }

    #[cfg(not(feature = "net"))]
    #[test]
    fn without_the_feature_net_devices_are_refused() {
        let (mut spec, ns) = spec_with(&[]);
        with_net_device(&mut spec);
        let e = devices(&spec, &ns, None).err().unwrap().to_string();
        assert!(
            e.starts_with("linux.netDevices is not supported here: ") && e.contains("net feature"),
            "{e}"
        );
    }

    #[cfg(feature = "net")]
    #[test]
    fn net_devices_need_a_network_namespace_of_their_own() {
        let (mut spec, _) = spec_with(&[]);
        with_net_device(&mut spec);
        let ns = without_network_namespace(&mut spec);
        let e = devices(&spec, &ns, None).err().unwrap().to_string();
        assert!(
            e.starts_with("linux.netDevices and linux.namespaces: ")
                && e.contains("no network namespace of its own"),
            "{e}"
        );
    }

    #[cfg(feature = "net")]
    #[test]
    fn a_bridge_needs_a_network_namespace() {
        // Spec::default() has a network namespace; without it bridge mode is refused.
        let (mut spec, _) = spec_with(&[("berth.network.mode", "bridge")]);
        let ns = without_network_namespace(&mut spec);
        let e = config(&spec, &ns).err().unwrap().to_string();
        assert!(e.contains("no network namespace"), "{e}");
    }
}
