//! IPv4 CIDR values: `10.0.0.0/24` (a subnet, gateway .1) and docker's `--bip`
//! form `192.168.0.1/24` (the gateway address with the subnet's prefix).

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// An IPv4 address with a prefix length. The address may have host bits set
/// (the `--bip` form); [`Ipv4Cidr::network`] gives the subnet's base.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    addr: Ipv4Addr,
    prefix: u8,
}

/// Parses `A.B.C.D/N` (N in 0..=32). Both the subnet form and the
/// `GATEWAY/PREFIX` form are accepted; see [`Ipv4Cidr::gateway`].
pub fn parse_cidr(s: &str) -> Result<Ipv4Cidr> {
    let bad = |reason: &str| Error::InvalidCidr {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let (addr, prefix) = s
        .split_once('/')
        .ok_or_else(|| bad("expected ADDRESS/PREFIX"))?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
    if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("prefix must be a number from 0 to 32"));
    }
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| bad("prefix must be a number from 0 to 32"))?;
    Ipv4Cidr::new(addr, prefix).map_err(|_| bad("prefix must be a number from 0 to 32"))
}

impl Ipv4Cidr {
    /// Builds a CIDR; the prefix must be at most 32.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::InvalidCidr {
                value: format!("{addr}/{prefix}"),
                reason: "prefix must be a number from 0 to 32".into(),
            });
        }
        Ok(Ipv4Cidr { addr, prefix })
    }

    /// The address as written.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The netmask as a number.
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.prefix))
        }
    }

    /// The subnet's first address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The subnet's last (broadcast) address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The same prefix with the host bits cleared.
    pub fn subnet(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            addr: self.network(),
            prefix: self.prefix,
        }
    }

    /// Whether `ip` lies in this subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether the two subnets share any address.
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        let shorter = if self.prefix <= other.prefix {
            self
        } else {
            other
        };
        let longer = if self.prefix <= other.prefix {
            other
        } else {
            self
        };
        shorter.contains(longer.network())
    }

    /// The gateway: the written address when host bits are set (`--bip`
    /// form), otherwise the subnet's first host address (`.1`).
    pub fn gateway(&self) -> Ipv4Addr {
        if self.addr == self.network() {
            Ipv4Addr::from(u32::from(self.network()).wrapping_add(1))
        } else {
            self.addr
        }
    }

    /// Checks that this CIDR can carry a bridge: at least one host address
    /// besides the gateway, and a gateway that is neither network nor broadcast.
    pub fn check_bridge_subnet(&self) -> Result<()> {
        let bad = |reason: &str| Error::InvalidCidr {
            value: self.to_string(),
            reason: reason.to_string(),
        };
        if self.prefix > 30 {
            return Err(bad("a bridge subnet needs a prefix of 30 or shorter"));
        }
        if self.prefix == 0 {
            return Err(bad("a bridge subnet cannot be the whole address space"));
        }
        if self.addr == self.broadcast() {
            return Err(bad("the gateway cannot be the broadcast address"));
        }
        Ok(())
    }

    /// Host addresses a container may lease, lowest first: every address but
    /// the network, gateway and broadcast addresses.
    pub fn leasable(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.network()).saturating_add(1);
        let last = u32::from(self.broadcast()).saturating_sub(1);
        let gateway = self.gateway();
        (first..=last)
            .map(Ipv4Addr::from)
            .filter(move |ip| *ip != gateway)
    }

    /// Why `ip` cannot be leased from this subnet, if it cannot.
    pub fn unleasable_reason(&self, ip: Ipv4Addr) -> Option<&'static str> {
        if !self.contains(ip) {
            Some("outside the subnet")
        } else if ip == self.network() {
            Some("it is the network address")
        } else if ip == self.broadcast() {
            Some("it is the broadcast address")
        } else if ip == self.gateway() {
            Some("it is the gateway address")
        } else {
            None
        }
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        parse_cidr(s)
    }
}

impl Serialize for Ipv4Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_cidr(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn subnet_form_has_gateway_one() {
        let c = parse_cidr("192.168.0.0/24").unwrap();
        assert_eq!(c.network(), ip("192.168.0.0"));
        assert_eq!(c.broadcast(), ip("192.168.0.255"));
        assert_eq!(c.gateway(), ip("192.168.0.1"));
        assert_eq!(c.to_string(), "192.168.0.0/24");
    }

    #[test]
    fn bip_form_keeps_gateway() {
        let c = parse_cidr("192.168.0.5/24").unwrap();
        assert_eq!(c.gateway(), ip("192.168.0.5"));
        assert_eq!(c.subnet().to_string(), "192.168.0.0/24");
        let leases: Vec<_> = c.leasable().take(5).collect();
        assert_eq!(
            leases,
            vec![
                ip("192.168.0.1"),
                ip("192.168.0.2"),
                ip("192.168.0.3"),
                ip("192.168.0.4"),
                ip("192.168.0.6")
            ]
        );
    }

    #[test]
    fn leasable_skips_network_gateway_broadcast() {
        let c = parse_cidr("10.0.0.0/24").unwrap();
        let all: Vec<_> = c.leasable().collect();
        assert_eq!(all.len(), 253);
        assert_eq!(all[0], ip("10.0.0.2"));
        assert_eq!(*all.last().unwrap(), ip("10.0.0.254"));
        let c = parse_cidr("10.0.0.0/30").unwrap();
        assert_eq!(c.leasable().collect::<Vec<_>>(), vec![ip("10.0.0.2")]);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0/24",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/024",
            "a.b.c.d/8",
            "10.0.0.0/24/1",
            "300.0.0.0/8",
            " 10.0.0.0/8",
            "::1/128",
        ] {
            let e = parse_cidr(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidCidr { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn bridge_subnet_checks() {
        assert!(parse_cidr("10.0.0.0/31")
            .unwrap()
            .check_bridge_subnet()
            .is_err());
        assert!(parse_cidr("10.0.0.0/0")
            .unwrap()
            .check_bridge_subnet()
            .is_err());
        assert!(parse_cidr("10.0.0.255/24")
            .unwrap()
            .check_bridge_subnet()
            .is_err());
        assert!(parse_cidr("10.0.0.0/30")
            .unwrap()
            .check_bridge_subnet()
            .is_ok());
    }

    #[test]
    fn overlap_and_contains() {
        let a = parse_cidr("10.0.0.0/16").unwrap();
        let b = parse_cidr("10.0.5.0/24").unwrap();
        let c = parse_cidr("10.1.0.0/24").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!(a.contains(ip("10.0.255.255")) && !a.contains(ip("10.1.0.0")));
        assert_eq!(
            a.unleasable_reason(ip("10.0.0.1")),
            Some("it is the gateway address")
        );
        assert_eq!(a.unleasable_reason(ip("10.0.0.2")), None);
    }

    #[test]
    fn serde_roundtrip() {
        let c = parse_cidr("172.30.0.1/16").unwrap();
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, "\"172.30.0.1/16\"");
        assert_eq!(serde_json::from_str::<Ipv4Cidr>(&j).unwrap(), c);
        assert!(serde_json::from_str::<Ipv4Cidr>("\"1.2.3.4/40\"").is_err());
    }
}
