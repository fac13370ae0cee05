//! Port specs as docker writes them: `-p`/`--publish` and `--expose`.
//!
//! Publish forms, each with an optional `/tcp` or `/udp` suffix (tcp when absent):
//! `ip:hostPort:containerPort`, `ip::containerPort` (any free host port),
//! `hostPort:containerPort`, `containerPort` (any free host port, all host addresses).

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Transport protocol of a published or exposed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// `"tcp"` or `"udp"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `-p` request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortSpec {
    /// Host address to publish on; `None` means every host address (`0.0.0.0`).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port; `None` means any free port from the automatic range.
    pub host_port: Option<u16>,
    /// Port inside the container.
    pub container_port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortSpec {
    /// Writes the spec in a form [`parse_publish`] reads back unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.host_ip, self.host_port) {
            (Some(ip), Some(p)) => write!(f, "{ip}:{p}:")?,
            (Some(ip), None) => write!(f, "{ip}::")?,
            (None, Some(p)) => write!(f, "{p}:")?,
            (None, None) => {}
        }
        write!(f, "{}/{}", self.container_port, self.proto)
    }
}

fn split_proto<'a>(s: &'a str, bad: &dyn Fn(&str) -> Error) -> Result<(&'a str, Proto)> {
    match s.rsplit_once('/') {
        None => Ok((s, Proto::Tcp)),
        Some((rest, "tcp")) => Ok((rest, Proto::Tcp)),
        Some((rest, "udp")) => Ok((rest, Proto::Udp)),
        Some((_, other)) => Err(bad(&format!("protocol {other:?} is not tcp or udp"))),
    }
}

fn port_number(s: &str, what: &str, bad: &dyn Fn(&str) -> Error) -> Result<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(&format!("{what} {s:?} is not a port number")));
    }
    match s.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        _ => Err(bad(&format!("{what} {s} is outside 1-65535"))),
    }
}

/// Parses one `-p` value (see the module docs for the forms).
pub fn parse_publish(s: &str) -> Result<PortSpec> {
    let bad = |reason: &str| Error::InvalidPortSpec {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let (body, proto) = split_proto(s, &bad)?;
    let parts: Vec<&str> = body.split(':').collect();
    let (ip, host, ctr) = match parts.as_slice() {
        [ctr] => (None, None, *ctr),
        [host, ctr] => (None, Some(*host), *ctr),
        [ip, host, ctr] => (Some(*ip), Some(*host), *ctr),
        _ => return Err(bad("expected [ip:][hostPort:]containerPort[/tcp|/udp]")),
    };
    let host_ip = match ip {
        None => None,
        Some(ip) => {
            let addr: Ipv4Addr = ip
                .parse()
                .map_err(|_| bad(&format!("host address {ip:?} is not an IPv4 address")))?;
            (!addr.is_unspecified()).then_some(addr)
        }
    };
    let host_port = match host {
        None | Some("") => None,
        Some(h) => Some(port_number(h, "host port", &bad)?),
    };
    let container_port = port_number(ctr, "container port", &bad)?;
    Ok(PortSpec {
        host_ip,
        host_port,
        container_port,
        proto,
    })
}

/// Parses one `--expose` value: `port[/tcp|/udp]`.
pub fn parse_expose(s: &str) -> Result<(u16, Proto)> {
    let bad = |reason: &str| Error::InvalidPortSpec {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let (body, proto) = split_proto(s, &bad)?;
    Ok((port_number(body, "port", &bad)?, proto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_docker_forms() {
        let p = parse_publish("127.0.0.1:8080:80").unwrap();
        assert_eq!(
            p,
            PortSpec {
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_port: Some(8080),
                container_port: 80,
                proto: Proto::Tcp
            }
        );
        let p = parse_publish("127.0.0.1::53/udp").unwrap();
        assert_eq!(
            p,
            PortSpec {
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_port: None,
                container_port: 53,
                proto: Proto::Udp
            }
        );
        let p = parse_publish("8080:80/tcp").unwrap();
        assert_eq!(
            p,
            PortSpec {
                host_ip: None,
                host_port: Some(8080),
                container_port: 80,
                proto: Proto::Tcp
            }
        );
        let p = parse_publish("80").unwrap();
        assert_eq!(
            p,
            PortSpec {
                host_ip: None,
                host_port: None,
                container_port: 80,
                proto: Proto::Tcp
            }
        );
        let p = parse_publish("0.0.0.0:1:65535/udp").unwrap();
        assert_eq!(
            p,
            PortSpec {
                host_ip: None,
                host_port: Some(1),
                container_port: 65535,
                proto: Proto::Udp
            }
        );
    }

    #[test]
    fn display_roundtrips() {
        for s in [
            "127.0.0.1:8080:80/tcp",
            "10.0.0.1::53/udp",
            "8080:80/tcp",
            "80/udp",
        ] {
            let p = parse_publish(s).unwrap();
            assert_eq!(p.to_string(), s);
            assert_eq!(parse_publish(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "",
            "70000:80",
            "a:b",
            "80:0",
            "0",
            "80/sctp",
            "80/",
            "1:2:3:4",
            "1.2.3:80:80",
            "::1:80:80",
            "+80",
            "080000",
            "80:",
            "8080:80/TCP",
            " 80",
            "1.2.3.4:99999:80",
        ] {
            let e = parse_publish(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidPortSpec { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn expose_forms() {
        assert_eq!(parse_expose("80").unwrap(), (80, Proto::Tcp));
        assert_eq!(parse_expose("53/udp").unwrap(), (53, Proto::Udp));
        assert!(parse_expose("80:80").is_err());
        assert!(parse_expose("0/tcp").is_err());
    }
}
