//! The CNI plugin protocol (spec 1.0.0, also answering 0.3.0, 0.3.1 and
//! 0.4.0): `ADD`, `DEL`, `CHECK` and `VERSION` on top of the same
//! [`prepare`](crate::prepare), [`attach_netns`](crate::attach_netns) and
//! [`teardown`](crate::teardown) berth's own containers use. The `berth-cni`
//! binary only hands [`run`] its environment and stdin and prints what
//! comes back. Configuration keys are documented in `docs/cni.md`.
//!
//! A CNI attachment is identified by network name, `CNI_CONTAINERID` and
//! `CNI_IFNAME`. berth ids allow fewer characters than CNI container ids, so
//! the attachment is recorded under [`berth_id`]: `cni-` and a 128-bit FNV-1a
//! hash of the three, in hex. The original identity is kept in
//! `<stateRoot>/cni/<berth id>/cni.json` next to the generated hosts and
//! resolv.conf files.
//!
//! berth-net names the container's interface `eth0`. Any other `CNI_IFNAME`
//! is given by renaming `eth0` once attached (down, rename, up, default route
//! again); a namespace that already has an `eth0` can therefore only be
//! attached as `eth0` (error code 2 otherwise).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute};
use rtnetlink::{LinkUnspec, RouteMessageBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::cidr::{parse_cidr, Ipv4Cidr};
use crate::config::{Mode, NetworkConfig, DEFAULT_BRIDGE};
use crate::netlink::{block_on, connect, connect_in, err, ipv4_addresses, link_by_name};
use crate::ports::{PortSpec, Proto};
use crate::store::{self, Record};
use crate::{attach_netns, prepare, teardown, Error};

/// Versions this plugin speaks, oldest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["0.3.0", "0.3.1", "0.4.0", "1.0.0"];
/// The version of results when the caller named none (VERSION without stdin).
pub const CURRENT_VERSION: &str = "1.0.0";
/// Default state root, shared with the `berth` binary.
pub const DEFAULT_STATE_ROOT: &str = "/run/berth";
/// The interface name berth-net gives the container end.
const BERTH_IFNAME: &str = "eth0";

/// CNI's well-known error codes, plus berth's own from 100 on.
pub mod code {
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    pub const UNSUPPORTED_FIELD: u32 = 2;
    pub const UNKNOWN_CONTAINER: u32 = 3;
    pub const INVALID_ENV: u32 = 4;
    pub const IO_FAILURE: u32 = 5;
    pub const DECODE: u32 = 6;
    pub const INVALID_CONFIG: u32 = 7;
    /// Netlink, nftables or namespace failure.
    pub const SETUP_FAILED: u32 = 100;
    /// No free address or host port, or a requested one is taken.
    pub const EXHAUSTED: u32 = 101;
    /// CHECK found the attachment differs from what ADD made.
    pub const CHECK_FAILED: u32 = 102;
}

/// A CNI error result (`{"cniVersion","code","msg","details"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CniError {
    pub code: u32,
    pub msg: String,
    pub details: String,
}

impl CniError {
    pub fn new(code: u32, msg: impl Into<String>, details: impl Into<String>) -> CniError {
        CniError {
            code,
            msg: msg.into(),
            details: details.into(),
        }
    }

    /// The error JSON a runtime reads from stdout.
    pub fn to_json(&self, version: &str) -> Value {
        json!({
            "cniVersion": version,
            "code": self.code,
            "msg": self.msg,
            "details": self.details,
        })
    }
}

impl std::fmt::Display for CniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {}): {}", self.msg, self.code, self.details)
    }
}

impl From<Error> for CniError {
    fn from(e: Error) -> CniError {
        let code = match &e {
            Error::InvalidCidr { .. }
            | Error::InvalidPortSpec { .. }
            | Error::InvalidConfig { .. }
            | Error::InvalidName { .. }
            | Error::AddressUnusable { .. }
            | Error::SubnetConflict { .. }
            | Error::LinkTarget { .. } => code::INVALID_CONFIG,
            Error::SubnetFull { .. }
            | Error::AddressTaken { .. }
            | Error::PortInUse { .. }
            | Error::NoFreePort { .. } => code::EXHAUSTED,
            Error::Io { .. } | Error::State { .. } => code::IO_FAILURE,
            _ => code::SETUP_FAILED,
        };
        let msg = match code {
            code::INVALID_CONFIG => "invalid network configuration",
            code::EXHAUSTED => "address or port not available",
            code::IO_FAILURE => "I/O failure",
            _ => "network setup failed",
        };
        CniError::new(code, msg, e.to_string())
    }
}

