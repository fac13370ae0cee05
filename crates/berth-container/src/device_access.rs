//! The device cgroup rules a container runs with: the spec's own rules, then
//! allow rules for the devices every container gets. Nodes from
//! `linux.devices` get only the access the spec's rules grant them (as runc).

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources, Spec,
};

/// (type, major, minor) of the nodes berth always creates, plus the pty devices.
const DEFAULT_ALLOWED: &[(LinuxDeviceType, Option<i64>, Option<i64>)] = &[
    (LinuxDeviceType::C, Some(1), Some(3)), // null
    (LinuxDeviceType::C, Some(1), Some(5)), // zero
    (LinuxDeviceType::C, Some(1), Some(7)), // full
    (LinuxDeviceType::C, Some(1), Some(8)), // random
    (LinuxDeviceType::C, Some(1), Some(9)), // urandom
    (LinuxDeviceType::C, Some(5), Some(0)), // tty
    (LinuxDeviceType::C, Some(5), Some(2)), // ptmx
    (LinuxDeviceType::C, Some(136), None),  // pts/*
];

fn allow(
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().expect("all fields set")
}

/// `linux.resources` with the device rules completed. A spec without device
/// rules gets "deny all" first, as runc does: containers see only what is allowed.
pub fn cgroup_resources(spec: &Spec) -> LinuxResources {
    let linux = spec.linux().as_ref();
    let mut resources = linux
        .and_then(|l| l.resources().clone())
        .unwrap_or_default();
    let mut rules: Vec<LinuxDeviceCgroup> = resources.devices().clone().unwrap_or_default();
    if rules.is_empty() {
        let mut deny = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .expect("all fields set");
        deny.set_typ(Some(LinuxDeviceType::A));
        rules.push(deny);
    }
    for &(t, maj, min) in DEFAULT_ALLOWED {
        rules.push(allow(t, maj, min, "rwm"));
    }
    resources.set_devices(Some(rules));
    resources
}
