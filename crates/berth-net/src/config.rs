//! What a container asks of the network, and its `berth.network.*` annotations.
//!
//! Annotation keys (all optional; values are plain strings, lists are
//! comma-separated without escaping, booleans are `true`/`false`):
//!
//! | key | value | default |
//! |---|---|---|
//! | `berth.network.mode` | `bridge`, `none`, `host` or `container:<id>` | `bridge` |
//! | `berth.network.bridge` | bridge interface name (at most 15 bytes) | `berth0` |
//! | `berth.network.subnet` | `A.B.C.D/N` subnet (gateway .1) or `--bip` form `GATEWAY/N` | the bridge's recorded subnet, else 172.30.0.0/16 |
//! | `berth.network.ip` | static IPv4 address inside the subnet | next free address |
//! | `berth.network.publish` | list of docker `-p` specs | none |
//! | `berth.network.publish-all` | `true`/`false` (`-P`) | `false` |
//! | `berth.network.expose` | list of `port[/tcp\|/udp]` | none |
//! | `berth.network.icc` | `true`/`false` | `true` |
//! | `berth.network.mtu` | 68–65535 | kernel default |
//! | `berth.network.hostname` | host name written to `/etc/hosts` | none |
//! | `berth.network.dns` | list of name server addresses | host's non-loopback servers |
//! | `berth.network.dns-search` | list of search domains | host's |
//! | `berth.network.dns-option` | list of resolver options | host's |
//! | `berth.network.link` | list of `ID:ALIAS` (or `ID`, alias = id) | none |
//! | `berth.network.add-host` | list of `NAME:IP` | none |
//!
//! Any other `berth.network.*` key is an error, so typos do not go unnoticed.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::cidr::{parse_cidr, Ipv4Cidr};
use crate::names::{check_bridge_name, check_container_id, check_hostname, check_resolv_word};
use crate::ports::{parse_expose, parse_publish, PortSpec, Proto};
use crate::{Error, Result};

/// Prefix shared by every annotation key this crate reads.
pub const ANNOTATION_PREFIX: &str = "berth.network.";
/// Bridge used when none is named.
pub const DEFAULT_BRIDGE: &str = "berth0";
/// Subnet used for a bridge that has none recorded and none is asked for.
pub const DEFAULT_SUBNET: &str = "172.30.0.0/16";

/// Which network namespace a container gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// A new namespace with a veth on a bridge.
    Bridge,
    /// A new namespace with only `lo`.
    None,
    /// The host's namespace.
    Host,
    /// The namespace of another berth container (by id).
    Container(String),
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Bridge => f.write_str("bridge"),
            Mode::None => f.write_str("none"),
            Mode::Host => f.write_str("host"),
            Mode::Container(id) => write!(f, "container:{id}"),
        }
    }
}

impl Mode {
    /// Parses `bridge`, `none`, `host` or `container:<id>`.
    pub fn parse(s: &str) -> Result<Mode> {
        match s {
            "bridge" => Ok(Mode::Bridge),
            "none" => Ok(Mode::None),
            "host" => Ok(Mode::Host),
            _ => match s.strip_prefix("container:") {
                Some(id) => {
                    check_container_id(id)?;
                    Ok(Mode::Container(id.to_string()))
                }
                None => Err(Error::InvalidConfig {
                    key: format!("{ANNOTATION_PREFIX}mode"),
                    value: s.to_string(),
                    reason: "expected bridge, none, host or container:<id>".into(),
                }),
            },
        }
    }
}

/// A container's network request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NetworkConfig {
    pub mode: Mode,
    pub bridge: String,
    /// Subnet (or `--bip` gateway/prefix) of the bridge.
    pub subnet: Option<Ipv4Cidr>,
    /// Static address to lease.
    pub ip: Option<Ipv4Addr>,
    pub publish: Vec<PortSpec>,
    /// Publish every `expose`d port on a free host port in 49000–49900.
    pub publish_all: bool,
    pub expose: Vec<(u16, Proto)>,
    /// `false` stops this container from reaching, or being reached by, other
    /// containers on its bridge except those it links to.
    pub icc: bool,
    pub mtu: Option<u32>,
    pub hostname: Option<String>,
    pub dns: Vec<IpAddr>,
    pub dns_search: Vec<String>,
    pub dns_options: Vec<String>,
    /// `(container id, alias)`.
    pub links: Vec<(String, String)>,
    /// `(name, address)`.
    pub add_hosts: Vec<(String, IpAddr)>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            mode: Mode::Bridge,
            bridge: DEFAULT_BRIDGE.to_string(),
            subnet: None,
            ip: None,
            publish: Vec::new(),
            publish_all: false,
            expose: Vec::new(),
            icc: true,
            mtu: None,
            hostname: None,
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            links: Vec::new(),
            add_hosts: Vec::new(),
        }
    }
}