type CniResult<T> = std::result::Result<T, CniError>;

/// The CNI `dns` object, passed through to the result and used for the
/// generated resolv.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Dns {
    fn is_empty(&self) -> bool {
        self == &Dns::default()
    }
}

/// One entry of `runtimeConfig.portMappings` (the `portMappings` capability).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PortMapping {
    host_port: u32,
    container_port: u32,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default, rename = "hostIP")]
    host_ip: Option<String>,
}

/// `runtimeConfig` keys berth honours; others are ignored, as the spec asks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeConfig {
    #[serde(default)]
    port_mappings: Vec<PortMapping>,
    #[serde(default)]
    ips: Vec<String>,
}

/// The network configuration as it arrives on stdin.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    cni_version: String,
    name: String,
    #[serde(rename = "type")]
    plugin_type: String,
    #[serde(default)]
    bridge: Option<String>,
    #[serde(default)]
    subnet: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    mtu: Option<u32>,
    #[serde(default)]
    is_gateway: Option<bool>,
    #[serde(default)]
    ip_masq: Option<bool>,
    #[serde(default)]
    icc: Option<bool>,
    #[serde(default)]
    state_root: Option<String>,
    #[serde(default)]
    dns: Option<Dns>,
    #[serde(default)]
    ipam: Option<Value>,
    #[serde(default)]
    runtime_config: Option<RuntimeConfig>,
    #[serde(default)]
    prev_result: Option<Value>,
}

/// A checked network configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct CniConfig {
    pub cni_version: String,
    /// The network's name (`name`).
    pub name: String,
    /// berth's state root (`stateRoot`, default `/run/berth`).
    pub state_root: PathBuf,
    /// What [`crate::prepare`] is asked for: bridge mode, validated.
    pub network: NetworkConfig,
    pub dns: Dns,
    /// `prevResult`, for CHECK.
    pub prev_result: Option<Value>,
}

/// The versions a config may name: the supported ones.
fn check_version(v: &str) -> CniResult<()> {
    if SUPPORTED_VERSIONS.contains(&v) {
        Ok(())
    } else {
        Err(CniError::new(
            code::INCOMPATIBLE_VERSION,
            "incompatible CNI version",
            format!(
                "cniVersion {v:?} is not one of {}",
                SUPPORTED_VERSIONS.join(", ")
            ),
        ))
    }
}

fn invalid(key: &str, value: impl std::fmt::Display, why: impl std::fmt::Display) -> CniError {
    CniError::new(
        code::INVALID_CONFIG,
        "invalid network configuration",
        format!("{key} {value}: {why}"),
    )
}

fn unsupported(key: &str, why: &str) -> CniError {
    CniError::new(
        code::UNSUPPORTED_FIELD,
        "unsupported field in network configuration",
        format!("{key}: {why}"),
    )
}

/// Parses an address with an optional `/prefix` (runtimeConfig `ips` form).
fn bare_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.split_once('/').map_or(s, |(a, _)| a).parse().ok()
}

