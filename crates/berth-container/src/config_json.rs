//! The leniencies of runc's Go JSON decoder, applied to config.json and
//! `exec -p` process JSON before serde reads them, so that a file runc
//! accepts is read the same way here:
//! - object keys match the spec's field names case-insensitively
//!   (`pagesize` is `pageSize`, `Args` is `args`), an exact match winning;
//! - a missing `process.user` is uid 0, gid 0 (Go's zero value);
//! - capability names this build does not know are ignored with a warning
//!   (runc does the same for names newer than its capability list);
//! - `pids` without a `limit` sets nothing (oci-spec would read it as 0,
//!   which runc takes as a limit of 1).

use oci_spec::runtime::Capability;
use serde_json::{Map, Value};

/// The field names oci-spec reads that are not all lower-case (its spelling,
/// `enableCmt`, where the spec's differs); every other field name is lower-case,
/// so a key that matches none of these is read in lower case.
const MIXED_CASE_KEYS: &[&str] = &[
    "additionalGids",
    "apparmorProfile",
    "blockIO",
    "cgroupsPath",
    "checkBeforeUpdate",
    "classID",
    "closID",
    "commandLine",
    "consoleSize",
    "containerID",
    "createContainer",
    "createRuntime",
    "defaultAction",
    "defaultErrnoRet",
    "disableOOMKiller",
    "enableCmt",
    "enableMbm",
    "enableMonitoring",
    "errnoRet",
    "execCPUAffinity",
    "fileMode",
    "gidMappings",
    "hcaHandles",
    "hcaObjects",
    "hostID",
    "hugepageLimits",
    "intelRdt",
    "ioPriority",
    "kernelTCP",
    "l3CacheSchema",
    "leafWeight",
    "listenerMetadata",
    "listenerPath",
    "maskedPaths",
    "memBwSchema",
    "memoryPolicy",
    "mountLabel",
    "netDevices",
    "noNewPrivileges",
    "ociVersion",
    "oomScoreAdj",
    "pageSize",
    "readonlyPaths",
    "realtimePeriod",
    "realtimeRuntime",
    "rootfsPropagation",
    "selinuxLabel",
    "startContainer",
    "throttleReadBpsDevice",
    "throttleReadIOPSDevice",
    "throttleWriteBpsDevice",
    "throttleWriteIOPSDevice",
    "timeOffsets",
    "uidMappings",
    "useHierarchy",
    "weightDevice",
];

/// Fields whose values are maps of the user's own keys, never renamed.
const USER_MAPS: &[&str] = &[
    "annotations",
    "sysctl",
    "unified",
    "rdma",
    "netDevices",
    "timeOffsets",
];

/// The five capability sets of `process.capabilities`.
const CAP_SETS: &[&str] = &[
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// Normalises a whole config.json.
pub fn normalize_spec(spec: &mut Value) {
    fix_keys(spec);
    if let Some(p) = spec.get_mut("process") {
        process_defaults(p, "process");
    }
    if let Some(r) = spec.pointer_mut("/linux/resources") {
        drop_unset_pids(r);
    }
}

/// Normalises a resources object (`update -r`).
pub fn normalize_resources(resources: &mut Value) {
    fix_keys(resources);
    drop_unset_pids(resources);
}

fn drop_unset_pids(resources: &mut Value) {
    let Value::Object(r) = resources else { return };
    if r.get("pids").is_some_and(|p| p.get("limit").is_none()) {
        r.remove("pids");
    }
}

/// Normalises the process JSON of `exec -p`.
pub fn normalize_process(process: &mut Value) {
    fix_keys(process);
    process_defaults(process, "process");
}

/// Renames keys that match a field name only when case is ignored, everywhere but in user maps.
fn fix_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            rename_keys(map);
            for (k, inner) in map.iter_mut() {
                if !USER_MAPS.contains(&k.as_str()) {
                    fix_keys(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_keys),
        _ => {}
    }
}

fn rename_keys(map: &mut Map<String, Value>) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let canonical = canonical(&key);
        // An exact match elsewhere in the object wins, as in Go.
        if canonical != key && !map.contains_key(&canonical) {
            if let Some(v) = map.remove(&key) {
                map.insert(canonical, v);
            }
        }
    }
}

fn canonical(key: &str) -> String {
    MIXED_CASE_KEYS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(key))
        .map_or_else(|| key.to_ascii_lowercase(), |k| (*k).to_string())
}

fn process_defaults(process: &mut Value, at: &str) {
    let Value::Object(p) = process else {
        return; // serde reports the wrong type
    };
    p.entry("user")
        .or_insert_with(|| serde_json::json!({ "uid": 0, "gid": 0 }));
    if let Some(Value::Object(caps)) = p.get_mut("capabilities") {
        for set in CAP_SETS {
            if let Some(Value::Array(names)) = caps.get_mut(*set) {
                names.retain(|n| known_capability(n, &format!("{at}.capabilities.{set}")));
            }
        }
    }
}

/// False (with a warning) for a capability name oci-spec cannot read.
fn known_capability(name: &Value, at: &str) -> bool {
    if !name.is_string() || serde_json::from_value::<Capability>(name.clone()).is_ok() {
        return true; // a non-string is left for serde to refuse
    }
    log::warn!("{at}: unknown capability {name} ignored");
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_field_names_case_insensitively() {
        let mut v = json!({
            "Process": { "ARGS": ["sh"], "NoNewPrivileges": true },
            "linux": {
                "resources": { "hugepageLimits": [{ "pagesize": "2MB", "limit": 1 }] },
                "sysctl": { "Net.X": "1" }
            },
            "annotations": { "Some.Key": "v" },
            "hostname": "h", "HOSTNAME": "ignored"
        });
        normalize_spec(&mut v);
        assert_eq!(v["process"]["args"], json!(["sh"]));
        assert_eq!(v["process"]["noNewPrivileges"], json!(true));
        assert_eq!(v["process"]["user"], json!({ "uid": 0, "gid": 0 }));
        assert_eq!(
            v["linux"]["resources"]["hugepageLimits"][0]["pageSize"],
            "2MB"
        );
        assert_eq!(v["linux"]["sysctl"], json!({ "Net.X": "1" }));
        assert_eq!(v["annotations"], json!({ "Some.Key": "v" }));
        assert_eq!(v["hostname"], "h");
    }

    #[test]
    fn pids_without_a_limit_is_unset() {
        let mut v = json!({ "linux": { "resources": { "pids": {} } } });
        normalize_spec(&mut v);
        assert_eq!(v["linux"]["resources"], json!({}));
        let mut r = json!({ "Pids": { "Limit": 0 } });
        normalize_resources(&mut r);
        assert_eq!(r, json!({ "pids": { "limit": 0 } }));
    }

    #[test]
    fn unknown_capabilities_are_dropped_and_known_ones_kept() {
        let mut v = json!({ "args": ["sh"], "user": { "uid": 7, "gid": 8 },
            "capabilities": { "bounding": ["CAP_UNKNOWN", "CAP_KILL", "UNKNOWN_CAP"], "ambient": [] } });
        normalize_process(&mut v);
        assert_eq!(v["capabilities"]["bounding"], json!(["CAP_KILL"]));
        assert_eq!(v["user"], json!({ "uid": 7, "gid": 8 }));
    }
}
