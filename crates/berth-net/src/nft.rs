//! Running the `nft` binary: atomic rule batches, and removal of the rules
//! that carry a given comment (each berth rule is tagged with the container
//! or bridge it belongs to, so removal never touches anyone else's rules).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::{Error, Result};

/// The table name used in both the `ip` and the `bridge` family.
pub const TABLE: &str = "berth";

/// Bit of the packet mark that berth sets on DNAT-ed connections, so the
/// bridge-family isolation rules let published-port traffic through: with
/// `br_netfilter` loaded, hairpin traffic to a published port is bridged
/// port-to-port after DNAT instead of routed, and bridge-family rules cannot
/// read conntrack state on kernels without `nf_conntrack_bridge`.
pub const DNAT_MARK: u32 = 0x0010_0000;

/// Statements creating berth's `ip` table and chains (idempotent; the
/// `dnatmark` chain is rewritten in place, in the same transaction).
pub fn ip_setup() -> String {
    format!(
        "add table ip {TABLE}\n\
add chain ip {TABLE} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}\n\
add chain ip {TABLE} output {{ type nat hook output priority -100; policy accept; }}\n\
add chain ip {TABLE} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}\n\
add chain ip {TABLE} dnatmark {{ type filter hook prerouting priority -90; policy accept; }}\n\
flush chain ip {TABLE} dnatmark\n\
add rule ip {TABLE} dnatmark ct status dnat meta mark set meta mark | {DNAT_MARK:#010x}\n"
    )
}

/// Statements creating berth's `bridge` table (idempotent): a base `forward`
/// chain that accepts DNAT-marked frames and jumps to `isolation`, where the
/// per-container rules live.
pub fn bridge_setup() -> String {
    format!(
        "add table bridge {TABLE}\n\
add chain bridge {TABLE} isolation\n\
add chain bridge {TABLE} forward {{ type filter hook forward priority filter; policy accept; }}\n\
flush chain bridge {TABLE} forward\n\
add rule bridge {TABLE} forward meta mark & {DNAT_MARK:#010x} == {DNAT_MARK:#010x} accept\n\
add rule bridge {TABLE} forward jump isolation\n"
    )
}

fn nft_binary() -> &'static str {
    if std::path::Path::new("/usr/sbin/nft").exists() {
        "/usr/sbin/nft"
    } else {
        "nft"
    }
}

/// Runs `script` as one atomic nft transaction (`nft -f -`).
pub fn apply(op: &str, script: &str) -> Result<()> {
    let fail = |reason: String| Error::Nft {
        op: op.to_string(),
        reason,
    };
    let mut child = Command::new(nft_binary())
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", nft_binary())))?;
    let written = child
        .stdin
        .take()
        .map(|mut s| s.write_all(script.as_bytes()));
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let first = msg
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(fail(first.trim().to_string()));
    }
    if let Some(Err(e)) = written {
        return Err(fail(format!("writing rules: {e}")));
    }
    Ok(())
}

/// A rule found by [`rules`].
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub chain: String,
    pub handle: u64,
    pub comment: String,
}

/// The commented rules of table `berth` in `family`; empty if the table does not exist.
pub fn rules(family: &str) -> Result<Vec<Rule>> {
    let op = format!("list table {family} {TABLE}");
    let out = Command::new(nft_binary())
        .args(["-j", "-a", "list", "table", family, TABLE])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Nft {
            op: op.clone(),
            reason: format!("cannot run {}: {e}", nft_binary()),
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        if msg.contains("No such file or directory") {
            return Ok(Vec::new());
        }
        return Err(Error::Nft {
            op,
            reason: msg.lines().next().unwrap_or("failed").to_string(),
        });
    }
    parse_rules(&out.stdout).map_err(|reason| Error::Nft { op, reason })
}

fn parse_rules(json: &[u8]) -> std::result::Result<Vec<Rule>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| format!("unreadable JSON: {e}"))?;
    let items = v
        .get("nftables")
        .and_then(|n| n.as_array())
        .ok_or("no \"nftables\" array in JSON")?;
    Ok(items
        .iter()
        .filter_map(|item| item.get("rule"))
        .filter_map(|r| {
            Some(Rule {
                chain: r.get("chain")?.as_str()?.to_string(),
                handle: r.get("handle")?.as_u64()?,
                comment: r.get("comment")?.as_str()?.to_string(),
            })
        })
        .collect())
}

/// Deletes every rule in `family berth` whose comment is `comment`.
/// Returns how many were deleted.
pub fn delete_tagged(family: &str, comment: &str) -> Result<usize> {
    let found: Vec<Rule> = rules(family)?
        .into_iter()
        .filter(|r| r.comment == comment)
        .collect();
    if found.is_empty() {
        return Ok(0);
    }
    let script: String = found
        .iter()
        .map(|r| {
            format!(
                "delete rule {family} {TABLE} {} handle {}\n",
                r.chain, r.handle
            )
        })
        .collect();
    apply(&format!("delete rules tagged {comment:?}"), &script)?;
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commented_rules_only() {
        let json = br#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "ip", "name": "berth", "handle": 1}},
            {"rule": {"family": "ip", "table": "berth", "chain": "output", "handle": 7, "comment": "berth:a", "expr": []}},
            {"rule": {"family": "ip", "table": "berth", "chain": "output", "handle": 8, "expr": []}}]}"#;
        let r = parse_rules(json).unwrap();
        assert_eq!(
            r,
            vec![Rule {
                chain: "output".into(),
                handle: 7,
                comment: "berth:a".into()
            }]
        );
        assert!(parse_rules(b"{}").is_err());
        assert!(parse_rules(b"nope").is_err());
    }
}
