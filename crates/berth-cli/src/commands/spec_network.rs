//! `berth spec` network flags, named as `docker run` names them. They become
//! `berth.network.*` annotations (documented in `berth_net::config`), which
//! `berth create` reads. Without any of them the config gets no such
//! annotation and the container runs as under runc: whatever network
//! namespace `linux.namespaces` asks for, and nothing in it but `lo`.
//!
//! `--hostname` alone only sets `hostname` (the UTS name); with any other
//! network flag it is also written to the container's `/etc/hosts`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use berth_net::{parse_cidr, parse_expose, parse_publish, Mode, NetworkConfig};
use oci_spec::runtime::{LinuxNamespaceBuilder, LinuxNamespaceType, Spec};

use super::Result;

#[derive(clap::Args, Debug, Default, PartialEq)]
// `-h` is --hostname, as in `docker run`; help stays on `--help`.
#[command(
    next_help_heading = "Network (docker run names)",
    disable_help_flag = true
)]
pub struct NetworkFlags {
    /// Print help
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Network mode: bridge (default with any network flag), none, host or container:ID
    #[arg(long = "network", alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Bridge to attach to (default berth0)
    #[arg(long = "bridge", value_name = "NAME")]
    pub bridge: Option<String>,
    /// Subnet of the bridge, e.g. 10.88.0.0/24 (gateway .1)
    #[arg(long = "subnet", value_name = "CIDR", conflicts_with = "bip")]
    pub subnet: Option<String>,
    /// Gateway address and prefix of the bridge, e.g. 192.168.0.1/24
    #[arg(long = "bip", value_name = "GATEWAY/PREFIX")]
    pub bip: Option<String>,
    /// Static IPv4 address for the container
    #[arg(long = "ip", value_name = "ADDR")]
    pub ip: Option<String>,
    /// Publish a port: [IP:][HOSTPORT:]PORT[/tcp|/udp] (repeatable)
    #[arg(short = 'p', long = "publish", value_name = "SPEC")]
    pub publish: Vec<String>,
    /// Publish every exposed port on a free host port (49000-49900)
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port: PORT[/tcp|/udp] (repeatable)
    #[arg(long = "expose", value_name = "PORT")]
    pub expose: Vec<String>,
    /// Inter-container communication on the bridge (--icc=false isolates)
    #[arg(long = "icc", value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub icc: Option<bool>,
    /// MTU of the container's interface
    #[arg(long = "mtu", value_name = "BYTES")]
    pub mtu: Option<u32>,
    /// Container host name (UTS name and /etc/hosts)
    #[arg(short = 'h', long = "hostname", value_name = "NAME")]
    pub hostname: Option<String>,
    /// Name server for /etc/resolv.conf (repeatable)
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<String>,
    /// Search domain for /etc/resolv.conf (repeatable)
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Resolver option for /etc/resolv.conf (repeatable)
    #[arg(long = "dns-option", alias = "dns-opt", value_name = "OPT")]
    pub dns_option: Vec<String>,
    /// Link to another berth container: ID[:ALIAS] (repeatable)
    #[arg(long = "link", value_name = "ID:ALIAS")]
    pub link: Vec<String>,
    /// Extra /etc/hosts entry: NAME:IP (repeatable)
    #[arg(long = "add-host", value_name = "NAME:IP")]
    pub add_host: Vec<String>,
}

/// A one-line error naming the flag and its value.
fn bad(flag: &str, value: &str, why: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("--{flag} {value:?}: {why}").into()
}

/// Annotation lists are comma-separated, so a value must not carry a comma.
fn no_comma<'a>(flag: &str, values: &'a [String]) -> Result<&'a [String]> {
    for v in values {
        if v.contains(',') {
            return Err(bad(flag, v, "give one value per flag (no commas)"));
        }
    }
    Ok(values)
}

impl NetworkFlags {
    /// Whether any flag other than `--hostname` was given.
    fn wants_network(&self) -> bool {
        self.network.is_some()
            || self.bridge.is_some()
            || self.subnet.is_some()
            || self.bip.is_some()
            || self.ip.is_some()
            || !self.publish.is_empty()
            || self.publish_all
            || !self.expose.is_empty()
            || self.icc.is_some()
            || self.mtu.is_some()
            || !self.dns.is_empty()
            || !self.dns_search.is_empty()
            || !self.dns_option.is_empty()
            || !self.link.is_empty()
            || !self.add_host.is_empty()
    }

