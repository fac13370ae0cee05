//! Linux capabilities: names, docker's `--cap-add/--cap-drop` arithmetic, and
//! applying `process.capabilities` in the order the kernel needs.
//!
//! The container init calls, in this order:
//! 1. [`CapPlan::before_user_change`] while still root (drops the bounding set,
//!    sets `PR_SET_KEEPCAPS` so the permitted set survives `setuid`);
//! 2. `setgroups`, `setgid`, `setuid`;
//! 3. [`CapPlan::after_user_change`] (one `capset` for effective, permitted and
//!    inheritable, then the ambient set, then clears `KEEPCAPS`).

use std::collections::BTreeSet;
use std::str::FromStr;

use caps::Capability;
use oci_spec::runtime::LinuxCapabilities;

use crate::{invalid, Error, Result};

/// Parse one capability name: `NET_ADMIN`, `cap_net_admin`, `Cap_Net_Admin`.
/// `ALL` is not a capability (only [`resolve`] understands it).
pub fn parse_capability(name: &str) -> Result<Capability> {
    let trimmed = name.trim();
    let unknown = || Error::invalid("capability", name, "unknown capability");
    if trimmed.is_empty() || trimmed.len() > 64 {
        return Err(unknown());
    }
    let canonical = caps::to_canonical(trimmed);
    Capability::from_str(&canonical).map_err(|_| unknown())
}

/// Docker's default capability set, as config.json holds it.
pub fn docker_default() -> Vec<String> {
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Every capability the running kernel knows, sorted by name.
pub fn all_known() -> Vec<String> {
    let set = known_set();
    let mut v: Vec<String> = set.iter().map(|c| c.to_string()).collect();
    v.sort();
    v
}

/// The capabilities both the caps crate and the running kernel know.
fn known_set() -> caps::CapsHashSet {
    match caps::runtime::procfs_all_supported(None) {
        Ok(s) => s,
        Err(e) => {
            log::debug!("reading cap_last_cap: {e}; asking the bounding set instead");
            caps::runtime::thread_all_supported()
        }
    }
}

/// What `ALL` means: every capability the kernel knows that this process can
/// still grant (a cap missing from the runtime's bounding set, e.g. a VM
/// without CAP_SYS_RESOURCE, cannot be given to a container: capset would fail).
fn grantable_set() -> caps::CapsHashSet {
    let known = known_set();
    match caps::read(None, caps::CapSet::Bounding) {
        Ok(bounding) => known.intersection(&bounding).copied().collect(),
        Err(_) => known,
    }
}

fn is_all(name: &str) -> bool {
    name.trim().eq_ignore_ascii_case("ALL")
}

/// Docker's arithmetic for `--cap-add` / `--cap-drop` on top of `base`:
/// - `ALL` in `add`: every capability this process can grant except those named in `drop`;
/// - otherwise `ALL` in `drop`: exactly the capabilities in `add`;
/// - otherwise: `base` minus `drop`, plus `add` (a name in both ends up present).
///
/// Names may have `CAP_` or not, any case. Output: sorted, unique `CAP_*` strings.
pub fn resolve(base: &[String], add: &[String], drop: &[String]) -> Result<Vec<String>> {
    let parse_list = |list: &[String], what: &str| -> Result<Vec<Capability>> {
        list.iter()
            .filter(|n| !is_all(n))
            .map(|n| parse_capability(n).map_err(|_| Error::invalid(what, n, "unknown capability")))
            .collect()
    };
    let base_caps = parse_list(base, "capabilities")?;
    if base.iter().any(|n| is_all(n)) {
        return invalid!(
            "capabilities",
            "ALL",
            "only meaningful in --cap-add or --cap-drop"
        );
    }
    let add_caps = parse_list(add, "--cap-add")?;
    let drop_caps = parse_list(drop, "--cap-drop")?;
    let add_all = add.iter().any(|n| is_all(n));
    let drop_all = drop.iter().any(|n| is_all(n));

    let mut out: BTreeSet<String> = BTreeSet::new();
    if add_all {
        for c in grantable_set() {
            if !drop_caps.contains(&c) {
                out.insert(c.to_string());
            }
        }
    } else if drop_all {
        out.extend(add_caps.iter().map(|c| c.to_string()));
    } else {
        out.extend(
            base_caps
                .iter()
                .filter(|c| !drop_caps.contains(c))
                .map(|c| c.to_string()),
        );
        out.extend(add_caps.iter().map(|c| c.to_string()));
    }
    Ok(out.into_iter().collect())
}

/// A 64-bit capability mask (bit n = capability number n).
fn mask_of(set: &[Capability]) -> u64 {
    set.iter().fold(0u64, |m, c| m | c.bitmask())
}

/// `process.capabilities`, checked and reduced to masks before anything is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapPlan {
    /// `None` when the spec has no `process.capabilities`: nothing is changed.
    sets: Option<Masks>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Masks {
    bounding: u64,
    effective: u64,
    permitted: u64,
    inheritable: u64,
    /// Only capabilities also in permitted and inheritable (the kernel refuses others).
    ambient: u64,
    /// Highest capability number the kernel knows.
    last_cap: u8,
}

/// Convert one oci-spec capability to the caps crate's type.
fn from_oci(set: &str, c: &oci_spec::runtime::Capability) -> Result<Capability> {
    // oci-spec's Display gives the name without the prefix, e.g. "NET_ADMIN".
    let name = c.to_string();
    parse_capability(&name).map_err(|_| {
        Error::invalid(
            format!("process.capabilities.{set}"),
            name,
            "unknown capability",
        )
    })
}

fn last_cap() -> u8 {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap") {
        if let Ok(n) = s.trim().parse::<u8>() {
            return n.min(63);
        }
    }
    known_set().iter().map(|c| c.index()).max().unwrap_or(40)
}