fn key(k: &str) -> String {
    format!("{ANNOTATION_PREFIX}{k}")
}

fn list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn bool_value(k: &str, v: &str) -> Result<bool> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::InvalidConfig {
            key: key(k),
            value: v.to_string(),
            reason: "expected true or false".into(),
        }),
    }
}

fn split_pair<'a>(k: &str, item: &'a str, expected: &str) -> Result<(&'a str, &'a str)> {
    item.split_once(':').ok_or_else(|| Error::InvalidConfig {
        key: key(k),
        value: item.to_string(),
        reason: format!("expected {expected}"),
    })
}

impl NetworkConfig {
    /// Reads the `berth.network.*` annotations (keys in the module docs).
    /// `Ok(None)` when no such key is present.
    pub fn from_annotations(a: &HashMap<String, String>) -> Result<Option<NetworkConfig>> {
        let mut cfg = NetworkConfig::default();
        let mut any = false;
        // Sorted so that the first error reported does not depend on hash order.
        let mut keys: Vec<&String> = a
            .keys()
            .filter(|k| k.starts_with(ANNOTATION_PREFIX))
            .collect();
        keys.sort();
        for full in keys {
            any = true;
            let v = a[full].as_str();
            let k = &full[ANNOTATION_PREFIX.len()..];
            let invalid = |reason: String| Error::InvalidConfig {
                key: full.clone(),
                value: v.to_string(),
                reason,
            };
            match k {
                "mode" => cfg.mode = Mode::parse(v)?,
                "bridge" => {
                    check_bridge_name(v)?;
                    cfg.bridge = v.to_string();
                }
                "subnet" => cfg.subnet = Some(parse_cidr(v)?),
                "ip" => {
                    cfg.ip = Some(
                        v.parse()
                            .map_err(|_| invalid("not an IPv4 address".into()))?,
                    )
                }
                "publish" => cfg.publish = list(v).map(parse_publish).collect::<Result<_>>()?,
                "publish-all" => cfg.publish_all = bool_value(k, v)?,
                "expose" => cfg.expose = list(v).map(parse_expose).collect::<Result<_>>()?,
                "icc" => cfg.icc = bool_value(k, v)?,
                "mtu" => cfg.mtu = Some(v.parse().map_err(|_| invalid("not a number".into()))?),
                "hostname" => cfg.hostname = Some(v.to_string()),
                "dns" => {
                    cfg.dns = list(v)
                        .map(|s| {
                            s.parse()
                                .map_err(|_| invalid(format!("{s:?} is not an IP address")))
                        })
                        .collect::<Result<_>>()?
                }
                "dns-search" => cfg.dns_search = list(v).map(str::to_string).collect(),
                "dns-option" => cfg.dns_options = list(v).map(str::to_string).collect(),
                "link" => {
                    cfg.links = list(v)
                        .map(|item| match item.split_once(':') {
                            Some((id, alias)) => (id.to_string(), alias.to_string()),
                            None => (item.to_string(), item.to_string()),
                        })
                        .collect()
                }
                "add-host" => {
                    cfg.add_hosts = list(v)
                        .map(|item| {
                            let (name, ip) = split_pair(k, item, "NAME:IP")?;
                            let ip = ip.parse().map_err(|_| Error::InvalidConfig {
                                key: full.clone(),
                                value: item.to_string(),
                                reason: format!("{ip:?} is not an IP address"),
                            })?;
                            Ok((name.to_string(), ip))
                        })
                        .collect::<Result<_>>()?
                }
                _ => return Err(invalid("unknown berth.network key".into())),
            }
        }
        if !any {
            return Ok(None);
        }
        cfg.validate()?;
        Ok(Some(cfg))
    }