/// Parses and checks the network configuration from stdin. `static_ip` is
/// `IP=` from `CNI_ARGS`, if given. Pure: no file, no netlink.
pub fn parse_config(bytes: &[u8], static_ip: Option<&str>) -> CniResult<CniConfig> {
    let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| {
        CniError::new(
            code::DECODE,
            "failed to decode network configuration",
            e.to_string(),
        )
    })?;
    check_version(&raw.cni_version)?;
    if raw.name.is_empty() {
        return Err(invalid("name", "\"\"", "must not be empty"));
    }
    if raw.plugin_type.is_empty() {
        return Err(invalid("type", "\"\"", "must not be empty"));
    }
    if raw.is_gateway == Some(false) {
        return Err(unsupported(
            "isGateway",
            "berth always gives the bridge the gateway address",
        ));
    }
    if raw.ip_masq == Some(false) {
        return Err(unsupported(
            "ipMasq",
            "berth always masquerades traffic leaving the subnet",
        ));
    }
    if let Some(ipam) = &raw.ipam {
        let empty = ipam.as_object().is_some_and(Map::is_empty);
        let berth = ipam.get("type").and_then(Value::as_str) == Some("berth");
        if !(empty || berth) {
            return Err(unsupported(
                "ipam",
                "berth-cni does its own address management; leave ipam out or set {\"type\":\"berth\"}",
            ));
        }
    }
    let mut net = NetworkConfig {
        mode: Mode::Bridge,
        bridge: raw
            .bridge
            .clone()
            .unwrap_or_else(|| DEFAULT_BRIDGE.to_string()),
        mtu: raw.mtu,
        icc: raw.icc.unwrap_or(true),
        ..NetworkConfig::default()
    };
    let subnet = match &raw.subnet {
        Some(s) => Some(parse_cidr(s).map_err(CniError::from)?),
        None => None,
    };
    net.subnet = match (subnet, &raw.gateway) {
        (s, None) => s,
        (None, Some(_)) => return Err(invalid("gateway", "", "needs subnet")),
        (Some(s), Some(g)) => {
            let gw: Ipv4Addr = g
                .parse()
                .map_err(|_| invalid("gateway", format!("{g:?}"), "not an IPv4 address"))?;
            let s = s.subnet();
            if !s.contains(gw) || gw == s.network() || gw == s.broadcast() {
                return Err(invalid(
                    "gateway",
                    gw,
                    format!("not a host address of subnet {s}"),
                ));
            }
            // berth's --bip form: the gateway with the subnet's prefix.
            Some(Ipv4Cidr::new(gw, s.prefix()).map_err(CniError::from)?)
        }
    };
    let rc = raw.runtime_config.clone().unwrap_or_default();
    let ip_str = static_ip
        .map(str::to_string)
        .or_else(|| rc.ips.first().cloned());
    if rc.ips.len() > 1 {
        return Err(unsupported(
            "runtimeConfig.ips",
            "berth leases one address per attachment",
        ));
    }
    if let Some(s) = ip_str {
        net.ip = Some(
            bare_ipv4(&s).ok_or_else(|| invalid("IP", format!("{s:?}"), "not an IPv4 address"))?,
        );
    }
    for m in &rc.port_mappings {
        let bad = |why: &str| {
            invalid(
                "runtimeConfig.portMappings",
                format!("{}:{}", m.host_port, m.container_port),
                why,
            )
        };
        let container_port = u16::try_from(m.container_port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("containerPort must be 1-65535"))?;
        let host_port = u16::try_from(m.host_port).map_err(|_| bad("hostPort must be 0-65535"))?;
        let proto = match m
            .protocol
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") | Some("tcp") => Proto::Tcp,
            Some("udp") => Proto::Udp,
            Some(p) => return Err(bad(&format!("protocol {p:?} is not tcp or udp"))),
        };
        let host_ip = match m.host_ip.as_deref() {
            None | Some("") | Some("0.0.0.0") => None,
            Some(s) => match s.parse::<IpAddr>() {
                Ok(IpAddr::V4(ip)) => Some(ip),
                Ok(IpAddr::V6(_)) => {
                    return Err(unsupported(
                        "runtimeConfig.portMappings.hostIP",
                        "berth publishes IPv4 only",
                    ))
                }
                Err(_) => return Err(bad(&format!("hostIP {s:?} is not an address"))),
            },
        };
        net.publish.push(PortSpec {
            host_ip,
            host_port: (host_port != 0).then_some(host_port),
            container_port,
            proto,
        });
    }
    let dns = raw.dns.clone().unwrap_or_default();
    for ns in &dns.nameservers {
        net.dns.push(
            ns.parse()
                .map_err(|_| invalid("dns.nameservers", format!("{ns:?}"), "not an IP address"))?,
        );
    }
    net.dns_search = dns.search.clone();
    if let Some(d) = &dns.domain {
        if !net.dns_search.contains(d) {
            net.dns_search.insert(0, d.clone());
        }
    }
    net.dns_options = dns.options.clone();
    net.validate().map_err(CniError::from)?;
    let state_root = PathBuf::from(raw.state_root.as_deref().unwrap_or(DEFAULT_STATE_ROOT));
    if !state_root.is_absolute() {
        return Err(invalid(
            "stateRoot",
            state_root.display(),
            "must be an absolute path",
        ));
    }
    Ok(CniConfig {
        cni_version: raw.cni_version,
        name: raw.name,
        state_root,
        network: net,
        dns,
        prev_result: raw.prev_result,
    })
}

