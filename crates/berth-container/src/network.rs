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

    #[cfg(feature = "net")]
    #[test]
    fn a_bridge_needs_a_network_namespace() {
        // Spec::default() has a network namespace; without it bridge mode is refused.
        let (mut spec, _) = spec_with(&[("berth.network.mode", "bridge")]);
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
        let ns = Plan::from_spec(&spec).unwrap();
        let e = config(&spec, &ns).err().unwrap().to_string();
        assert!(e.contains("no network namespace"), "{e}");
    }
}