    /// Writes the annotations [`NetworkConfig::from_annotations`] reads back
    /// into an equal config. Keys holding their default are left out, except
    /// `berth.network.mode`, which is always written.
    pub fn to_annotations(&self) -> HashMap<String, String> {
        fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
            items.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
        }
        let mut a = HashMap::new();
        a.insert(key("mode"), self.mode.to_string());
        if self.bridge != DEFAULT_BRIDGE {
            a.insert(key("bridge"), self.bridge.clone());
        }
        if let Some(s) = &self.subnet {
            a.insert(key("subnet"), s.to_string());
        }
        if let Some(ip) = self.ip {
            a.insert(key("ip"), ip.to_string());
        }
        if !self.publish.is_empty() {
            a.insert(key("publish"), join(self.publish.iter()));
        }
        if self.publish_all {
            a.insert(key("publish-all"), "true".into());
        }
        if !self.expose.is_empty() {
            a.insert(
                key("expose"),
                join(self.expose.iter().map(|(p, proto)| format!("{p}/{proto}"))),
            );
        }
        if !self.icc {
            a.insert(key("icc"), "false".into());
        }
        if let Some(m) = self.mtu {
            a.insert(key("mtu"), m.to_string());
        }
        if let Some(h) = &self.hostname {
            a.insert(key("hostname"), h.clone());
        }
        if !self.dns.is_empty() {
            a.insert(key("dns"), join(self.dns.iter()));
        }
        if !self.dns_search.is_empty() {
            a.insert(key("dns-search"), self.dns_search.join(","));
        }
        if !self.dns_options.is_empty() {
            a.insert(key("dns-option"), self.dns_options.join(","));
        }
        if !self.links.is_empty() {
            a.insert(
                key("link"),
                join(self.links.iter().map(|(id, alias)| format!("{id}:{alias}"))),
            );
        }
        if !self.add_hosts.is_empty() {
            a.insert(
                key("add-host"),
                join(self.add_hosts.iter().map(|(n, ip)| format!("{n}:{ip}"))),
            );
        }
        a
    }

    /// Checks every field; [`crate::prepare`] calls this too, so configs
    /// built in code get the same checks as annotations.
    pub fn validate(&self) -> Result<()> {
        let conflict = |k: &str, reason: &str| Error::InvalidConfig {
            key: key(k),
            value: self.mode.to_string(),
            reason: reason.to_string(),
        };
        if let Mode::Container(id) = &self.mode {
            check_container_id(id)?;
        }
        check_bridge_name(&self.bridge)?;
        if let Some(s) = &self.subnet {
            s.check_bridge_subnet()?;
            if let Some(ip) = self.ip {
                if let Some(reason) = s.unleasable_reason(ip) {
                    return Err(Error::AddressUnusable {
                        addr: ip,
                        subnet: s.to_string(),
                        reason,
                    });
                }
            }
        }
        if self.mode != Mode::Bridge {
            if self.ip.is_some() {
                return Err(conflict("ip", "a static address needs bridge mode"));
            }
            if !self.publish.is_empty() || self.publish_all {
                return Err(conflict("publish", "publishing ports needs bridge mode"));
            }
            if !self.links.is_empty() {
                return Err(conflict("link", "links need bridge mode"));
            }
        }
        if let Some(m) = self.mtu {
            if !(68..=65535).contains(&m) {
                return Err(Error::InvalidConfig {
                    key: key("mtu"),
                    value: m.to_string(),
                    reason: "outside 68-65535".into(),
                });
            }
        }
        if let Some(h) = &self.hostname {
            check_hostname("hostname", h)?;
        }
        for d in &self.dns_search {
            check_resolv_word("dns search domain", d)?;
        }
        for o in &self.dns_options {
            check_resolv_word("dns option", o)?;
        }
        let mut aliases = Vec::new();
        for (id, alias) in &self.links {
            check_container_id(id)?;
            check_hostname("link alias", alias)?;
            if aliases.contains(&alias) {
                return Err(Error::InvalidConfig {
                    key: key("link"),
                    value: format!("{id}:{alias}"),
                    reason: "alias used twice".into(),
                });
            }
            aliases.push(alias);
        }
        for (name, _) in &self.add_hosts {
            check_hostname("add-host name", name)?;
        }
        let mut seen = Vec::new();
        for p in &self.publish {
            if let Some(hp) = p.host_port {
                let clash =
                    seen.iter()
                        .any(|(ip, port, proto): &(Option<Ipv4Addr>, u16, Proto)| {
                            *port == hp
                                && *proto == p.proto
                                && (ip.is_none() || p.host_ip.is_none() || *ip == p.host_ip)
                        });
                if clash {
                    return Err(Error::InvalidPortSpec {
                        value: p.to_string(),
                        reason: "host port published twice".into(),
                    });
                }
                seen.push((p.host_ip, hp, p.proto));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_keys_is_none() {
        let a = ann(&[("org.example", "x"), ("berth.networkx", "y")]);
        assert_eq!(NetworkConfig::from_annotations(&a).unwrap(), None);
    }

    #[test]
    fn reads_every_key() {
        let a = ann(&[
            ("berth.network.mode", "bridge"),
            ("berth.network.bridge", "br-test"),
            ("berth.network.subnet", "192.168.0.1/24"),
            ("berth.network.ip", "192.168.0.9"),
            ("berth.network.publish", "127.0.0.1:8080:80, 53/udp"),
            ("berth.network.publish-all", "true"),
            ("berth.network.expose", "80,53/udp"),
            ("berth.network.icc", "false"),
            ("berth.network.mtu", "1400"),
            ("berth.network.hostname", "web"),
            ("berth.network.dns", "10.0.0.53,fd00::53"),
            ("berth.network.dns-search", "example.com,corp"),
            ("berth.network.dns-option", "ndots:2,rotate"),
            ("berth.network.link", "db1:db,cache"),
            ("berth.network.add-host", "mirror:10.1.2.3,v6:fd00::1"),
        ]);
        let c = NetworkConfig::from_annotations(&a).unwrap().unwrap();
        assert_eq!(c.bridge, "br-test");
        assert_eq!(
            c.subnet.unwrap().gateway(),
            "192.168.0.1".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(c.publish.len(), 2);
        assert_eq!(c.publish[1], parse_publish("53/udp").unwrap());
        assert!(c.publish_all && !c.icc);
        assert_eq!(c.expose, vec![(80, Proto::Tcp), (53, Proto::Udp)]);
        assert_eq!(c.mtu, Some(1400));
        assert_eq!(c.dns.len(), 2);
        assert_eq!(c.dns_options, vec!["ndots:2", "rotate"]);
        assert_eq!(
            c.links,
            vec![
                ("db1".into(), "db".into()),
                ("cache".into(), "cache".into())
            ]
        );
        assert_eq!(
            c.add_hosts[1],
            ("v6".to_string(), "fd00::1".parse().unwrap())
        );
        let back = NetworkConfig::from_annotations(&c.to_annotations())
            .unwrap()
            .unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn default_roundtrips_with_mode_only() {
        let c = NetworkConfig::default();
        let a = c.to_annotations();
        assert_eq!(a.len(), 1);
        assert_eq!(NetworkConfig::from_annotations(&a).unwrap().unwrap(), c);
        let c = NetworkConfig {
            mode: Mode::Container("abc".into()),
            ..Default::default()
        };
        assert_eq!(
            NetworkConfig::from_annotations(&c.to_annotations())
                .unwrap()
                .unwrap(),
            c
        );
    }

    #[test]
    fn bad_values_are_named() {
        let cases: &[(&str, &str, &str)] = &[
            ("berth.network.mode", "bridged", "bridged"),
            (
                "berth.network.bridge",
                "a-very-long-bridge0",
                "a-very-long-bridge0",
            ),
            ("berth.network.subnet", "10.0.0.0/33", "10.0.0.0/33"),
            ("berth.network.publish", "70000:80", "70000:80"),
            ("berth.network.publish", "a:b", "a:b"),
            ("berth.network.icc", "no", "no"),
            ("berth.network.mtu", "9", "9"),
            ("berth.network.dns", "8.8.8", "8.8.8"),
            ("berth.network.add-host", "noip", "noip"),
            ("berth.network.link", "../x:y", "../x"),
            ("berth.network.colour", "blue", "berth.network.colour"),
            ("berth.network.publish", "8080:80,8080:81", "8080:81"),
        ];
        for (k, v, named) in cases {
            let e = NetworkConfig::from_annotations(&ann(&[(k, v)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(named), "{k}={v}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn mode_conflicts() {
        let e = NetworkConfig::from_annotations(&ann(&[
            ("berth.network.mode", "host"),
            ("berth.network.publish", "80"),
        ]));
        assert!(e.is_err());
        let e = NetworkConfig::from_annotations(&ann(&[
            ("berth.network.subnet", "10.0.0.0/24"),
            ("berth.network.ip", "10.0.1.2"),
        ]));
        assert!(matches!(e, Err(Error::AddressUnusable { .. })));
        let ok = NetworkConfig::from_annotations(&ann(&[
            ("berth.network.mode", "none"),
            ("berth.network.hostname", "a"),
        ]));
        assert_eq!(ok.unwrap().unwrap().mode, Mode::None);
    }
}