/// The four CNI operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Version,
}

/// The environment of one invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    pub container_id: String,
    /// Empty on DEL when the namespace is already gone.
    pub netns: String,
    pub ifname: String,
    /// `IP=` from `CNI_ARGS`.
    pub static_ip: Option<String>,
}

/// Reads `CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME` and
/// `CNI_ARGS` through `get`.
pub fn parse_env(get: impl Fn(&str) -> Option<String>) -> CniResult<Invocation> {
    let missing = |var: &str| {
        CniError::new(
            code::INVALID_ENV,
            "invalid necessary environment variables",
            format!("{var} is not set"),
        )
    };
    let command = match get("CNI_COMMAND").as_deref() {
        Some("ADD") => Command::Add,
        Some("DEL") => Command::Del,
        Some("CHECK") => Command::Check,
        Some("VERSION") => Command::Version,
        Some(other) => {
            return Err(CniError::new(
                code::INVALID_ENV,
                "invalid necessary environment variables",
                format!("CNI_COMMAND {other:?} is not ADD, DEL, CHECK or VERSION"),
            ))
        }
        None => return Err(missing("CNI_COMMAND")),
    };
    let nonempty = |var: &str| get(var).filter(|v| !v.is_empty());
    let (container_id, netns, ifname) = if command == Command::Version {
        Default::default()
    } else {
        let id = nonempty("CNI_CONTAINERID").ok_or_else(|| missing("CNI_CONTAINERID"))?;
        let ifname = nonempty("CNI_IFNAME").ok_or_else(|| missing("CNI_IFNAME"))?;
        let netns = match command {
            Command::Del => get("CNI_NETNS").unwrap_or_default(),
            _ => nonempty("CNI_NETNS").ok_or_else(|| missing("CNI_NETNS"))?,
        };
        (id, netns, ifname)
    };
    if command != Command::Version {
        crate::names::check_bridge_name(&ifname).map_err(|e| {
            CniError::new(
                code::INVALID_ENV,
                "invalid necessary environment variables",
                format!("CNI_IFNAME: {e}"),
            )
        })?;
    }
    let static_ip = get("CNI_ARGS").and_then(|args| {
        args.split(';')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "IP")
            .map(|(_, v)| v.to_string())
    });
    Ok(Invocation {
        command,
        container_id,
        netns,
        ifname,
        static_ip,
    })
}

fn fnv128(parts: &[&str]) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            // 0xff never occurs in UTF-8, so ("ab","c") and ("a","bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
        for b in p.bytes() {
            h ^= u128::from(b);
            h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }
    h
}

/// The berth container id an attachment is recorded under:
/// `cni-<32 hex digits>` from network name, container id and interface name.
pub fn berth_id(network: &str, container_id: &str, ifname: &str) -> String {
    format!("cni-{:032x}", fnv128(&[network, container_id, ifname]))
}

/// `<stateRoot>/cni/<berth id>`: hosts, resolv.conf and `cni.json`.
pub fn attachment_dir(state_root: &Path, id: &str) -> PathBuf {
    state_root.join("cni").join(id)
}

/// What a successful invocation printed and how it exits.
pub struct Outcome {
    pub stdout: String,
    pub exit_code: i32,
}

/// Runs one invocation: `get` reads the environment, `stdin` is the config.
/// Never panics on bad input; errors come back as CNI error JSON, exit 1.
pub fn run(get: impl Fn(&str) -> Option<String>, stdin: &[u8]) -> Outcome {
    // The version for error results: the config's when it can be read.
    let version = serde_json::from_slice::<Value>(stdin)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(str::to_string))
        .filter(|v| SUPPORTED_VERSIONS.contains(&v.as_str()))
        .unwrap_or_else(|| CURRENT_VERSION.to_string());
    match dispatch(get, stdin, &version) {
        Ok(v) => Outcome {
            stdout: v.map(|v| v.to_string()).unwrap_or_default(),
            exit_code: 0,
        },
        Err(e) => Outcome {
            stdout: e.to_json(&version).to_string(),
            exit_code: 1,
        },
    }
}