impl CapPlan {
    /// Validate `process.capabilities`. A set that is absent is empty. Unknown
    /// names are rejected when the JSON is parsed; here a capability the running
    /// kernel does not have is an error naming the set and the capability, and so
    /// is an effective capability that is not permitted (the kernel would refuse it).
    /// Ambient capabilities missing from permitted or inheritable cannot be raised;
    /// as runc does, they are skipped with a warning.
    pub fn new(c: Option<&LinuxCapabilities>) -> Result<CapPlan> {
        let Some(c) = c else {
            return Ok(CapPlan { sets: None });
        };
        let last = last_cap();
        let conv =
            |set: &str, s: &Option<oci_spec::runtime::Capabilities>| -> Result<Vec<Capability>> {
                let mut v = Vec::new();
                for oc in s.iter().flatten() {
                    let cap = from_oci(set, oc)?;
                    if cap.index() > last {
                        return Err(Error::unsupported(
                            format!("process.capabilities.{set}"),
                            format!("this kernel does not know capability {cap}"),
                        ));
                    }
                    v.push(cap);
                }
                Ok(v)
            };
        let bounding = mask_of(&conv("bounding", c.bounding())?);
        let effective = mask_of(&conv("effective", c.effective())?);
        let permitted = mask_of(&conv("permitted", c.permitted())?);
        let inheritable = mask_of(&conv("inheritable", c.inheritable())?);
        let ambient_req = conv("ambient", c.ambient())?;
        let extra = effective & !permitted;
        if extra != 0 {
            return Err(Error::conflict(
                "process.capabilities.effective",
                "process.capabilities.permitted",
                format!("{} not in permitted", names(extra).join(", ")),
            ));
        }
        let mut ambient = 0u64;
        for cap in ambient_req {
            let bit = cap.bitmask();
            if permitted & bit == 0 || inheritable & bit == 0 {
                // A warning, as runc gives it: the process runs without it.
                log::warn!(
                    "can't raise ambient capability {cap}: not in both permitted and inheritable"
                );
                continue;
            }
            ambient |= bit;
        }
        Ok(CapPlan {
            sets: Some(Masks {
                bounding,
                effective,
                permitted,
                inheritable,
                ambient,
                last_cap: last,
            }),
        })
    }

    /// True if the spec had no `process.capabilities` (nothing will be changed).
    pub fn is_noop(&self) -> bool {
        self.sets.is_none()
    }

    /// Bounding-set mask this plan leaves (None for a no-op plan).
    pub fn bounding_mask(&self) -> Option<u64> {
        self.sets.map(|m| m.bounding)
    }

