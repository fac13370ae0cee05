//! `linux.timeOffsets`: the clock offsets of a new time namespace. They can
//! only be written to `/proc/self/timens_offsets` by the process that
//! unshared the namespace, before any process has entered it
//! (time_namespaces(7)); init does that right before its second fork.

use std::io::Write;

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::{invalid, Error, Result};

/// The clocks a time namespace offsets, by their names in timens_offsets.
pub const CLOCKS: &[&str] = &["boottime", "monotonic"];

/// The offsets as timens_offsets takes them, one `<clock> <secs> <nanosecs>`
/// line each; None when the spec gives none. Checks them against the
/// namespace list as runc does.
pub fn offsets(spec: &Spec) -> Result<Option<String>> {
    let linux = spec.linux().as_ref();
    let offsets = linux.and_then(|l| l.time_offsets().as_ref());
    let time_ns = linux
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|list| list.iter().find(|n| n.typ() == LinuxNamespaceType::Time));
    let Some(offsets) = offsets else {
        return Ok(None);
    };
    match time_ns {
        None => {
            return Err(Error::conflict(
                "linux.timeOffsets",
                "linux.namespaces",
                "time namespace offsets specified, but time namespace isn't enabled in the config",
            ))
        }
        Some(ns) if ns.path().as_ref().is_some_and(|p| !p.as_os_str().is_empty()) => {
            return Err(Error::conflict(
                "linux.timeOffsets",
                "linux.namespaces",
                "time namespace enabled, but both namespace path and time offsets specified -- you may only provide one",
            ))
        }
        Some(_) => {}
    }
    let mut clocks: Vec<_> = offsets.iter().collect();
    clocks.sort_by_key(|(clock, _)| clock.as_str());
    let mut text = String::new();
    for (clock, off) in clocks {
        if !CLOCKS.contains(&clock.as_str()) {
            return invalid!(
                "linux.timeOffsets",
                clock,
                "unknown clock (known: boottime, monotonic)"
            );
        }
        let nanos = off.nanosecs().unwrap_or(0);
        if nanos >= 1_000_000_000 {
            return invalid!(
                format!("linux.timeOffsets.{clock}.nanosecs"),
                nanos,
                "not below one second"
            );
        }
        text.push_str(&format!("{clock} {} {nanos}\n", off.secs().unwrap_or(0)));
    }
    Ok(Some(text))
}

const OFFSETS: &str = "/proc/self/timens_offsets";

/// Opens timens_offsets while the process still has the caller's
/// credentials: once it is root of a new user namespace and non-dumpable,
/// its /proc files belong to a host root it cannot act as (EACCES). The
/// kernel checks CAP_SYS_TIME against the opener's credentials, which own
/// the new namespaces.
pub(crate) fn open_offsets() -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(OFFSETS)
        .map_err(|e| Error::io("linux.timeOffsets: open", OFFSETS, e))
}

/// Writes the offsets of the time namespace this process just unshared (it
/// applies to the children it forks next).
pub(crate) fn write_offsets(mut file: std::fs::File, text: &str) -> Result<()> {
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io("linux.timeOffsets: write", OFFSETS, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(linux: serde_json::Value) -> Spec {
        serde_json::from_value(serde_json::json!({"ociVersion": "1.2.0", "linux": linux})).unwrap()
    }

    #[test]
    fn offsets_need_a_new_time_namespace() {
        let offs = serde_json::json!({"monotonic": {"secs": 7881, "nanosecs": 2718281}, "boottime": {"secs": -3}});
        let s = spec(serde_json::json!({"namespaces": [{"type": "time"}], "timeOffsets": offs}));
        assert_eq!(
            offsets(&s).unwrap().unwrap(),
            "boottime -3 0\nmonotonic 7881 2718281\n"
        );
        let none = spec(serde_json::json!({"namespaces": [{"type": "time"}]}));
        assert_eq!(offsets(&none).unwrap(), None);
        for (linux, want) in [
            (
                serde_json::json!({"namespaces": [], "timeOffsets": offs}),
                "isn't enabled",
            ),
            (
                serde_json::json!({"namespaces": [{"type": "time", "path": "/proc/1/ns/time"}], "timeOffsets": offs}),
                "both namespace path and time offsets",
            ),
            (
                serde_json::json!({"namespaces": [{"type": "time"}], "timeOffsets": {"realtime": {"secs": 1}}}),
                "linux.timeOffsets \"realtime\": unknown clock",
            ),
        ] {
            let e = offsets(&spec(linux)).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
    }
}