fn dispatch(
    get: impl Fn(&str) -> Option<String>,
    stdin: &[u8],
    version: &str,
) -> CniResult<Option<Value>> {
    let inv = parse_env(get)?;
    // VERSION needs no config; every other command reads it and keys on berth's id.
    let config = || -> CniResult<_> {
        let cfg = parse_config(stdin, inv.static_ip.as_deref())?;
        let id = berth_id(&cfg.name, &inv.container_id, &inv.ifname);
        Ok((cfg, id))
    };
    match inv.command {
        Command::Version => Ok(Some(json!({
            "cniVersion": version,
            "supportedVersions": SUPPORTED_VERSIONS,
        }))),
        Command::Add => config().and_then(|(cfg, id)| add(&cfg, &inv, &id).map(Some)),
        Command::Del => config().and_then(|(cfg, id)| del(&cfg, &id).map(|_| None)),
        Command::Check => config().and_then(|(cfg, id)| check(&cfg, &inv, &id).map(|_| None)),
    }
}

fn mac_of(m: &LinkMessage) -> Option<String> {
    m.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(b) => Some(
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => None,
    })
}

fn setup_err(op: &str, e: impl std::fmt::Display) -> CniError {
    CniError::new(
        code::SETUP_FAILED,
        "network setup failed",
        format!("{op}: {e}"),
    )
}

/// Renames the attached `eth0` to `ifname` inside the namespace: the link goes
/// down for the rename, which drops the default route, so it is added back.
fn rename_inside(netns: &Path, ifname: &str, gateway: Ipv4Addr) -> crate::Result<()> {
    block_on(async {
        let h = connect_in(netns)?;
        let link = link_by_name(&h, BERTH_IFNAME)
            .await?
            .ok_or_else(|| Error::Netlink {
                op: "find link",
                target: BERTH_IFNAME.into(),
                reason: "no such interface".into(),
            })?;
        let index = link.header.index;
        h.link()
            .set(LinkUnspec::new_with_index(index).down().build())
            .execute()
            .await
            .map_err(|e| err("bring down", BERTH_IFNAME, e))?;
        h.link()
            .set(LinkUnspec::new_with_index(index).name(ifname).up().build())
            .execute()
            .await
            .map_err(|e| err("rename and bring up", ifname, e))?;
        let route = RouteMessageBuilder::<Ipv4Addr>::new()
            .gateway(gateway)
            .output_interface(index)
            .build();
        h.route()
            .add(route)
            .execute()
            .await
            .map_err(|e| err("add default route via", gateway.to_string(), e))
    })?
}

/// Whether an interface `name` exists in the namespace.
fn exists_inside(netns: &Path, name: &str) -> crate::Result<bool> {
    block_on(async {
        let h = connect_in(netns)?;
        Ok(link_by_name(&h, name).await?.is_some())
    })?
}