    /// In init, still root, before changing uid/gid: drop from the bounding set
    /// everything not in `bounding`, then set `PR_SET_KEEPCAPS` so the permitted
    /// set survives `setuid`.
    pub fn before_user_change(&self) -> Result<()> {
        let Some(m) = self.sets else { return Ok(()) };
        for n in 0..=m.last_cap {
            if m.bounding & (1u64 << n) != 0 {
                continue;
            }
            // SAFETY: prctl with integer arguments only.
            let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) };
            if r != 0 {
                let e = nix::Error::last();
                // EINVAL: the kernel does not know this capability; nothing to drop.
                if e != nix::Error::EINVAL {
                    return Err(Error::sys(
                        format!("drop {} from the bounding set", cap_name(n)),
                        e,
                    ));
                }
            }
        }
        set_keepcaps(true)
    }

    /// After setgroups/setgid/setuid: effective, permitted and inheritable in one
    /// `capset` (inheritable empty unless asked, CVE-2022-29162), then the ambient
    /// set (which needs each capability in permitted and inheritable), then clear
    /// `KEEPCAPS`.
    pub fn after_user_change(&self) -> Result<()> {
        let Some(m) = self.sets else { return Ok(()) };
        capset(m.effective, m.permitted, m.inheritable)?;
        // SAFETY: prctl with integer arguments only.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        if r != 0 {
            return Err(Error::sys(
                "clear the ambient capability set",
                nix::Error::last(),
            ));
        }
        for n in 0..=m.last_cap {
            if m.ambient & (1u64 << n) == 0 {
                continue;
            }
            // SAFETY: prctl with integer arguments only.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    libc::c_ulong::from(n),
                    0,
                    0,
                )
            };
            if r != 0 {
                return Err(Error::sys(
                    format!("raise ambient {}", cap_name(n)),
                    nix::Error::last(),
                ));
            }
        }
        set_keepcaps(false)
    }
}

fn set_keepcaps(on: bool) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0, 0, 0) };
    if r != 0 {
        return Err(Error::sys(
            format!("prctl(PR_SET_KEEPCAPS, {})", u8::from(on)),
            nix::Error::last(),
        ));
    }
    Ok(())
}

/// Name of capability number `n` ("CAP_42" when the caps crate does not know it).
fn cap_name(n: u8) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() == n)
        .map(|c| c.to_string())
        .unwrap_or_else(|| format!("CAP_{n}"))
}

fn names(mask: u64) -> Vec<String> {
    (0..64u8)
        .filter(|n| mask & (1u64 << n) != 0)
        .map(cap_name)
        .collect()
}

