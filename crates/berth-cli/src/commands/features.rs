//! `berth features`: what this build supports, in the shape `runc features`
//! prints. Each list comes from the code that implements it (mount options
//! from the option parser's table, seccomp actions, operators and
//! architectures from the translator, cgroup controllers from berth-cgroups,
//! memory policy modes and the process attributes from `attrs`' tables,
//! `netDevices` from whether berth-container was built with networking), so
//! the output cannot advertise what berth refuses. Attributes the features
//! schema has no field for are listed as `io.github.berth.*` annotations.

use berth_container::attrs::{ioprio, mempolicy, personality, scheduler};
use berth_container::rootfs::mount_options;
use berth_container::seccomp;
use serde_json::{json, Value};

fn names<T>(table: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    table.iter().map(|e| name(e).to_string()).collect()
}

pub fn features() -> Value {
    let controllers = berth_cgroups::V1_CONTROLLERS;
    let list = |v: Vec<String>| v.join(",");
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.1",
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": mount_options::known_options(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": berth_container::caps::all_known(),
            "cgroup": {
                "v1": true, "v2": true, "systemd": false, "systemdUser": false,
                "rdma": controllers.contains(&"rdma")
            },
            "seccomp": {
                "enabled": true,
                "actions": seccomp::supported_actions(),
                "operators": seccomp::supported_operators(),
                "archs": seccomp::supported_archs(),
                "knownFlags": seccomp::supported_flags(),
                "supportedFlags": seccomp::supported_flags()
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
            "memoryPolicy": {
                "modes": names(mempolicy::MODES, |m| m.0),
                "flags": names(mempolicy::FLAGS, |f| f.0)
            },
            "mountExtensions": { "idmap": { "enabled": berth_container::rootfs::idmap::SUPPORTED } },
            "netDevices": { "enabled": berth_container::NET_DEVICES }
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
            "io.github.berth.version": env!("CARGO_PKG_VERSION"),
            "io.github.berth.process.scheduler.policies": list(names(scheduler::POLICIES, |p| p.0)),
            "io.github.berth.process.scheduler.flags": list(names(scheduler::FLAGS, |f| f.0)),
            "io.github.berth.process.ioPriority.classes": list(names(ioprio::CLASSES, |c| c.0)),
            "io.github.berth.linux.personality.domains": list(names(personality::DOMAINS, |d| d.0)),
            "io.github.berth.linux.timeOffsets.clocks": berth_container::timens::CLOCKS.join(","),
            "io.github.berth.pidfdSocket": "true"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_container::oci_spec::runtime::LinuxSeccomp;

    fn strings(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_advertised_mount_option_is_accepted() {
        let f = features();
        let opts = strings(&f["mountOptions"]);
        assert!(!opts.contains(&"remount".to_string()), "remount is refused");
        for o in opts {
            // bind mounts take every flag, propagation and recursive attribute.
            let parsed = mount_options::parse(Some("bind"), std::slice::from_ref(&o));
            assert!(parsed.is_ok(), "{o}: {parsed:?}");
        }
    }

    #[test]
    fn every_advertised_seccomp_action_builds_a_filter() {
        let f = features();
        let actions = strings(&f["linux"]["seccomp"]["actions"]);
        assert!(actions.contains(&"SCMP_ACT_NOTIFY".to_string()));
        for a in actions {
            let listener = if a == "SCMP_ACT_NOTIFY" {
                r#","listenerPath":"/run/agent.sock""#
            } else {
                ""
            };
            let text = format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW"{listener},"syscalls":[{{"names":["getcwd"],"action":"{a}"}}]}}"#
            );
            let profile: LinuxSeccomp = serde_json::from_str(&text).unwrap();
            let plan = seccomp::SeccompPlan::new(&profile);
            assert!(plan.is_ok(), "{a}: {:?}", plan.err());
        }
        for op in strings(&f["linux"]["seccomp"]["operators"]) {
            let text = format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getcwd"],"action":"SCMP_ACT_ERRNO","args":[{{"index":0,"value":1,"valueTwo":1,"op":"{op}"}}]}}]}}"#
            );
            let profile: LinuxSeccomp = serde_json::from_str(&text).unwrap();
            assert!(seccomp::SeccompPlan::new(&profile).is_ok(), "{op}");
        }
        // Compatibility ABIs are listed beside the native one, as docker's profile does.
        let archs = strings(&f["linux"]["seccomp"]["archs"]);
        for arch in &archs {
            let native = &archs[0];
            let text = format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":["{native}","{arch}"]}}"#
            );
            let profile: LinuxSeccomp = serde_json::from_str(&text).unwrap();
            assert!(seccomp::SeccompPlan::new(&profile).is_ok(), "{arch}");
        }
    }

    #[test]
    fn every_advertised_memory_policy_is_accepted() {
        let f = features();
        let modes = strings(&f["linux"]["memoryPolicy"]["modes"]);
        assert!(modes.contains(&"MPOL_INTERLEAVE".to_string()));
        for m in modes {
            // Every mode takes a node list except these two, which refuse one.
            let nodes = if m == "MPOL_DEFAULT" || m == "MPOL_LOCAL" {
                ""
            } else {
                "0"
            };
            for f in strings(&f["linux"]["memoryPolicy"]["flags"]) {
                let text = format!(
                    r#"{{"ociVersion":"1.2.0","root":{{"path":"rootfs"}},"process":{{"args":["true"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
                    "linux":{{"namespaces":[{{"type":"mount"}}],"memoryPolicy":{{"mode":"{m}","nodes":"{nodes}","flags":["{f}"]}}}}}}"#
                );
                let parsed = berth_container::config::parse(text.as_bytes());
                assert!(parsed.is_ok(), "{m} {f}: {:?}", parsed.err());
            }
        }
    }

    #[test]
    fn net_devices_are_reported_as_the_build_moves_them() {
        // berth-cli builds berth-container with its net feature, which moves them.
        assert_eq!(
            features()["linux"]["netDevices"],
            json!({ "enabled": true })
        );
    }

    #[test]
    fn rdma_is_reported_because_rdma_max_is_written() {
        assert_eq!(features()["linux"]["cgroup"]["rdma"], json!(true));
    }
}