    /// The request the flags describe; `hostname` is the spec's host name.
    pub fn config(&self, hostname: Option<&str>) -> Result<NetworkConfig> {
        let mut c = NetworkConfig::default();
        if let Some(m) = &self.network {
            c.mode = Mode::parse(m)
                .map_err(|_| bad("network", m, "expected bridge, none, host or container:ID"))?;
        }
        if let Some(b) = &self.bridge {
            berth_net::names::check_bridge_name(b).map_err(|e| bad("bridge", b, e))?;
            c.bridge = b.clone();
        }
        if let Some(s) = &self.subnet {
            let cidr = parse_cidr(s).map_err(|e| bad("subnet", s, e))?;
            if cidr.addr() != cidr.network() {
                return Err(bad(
                    "subnet",
                    s,
                    format!(
                        "not a network address (did you mean {}/{} or --bip {s}?)",
                        cidr.network(),
                        cidr.prefix()
                    ),
                ));
            }
            cidr.check_bridge_subnet()
                .map_err(|e| bad("subnet", s, e))?;
            c.subnet = Some(cidr);
        }
        if let Some(s) = &self.bip {
            let cidr = parse_cidr(s).map_err(|e| bad("bip", s, e))?;
            cidr.check_bridge_subnet().map_err(|e| bad("bip", s, e))?;
            if cidr.addr() == cidr.network() {
                return Err(bad("bip", s, "expected the gateway address with its prefix (e.g. 192.168.0.1/24), not the network address"));
            }
            c.subnet = Some(cidr);
        }
        if let Some(ip) = &self.ip {
            c.ip = Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| bad("ip", ip, "not an IPv4 address"))?,
            );
        }
        for p in no_comma("publish", &self.publish)? {
            c.publish
                .push(parse_publish(p).map_err(|e| bad("publish", p, e))?);
        }
        c.publish_all = self.publish_all;
        for p in no_comma("expose", &self.expose)? {
            c.expose
                .push(parse_expose(p).map_err(|e| bad("expose", p, e))?);
        }
        if let Some(icc) = self.icc {
            c.icc = icc;
        }
        c.mtu = self.mtu;
        c.hostname = hostname.map(str::to_string);
        for d in no_comma("dns", &self.dns)? {
            c.dns.push(
                d.parse::<IpAddr>()
                    .map_err(|_| bad("dns", d, "not an IP address"))?,
            );
        }
        c.dns_search = no_comma("dns-search", &self.dns_search)?.to_vec();
        c.dns_options = no_comma("dns-option", &self.dns_option)?.to_vec();
        for l in no_comma("link", &self.link)? {
            let (id, alias) = l.split_once(':').unwrap_or((l, l));
            if id.is_empty() || alias.is_empty() {
                return Err(bad("link", l, "expected ID:ALIAS"));
            }
            c.links.push((id.to_string(), alias.to_string()));
        }
        for h in no_comma("add-host", &self.add_host)? {
            // NAME:IP, where IP may be IPv6 and so hold colons itself.
            let (name, ip) = h
                .split_once(':')
                .ok_or_else(|| bad("add-host", h, "expected NAME:IP"))?;
            let ip = ip
                .parse::<IpAddr>()
                .map_err(|_| bad("add-host", h, format!("{ip:?} is not an IP address")))?;
            c.add_hosts.push((name.to_string(), ip));
        }
        c.validate()?;
        // What create will read back must be what was asked for.
        let back = NetworkConfig::from_annotations(&c.to_annotations())?;
        if back.as_ref() != Some(&c) {
            return Err("network flags do not survive the round trip through annotations".into());
        }
        Ok(c)
    }

    pub fn apply(&self, spec: &mut Spec) -> Result<()> {
        if let Some(h) = &self.hostname {
            berth_net::names::check_hostname("hostname", h).map_err(|e| bad("hostname", h, e))?;
            spec.set_hostname(Some(h.clone()));
        }
        if !self.wants_network() {
            return Ok(());
        }
        let cfg = self.config(spec.hostname().as_deref().filter(|h| !h.is_empty()))?;
        set_network_namespace(spec, &cfg.mode)?;
        let mut annotations: HashMap<String, String> =
            spec.annotations().clone().unwrap_or_default();
        annotations.retain(|k, _| !k.starts_with(berth_net::config::ANNOTATION_PREFIX));
        annotations.extend(cfg.to_annotations());
        spec.set_annotations(Some(annotations));
        Ok(())
    }
}