use crate::sys::{CapData, CapHeader};

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Set the three POSIX sets of the calling thread in one system call.
fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = |m: u64| m as u32;
    let hi = |m: u64| (m >> 32) as u32;
    let data = [
        CapData {
            effective: lo(effective),
            permitted: lo(permitted),
            inheritable: lo(inheritable),
        },
        CapData {
            effective: hi(effective),
            permitted: hi(permitted),
            inheritable: hi(inheritable),
        },
    ];
    crate::sys::capset(&mut hdr, &data).map_err(|e| {
        Error::sys(
            format!(
                "capset(effective={effective:#x}, permitted={permitted:#x}, inheritable={inheritable:#x})"
            ),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_names_in_any_form() {
        assert_eq!(
            parse_capability("NET_ADMIN").unwrap(),
            Capability::CAP_NET_ADMIN
        );
        assert_eq!(
            parse_capability("cap_net_admin").unwrap(),
            Capability::CAP_NET_ADMIN
        );
        assert_eq!(
            parse_capability("Cap_Sys_Admin").unwrap(),
            Capability::CAP_SYS_ADMIN
        );
        assert_eq!(parse_capability("chown").unwrap(), Capability::CAP_CHOWN);
        assert_eq!(
            parse_capability(" CAP_KILL ").unwrap(),
            Capability::CAP_KILL
        );
    }

    #[test]
    fn rejects_unknown_names_naming_them() {
        for bad in [
            "",
            "CAP_",
            "ALL",
            "NET_ADMINX",
            "CAP_CAP_CHOWN",
            "net admin",
            "\u{0}",
        ] {
            let e = parse_capability(bad).unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { value, .. } if value == bad),
                "{bad:?}: {e:?}"
            );
            let e = e.to_string();
            assert!(e.contains("unknown capability"), "{bad:?}: {e}");
            // An empty value is left out of the message.
            assert!(
                bad.is_empty() || e.contains(&format!("{bad:?}")),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn docker_default_is_the_fourteen() {
        let d = docker_default();
        assert_eq!(d.len(), 14);
        for n in &d {
            assert!(n.starts_with("CAP_"));
            parse_capability(n).unwrap();
        }
        assert!(d.contains(&"CAP_AUDIT_WRITE".to_string()));
        assert!(!d.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn all_known_matches_kernel() {
        let all = all_known();
        let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(all.len(), (last + 1).min(caps::all().len()));
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        assert!(all.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn resolve_docker_semantics() {
        let base = docker_default();
        // plain add
        let r = resolve(&base, &s(&["net_admin"]), &[]).unwrap();
        assert!(r.contains(&"CAP_NET_ADMIN".to_string()));
        assert_eq!(r.len(), 15);
        // plain drop
        let r = resolve(&base, &[], &s(&["CHOWN", "cap_kill"])).unwrap();
        assert_eq!(r.len(), 12);
        assert!(!r.contains(&"CAP_CHOWN".to_string()) && !r.contains(&"CAP_KILL".to_string()));
        // drop ALL, add one
        assert_eq!(
            resolve(&base, &s(&["NET_RAW"]), &s(&["all"])).unwrap(),
            s(&["CAP_NET_RAW"])
        );
        assert_eq!(
            resolve(&base, &[], &s(&["ALL"])).unwrap(),
            Vec::<String>::new()
        );
        // add ALL, drop one
        let r = resolve(&base, &s(&["ALL"]), &s(&["chown"])).unwrap();
        // ALL is what this process can grant (its bounding set), minus CHOWN.
        let grantable = grantable_set();
        assert_eq!(
            r.len(),
            grantable.len() - usize::from(grantable.contains(&Capability::CAP_CHOWN))
        );
        assert!(r.len() < all_known().len());
        assert!(!r.contains(&"CAP_CHOWN".to_string()));
        assert!(r.contains(&"CAP_SYS_ADMIN".to_string()));
        // both in add and drop (docker: add wins)
        let r = resolve(&base, &s(&["CHOWN"]), &s(&["CHOWN"])).unwrap();
        assert!(r.contains(&"CAP_CHOWN".to_string()));
        // sorted, unique
        let r = resolve(&s(&["KILL", "CHOWN", "cap_kill"]), &s(&["chown"]), &[]).unwrap();
        assert_eq!(r, s(&["CAP_CHOWN", "CAP_KILL"]));
    }

    #[test]
    fn resolve_rejects_unknown() {
        let e = resolve(&docker_default(), &s(&["NET_FOO"]), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("cap-add") && e.contains("NET_FOO"), "{e}");
        let e = resolve(&docker_default(), &[], &s(&["bogus"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cap-drop") && e.contains("bogus"), "{e}");
        assert!(resolve(&s(&["ALL"]), &[], &[]).is_err());
    }

    #[test]
    fn every_oci_capability_maps() {
        for c in caps::all() {
            let json = format!("\"{c}\"");
            let oc: oci_spec::runtime::Capability = serde_json::from_str(&json).unwrap();
            assert_eq!(from_oci("bounding", &oc).unwrap(), c);
        }
    }

    fn plan(json: &str) -> Result<CapPlan> {
        let c: LinuxCapabilities = serde_json::from_str(json).unwrap();
        CapPlan::new(Some(&c))
    }

    #[test]
    fn plan_masks() {
        let p = plan(
            r#"{"bounding":["CAP_CHOWN","CAP_SETUID","CAP_SETGID"],"effective":["CAP_CHOWN"],
                "permitted":["CAP_CHOWN","CAP_SETUID"],"ambient":["CAP_CHOWN","CAP_SETUID"],
                "inheritable":["CAP_CHOWN"]}"#,
        )
        .unwrap();
        let m = p.sets.unwrap();
        assert_eq!(m.bounding, 0xc1);
        assert_eq!(m.effective, 0x1);
        assert_eq!(m.permitted, 0x81);
        assert_eq!(m.inheritable, 0x1);
        // SETUID is not inheritable, so it cannot be ambient
        assert_eq!(m.ambient, 0x1);
        assert!(CapPlan::new(None).unwrap().is_noop());
        // absent sets are empty
        let m = plan(r#"{"bounding":["CAP_KILL"]}"#).unwrap().sets.unwrap();
        assert_eq!(
            (
                m.bounding,
                m.effective,
                m.permitted,
                m.inheritable,
                m.ambient
            ),
            (1 << 5, 0, 0, 0, 0)
        );
    }

    #[test]
    fn plan_rejects_effective_outside_permitted() {
        let e = plan(r#"{"effective":["CAP_CHOWN","CAP_KILL"],"permitted":["CAP_CHOWN"]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("process.capabilities.effective") && e.contains("CAP_KILL"),
            "{e}"
        );
    }

    #[test]
    fn unknown_names_fail_when_parsing_the_spec() {
        let r: std::result::Result<LinuxCapabilities, _> =
            serde_json::from_str(r#"{"bounding":["CAP_NOPE"]}"#);
        assert!(r.unwrap_err().to_string().contains("CAP_NOPE"));
    }
}