fn add(cfg: &CniConfig, inv: &Invocation, id: &str) -> CniResult<Value> {
    let netns = Path::new(&inv.netns);
    if !netns.exists() {
        return Err(CniError::new(
            code::UNKNOWN_CONTAINER,
            "container unknown or does not exist",
            format!("CNI_NETNS {} does not exist", inv.netns),
        ));
    }
    if inv.ifname != BERTH_IFNAME && exists_inside(netns, BERTH_IFNAME)? {
        return Err(unsupported(
            "CNI_IFNAME",
            "the namespace already has an eth0; berth attaches through eth0 and renames it, so a second berth interface cannot be added",
        ));
    }
    if exists_inside(netns, &inv.ifname)? {
        return Err(CniError::new(
            code::INVALID_CONFIG,
            "interface exists",
            format!("{} already exists in {}", inv.ifname, inv.netns),
        ));
    }
    let dir = attachment_dir(&cfg.state_root, id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
    let meta = json!({
        "network": cfg.name,
        "containerId": inv.container_id,
        "ifname": inv.ifname,
        "netns": inv.netns,
    });
    let meta_path = dir.join("cni.json");
    let undo_dir = || {
        let _ = std::fs::remove_dir_all(&dir);
    };
    if let Err(e) = store::write_json(&meta_path, &meta) {
        undo_dir();
        return Err(e.into());
    }
    let prepared = match prepare(&cfg.state_root, id, &cfg.network, &dir) {
        Ok(p) => p,
        Err(e) => {
            undo_dir();
            return Err(e.into());
        }
    };
    let undo = |e: CniError| {
        let _ = teardown(&cfg.state_root, id);
        undo_dir();
        e
    };
    let att = attach_netns(&cfg.state_root, id, &prepared, netns).map_err(|e| undo(e.into()))?;
    let iface = att
        .interface
        .clone()
        .ok_or_else(|| undo(setup_err("attach", "bridge attach returned no interface")))?;
    if inv.ifname != BERTH_IFNAME {
        rename_inside(netns, &inv.ifname, iface.gateway).map_err(|e| undo(e.into()))?;
    }
    let macs = block_on(async {
        let h = connect()?;
        let br = link_by_name(&h, &iface.bridge)
            .await?
            .and_then(|l| mac_of(&l));
        let host = link_by_name(&h, &iface.host_veth)
            .await?
            .and_then(|l| mac_of(&l));
        Ok::<_, Error>((br, host))
    })
    .and_then(|r| r)
    .map_err(|e| undo(e.into()))?;
    Ok(result_json(cfg, inv, &iface, macs))
}

fn result_json(
    cfg: &CniConfig,
    inv: &Invocation,
    iface: &crate::Interface,
    (bridge_mac, host_mac): (Option<String>, Option<String>),
) -> Value {
    let old = cfg.cni_version.starts_with("0.");
    let with_mac = |mut v: Value, mac: Option<String>| {
        if let Some(m) = mac {
            v["mac"] = json!(m);
        }
        v
    };
    let mut ip = json!({
        "address": format!("{}/{}", iface.ip, iface.prefix),
        "gateway": iface.gateway.to_string(),
        "interface": 2,
    });
    if old {
        ip["version"] = json!("4");
    }
    let mut out = json!({
        "cniVersion": cfg.cni_version,
        "interfaces": [
            with_mac(json!({"name": iface.bridge}), bridge_mac),
            with_mac(json!({"name": iface.host_veth}), host_mac),
            json!({"name": inv.ifname, "mac": iface.mac, "sandbox": inv.netns}),
        ],
        "ips": [ip],
        "routes": [{"dst": "0.0.0.0/0", "gw": iface.gateway.to_string()}],
    });
    if !cfg.dns.is_empty() {
        out["dns"] = serde_json::to_value(&cfg.dns).unwrap_or(Value::Null);
    }
    out
}

fn del(cfg: &CniConfig, id: &str) -> CniResult<()> {
    teardown(&cfg.state_root, id)?;
    let dir = attachment_dir(&cfg.state_root, id);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", &dir, e).into()),
    }
}

fn check_failed(what: String) -> CniError {
    CniError::new(code::CHECK_FAILED, "attachment check failed", what)
}