/// host: no network namespace entry (the host's is kept); every other mode:
/// one entry without a path (create makes it, or joins container:ID's).
fn set_network_namespace(spec: &mut Spec, mode: &Mode) -> Result<()> {
    let Some(linux) = spec.linux_mut() else {
        return Err("berth spec: the config has no linux section".into());
    };
    let mut list = linux.namespaces().clone().unwrap_or_default();
    list.retain(|n| n.typ() != LinuxNamespaceType::Network);
    if *mode != Mode::Host {
        let pos = list
            .iter()
            .position(|n| n.typ() == LinuxNamespaceType::Pid)
            .map_or(0, |i| i + 1);
        let ns = LinuxNamespaceBuilder::default()
            .typ(LinuxNamespaceType::Network)
            .build()
            .map_err(|e| format!("network namespace entry: {e}"))?;
        list.insert(pos, ns);
    }
    linux.set_namespaces(Some(list));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        f: NetworkFlags,
    }

    fn spec_with(args: &[&str]) -> Result<Spec> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))?;
        let mut spec = Spec::default();
        spec.set_hostname(Some("berth".into()));
        t.f.apply(&mut spec)?;
        Ok(spec)
    }

    fn ann(spec: &Spec) -> HashMap<String, String> {
        spec.annotations().clone().unwrap_or_default()
    }

    fn has_netns(spec: &Spec) -> bool {
        spec.linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network)
    }

    #[test]
    fn no_flags_no_annotations() {
        let s = spec_with(&[]).unwrap();
        assert!(ann(&s).keys().all(|k| !k.starts_with("berth.network.")));
        assert!(has_netns(&s));
        let s = spec_with(&["-h", "web"]).unwrap();
        assert_eq!(s.hostname().as_deref(), Some("web"));
        assert!(ann(&s).is_empty());
    }

    #[test]
    fn flags_become_annotations() {
        let s = spec_with(&[
            "--bridge",
            "br-x",
            "--bip",
            "192.168.7.1/24",
            "--ip",
            "192.168.7.9",
            "-p",
            "127.0.0.1:8080:80",
            "-p",
            "53/udp",
            "-P",
            "--expose",
            "90",
            "--icc=false",
            "--hostname",
            "web",
            "--dns",
            "10.0.0.53",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:2",
            "--link",
            "db1:db",
            "--add-host",
            "m:10.1.2.3",
        ])
        .unwrap();
        let a = ann(&s);
        assert_eq!(a["berth.network.mode"], "bridge");
        assert_eq!(a["berth.network.bridge"], "br-x");
        assert_eq!(a["berth.network.subnet"], "192.168.7.1/24");
        assert_eq!(a["berth.network.icc"], "false");
        assert_eq!(a["berth.network.hostname"], "web");
        assert_eq!(a["berth.network.link"], "db1:db");
        let c = NetworkConfig::from_annotations(&a).unwrap().unwrap();
        assert_eq!(c.publish.len(), 2);
        assert!(c.publish_all);
        assert_eq!(s.hostname().as_deref(), Some("web"));
        assert!(has_netns(&s));
    }

    #[test]
    fn default_hostname_goes_to_hosts() {
        let a = ann(&spec_with(&["--network", "bridge"]).unwrap());
        assert_eq!(a["berth.network.hostname"], "berth");
    }

    #[test]
    fn modes_and_namespaces() {
        let s = spec_with(&["--network", "host"]).unwrap();
        assert!(!has_netns(&s));
        assert_eq!(ann(&s)["berth.network.mode"], "host");
        let s = spec_with(&["--network", "container:abc"]).unwrap();
        assert!(has_netns(&s));
        let s = spec_with(&["--network=none"]).unwrap();
        assert!(has_netns(&s));
        assert_eq!(ann(&s)["berth.network.mode"], "none");
    }

    #[test]
    fn bad_values_are_one_line_and_named() {
        for (args, named) in [
            (&["--network", "bridged"][..], "bridged"),
            (&["--subnet", "10.0.0.1/24"], "10.0.0.1/24"),
            (&["--subnet", "10.0.0.0/33"], "10.0.0.0/33"),
            (&["--bip", "10.0.0.0/24"], "10.0.0.0/24"),
            (&["-p", "70000:80"], "70000:80"),
            (&["-p", "a:b"], "a:b"),
            (&["-p", "8080:80", "-p", "8080:81"], "8080"),
            (&["--bridge", "a-very-long-bridge0"], "a-very-long-bridge0"),
            (&["--ip", "1.2.3"], "1.2.3"),
            (&["--dns", "8.8.8"], "8.8.8"),
            (&["--add-host", "noip"], "noip"),
            (&["--link", "../x:y"], "../x"),
            (&["--network", "host", "-p", "80"], "publish"),
            (&["--dns-option", "a,b"], "a,b"),
            (&["-h", "bad host"], "bad host"),
        ] {
            let e = spec_with(args).unwrap_err().to_string();
            assert!(e.contains(named), "{args:?}: {e}");
            assert!(!e.trim_end().contains('\n'), "{args:?}: {e}");
        }
        assert!(spec_with(&["--icc=maybe"]).is_err());
    }
}