fn check(cfg: &CniConfig, inv: &Invocation, id: &str) -> CniResult<()> {
    if cfg.cni_version.starts_with("0.3.") {
        return Err(CniError::new(
            code::INCOMPATIBLE_VERSION,
            "incompatible CNI version",
            "CHECK needs cniVersion 0.4.0 or later",
        ));
    }
    let record: Record = store::read_record(&cfg.state_root, id)?.ok_or_else(|| {
        CniError::new(
            code::UNKNOWN_CONTAINER,
            "container unknown or does not exist",
            format!(
                "no berth attachment of container {} as {} on network {}",
                inv.container_id, inv.ifname, cfg.name
            ),
        )
    })?;
    let iface = record
        .attachment
        .and_then(|a| a.interface)
        .ok_or_else(|| check_failed("the attachment was prepared but never attached".into()))?;
    if let Some(prev) = &cfg.prev_result {
        let want = format!("{}/{}", iface.ip, iface.prefix);
        let listed = prev
            .get("ips")
            .and_then(Value::as_array)
            .is_some_and(|ips| ips.iter().any(|i| i.get("address") == Some(&json!(want))));
        if !listed {
            return Err(check_failed(format!("prevResult does not list {want}")));
        }
    }
    let netns = PathBuf::from(&inv.netns);
    let found = block_on(async {
        let h = connect()?;
        let host = link_by_name(&h, &iface.host_veth).await?;
        let bridge = link_by_name(&h, &iface.bridge).await?;
        let hc = connect_in(&netns)?;
        let inside = link_by_name(&hc, &inv.ifname).await?;
        let mut addrs = Vec::new();
        let mut default_via = Vec::new();
        if let Some(l) = &inside {
            addrs = ipv4_addresses(&hc, l.header.index, &inv.ifname).await?;
            let routes: Vec<_> = hc
                .route()
                .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
                .execute()
                .try_collect()
                .await
                .map_err(|e| err("list routes in", inv.netns.clone(), e))?;
            for r in routes {
                if r.header.destination_prefix_length != 0 {
                    continue;
                }
                let oif = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Oif(i) => Some(*i),
                    _ => None,
                });
                let gw = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(g)) => Some(*g),
                    _ => None,
                });
                if oif == Some(l.header.index) {
                    default_via.extend(gw);
                }
            }
        }
        Ok::<_, Error>((host, bridge, inside, addrs, default_via))
    })
    .and_then(|r| r)?;
    let (host, bridge, inside, addrs, default_via) = found;
    let host =
        host.ok_or_else(|| check_failed(format!("host veth {} is gone", iface.host_veth)))?;
    let bridge = bridge.ok_or_else(|| check_failed(format!("bridge {} is gone", iface.bridge)))?;
    let controller = host.attributes.iter().find_map(|a| match a {
        LinkAttribute::Controller(i) => Some(*i),
        _ => None,
    });
    if controller != Some(bridge.header.index) {
        return Err(check_failed(format!(
            "host veth {} is not attached to bridge {}",
            iface.host_veth, iface.bridge
        )));
    }
    let inside = inside
        .ok_or_else(|| check_failed(format!("{} is missing in {}", inv.ifname, inv.netns)))?;
    if mac_of(&inside).as_deref() != Some(iface.mac.as_str()) {
        return Err(check_failed(format!(
            "{} has a different MAC address than ADD gave it",
            inv.ifname
        )));
    }
    if !addrs.contains(&(iface.ip, iface.prefix)) {
        return Err(check_failed(format!(
            "{} lacks {}/{}",
            inv.ifname, iface.ip, iface.prefix
        )));
    }
    if !default_via.contains(&iface.gateway) {
        return Err(check_failed(format!(
            "no default route via {} on {}",
            iface.gateway, inv.ifname
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn minimal_config() {
        let c = parse_config(
            br#"{"cniVersion":"1.0.0","name":"n","type":"berth-cni"}"#,
            None,
        )
        .unwrap();
        assert_eq!(c.network.mode, Mode::Bridge);
        assert_eq!(c.network.bridge, DEFAULT_BRIDGE);
        assert_eq!(c.state_root, PathBuf::from(DEFAULT_STATE_ROOT));
        assert!(c.network.icc);
    }

    #[test]
    fn full_config() {
        let c = parse_config(
            br#"{"cniVersion":"0.4.0","name":"n","type":"berth-cni","bridge":"br9",
                "subnet":"10.9.0.0/24","gateway":"10.9.0.254","mtu":1400,"icc":false,
                "stateRoot":"/tmp/x","dns":{"nameservers":["10.9.0.254"],"search":["a.b"]},
                "ipam":{"type":"berth"},
                "runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},
                    {"hostPort":0,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}]},
                "somethingElse":1}"#,
            Some("10.9.0.7"),
        )
        .unwrap();
        let n = &c.network;
        assert_eq!(n.bridge, "br9");
        assert_eq!(
            n.subnet.unwrap().gateway(),
            "10.9.0.254".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(n.ip, Some("10.9.0.7".parse().unwrap()));
        assert_eq!(n.mtu, Some(1400));
        assert!(!n.icc);
        assert_eq!(n.publish.len(), 2);
        assert_eq!(n.publish[0].to_string(), "8080:80/tcp");
        assert_eq!(n.publish[1].to_string(), "127.0.0.1::53/udp");
        assert_eq!(n.dns_search, vec!["a.b".to_string()]);
    }

    #[test]
    fn bad_configs_have_codes() {
        let cases: &[(&str, u32)] = &[
            ("not json", code::DECODE),
            (r#"{"name":"n","type":"t"}"#, code::DECODE),
            (
                r#"{"cniVersion":"9.9.9","name":"n","type":"t"}"#,
                code::INCOMPATIBLE_VERSION,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"","type":"t"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","subnet":"10.0.0.0/33"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","bridge":"sixteen-chars-xx"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","subnet":"10.0.0.0/24","gateway":"10.0.1.1"}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","isGateway":false}"#,
                code::UNSUPPORTED_FIELD,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","ipam":{"type":"host-local"}}"#,
                code::UNSUPPORTED_FIELD,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","runtimeConfig":{"portMappings":[{"hostPort":70000,"containerPort":80}]}}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","mtu":10}"#,
                code::INVALID_CONFIG,
            ),
            (
                r#"{"cniVersion":"1.0.0","name":"n","type":"t","stateRoot":"rel"}"#,
                code::INVALID_CONFIG,
            ),
        ];
        for (text, want) in cases {
            let e = parse_config(text.as_bytes(), None).unwrap_err();
            assert_eq!(e.code, *want, "{text}: {e}");
        }
    }

    #[test]
    fn env_parsing() {
        let inv = parse_env(env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "abc/def:1"),
            ("CNI_NETNS", "/run/netns/x"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_ARGS", "IgnoreUnknown=1;IP=10.0.0.5;K8S_POD_NAME=p"),
        ]))
        .unwrap();
        assert_eq!(inv.command, Command::Add);
        assert_eq!(inv.static_ip.as_deref(), Some("10.0.0.5"));
        let e = parse_env(env(&[("CNI_COMMAND", "ADD"), ("CNI_IFNAME", "eth0")])).unwrap_err();
        assert_eq!(e.code, code::INVALID_ENV);
        assert!(e.details.contains("CNI_CONTAINERID"));
        let del = parse_env(env(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c"),
            ("CNI_IFNAME", "eth0"),
        ]))
        .unwrap();
        assert_eq!(del.netns, "");
        assert_eq!(
            parse_env(env(&[("CNI_COMMAND", "NOPE")])).unwrap_err().code,
            code::INVALID_ENV
        );
    }

    #[test]
    fn version_and_errors_via_run() {
        let out = run(
            env(&[("CNI_COMMAND", "VERSION")]),
            br#"{"cniVersion":"0.4.0"}"#,
        );
        assert_eq!(out.exit_code, 0);
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["cniVersion"], "0.4.0");
        assert_eq!(
            v["supportedVersions"].as_array().unwrap().len(),
            SUPPORTED_VERSIONS.len()
        );
        let out = run(
            env(&[
                ("CNI_COMMAND", "ADD"),
                ("CNI_CONTAINERID", "c"),
                ("CNI_NETNS", "/x"),
                ("CNI_IFNAME", "eth0"),
            ]),
            b"{",
        );
        assert_eq!(out.exit_code, 1);
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(v["code"], code::DECODE);
        assert_eq!(v["cniVersion"], CURRENT_VERSION);
        assert!(v["msg"].as_str().is_some() && v["details"].as_str().is_some());
    }

    #[test]
    fn ids_are_valid_berth_ids_and_distinct() {
        let a = berth_id("net", "abc/def:1 weird", "eth0");
        crate::names::check_container_id(&a).unwrap();
        assert_eq!(a.len(), 36);
        assert_ne!(a, berth_id("net", "abc/def:1 weird", "eth1"));
        assert_ne!(a, berth_id("net2", "abc/def:1 weird", "eth0"));
        assert_ne!(berth_id("ab", "c", "x"), berth_id("a", "bc", "x"));
        assert_eq!(a, berth_id("net", "abc/def:1 weird", "eth0"));
    }
}
