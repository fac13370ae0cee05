//! `rootfs::validate`: bad mounts, devices, paths and sysctls are refused
//! with one-line errors that name the field; good specs pass.

use berth_container::rootfs::validate;
use oci_spec::runtime::Spec;

fn spec(linux: &str, mounts: &str) -> Spec {
    let j = format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},"process":{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}}}},
            "mounts":[{mounts}],"linux":{{{linux}}}}}"#
    );
    serde_json::from_str(&j).unwrap_or_else(|e| panic!("test spec does not parse: {e}\n{j}"))
}

fn err(linux: &str, mounts: &str) -> String {
    match validate(&spec(linux, mounts)) {
        Ok(()) => panic!("accepted: linux={linux} mounts={mounts}"),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "error is not one line: {s}");
            s
        }
    }
}

const DOCKER_MOUNTS: &str = r#"
 {"destination":"/proc","type":"proc","source":"proc","options":["nosuid","noexec","nodev"]},
 {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
 {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},
 {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
 {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["ro","nosuid","noexec","nodev"]},
 {"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
 {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=67108864"]},
 {"destination":"/etc/hosts","type":"bind","source":"/etc/hosts","options":["rbind","rprivate","ro"]},
 {"destination":"/data","source":"/srv","options":["bind","nosuid","rslave","rro"]},
 {"destination":"/proc/cpuinfo","type":"bind","source":"/var/lib/lxcfs/proc/cpuinfo","options":["rbind"]}"#;

const LINUX_OK: &str = r#""devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":8630,"uid":0,"gid":0},
    {"path":"/dev/sda","type":"b","major":8,"minor":0},{"path":"/dev/f","type":"p"}],
   "maskedPaths":["/proc/kcore","/sys/firmware"],"readonlyPaths":["/proc/sys"],
   "sysctl":{"net.ipv4.ip_forward":"1","kernel/shm_rmid_forced":"1"},"rootfsPropagation":"rslave""#;

#[test]
fn docker_like_spec_is_accepted() {
    validate(&spec(LINUX_OK, DOCKER_MOUNTS)).unwrap();
}

#[test]
fn mount_on_root_is_refused() {
    for d in ["/", "/.", "//", "/tmp/..", "/../.."] {
        let e = err(
            "",
            &format!(r#"{{"destination":"{d}","type":"tmpfs","source":"tmpfs"}}"#),
        );
        assert!(
            e.contains("mounts[0].destination") && e.contains("root"),
            "{d}: {e}"
        );
    }
}

#[test]
fn relative_destination_is_refused() {
    let e = err(
        "",
        r#"{"destination":"/ok","type":"tmpfs"},{"destination":"tmp","type":"tmpfs"}"#,
    );
    assert!(
        e.contains("mounts[1].destination") && e.contains("absolute"),
        "{e}"
    );
}

#[test]
fn unknown_options_are_refused() {
    // A bind mount's data options go to the kernel, which ignores them (as runc);
    // options of a file system that takes data are checked.
    let e = err(
        "",
        r#"{"destination":"/x","type":"tmpfs","source":"tmpfs","options":["bogus"]}"#,
    );
    assert!(
        e.contains("mounts[0].options") && e.contains("bogus"),
        "{e}"
    );
    let e = err(
        "",
        r#"{"destination":"/x","type":"tmpfs","options":["mode=8888"]}"#,
    );
    assert!(e.contains("mode"), "{e}");
    let e = err(
        "",
        r#"{"destination":"/x","type":"tmpfs","options":["size=1k,mode=777"]}"#,
    );
    assert!(e.contains("comma"), "{e}");
    let e = err(
        "",
        r#"{"destination":"/x","source":"/srv","options":["ro"]}"#,
    );
    assert!(e.contains("no type"), "{e}");
}

#[test]
fn bind_without_source_is_refused() {
    let e = err(
        "",
        r#"{"destination":"/x","type":"bind","options":["rbind"]}"#,
    );
    assert!(e.contains("mounts[0].source"), "{e}");
}

#[test]
fn mounts_over_proc_are_refused() {
    let e = err(
        "",
        r#"{"destination":"/proc/sys/kernel/core_pattern","type":"bind","source":"/tmp/x","options":["bind"]}"#,
    );
    assert!(e.contains("/proc"), "{e}");
    let e = err("", r#"{"destination":"/proc/self","type":"tmpfs"}"#);
    assert!(e.contains("/proc"), "{e}");
}

#[test]
fn bad_devices_are_refused() {
    let e = err(
        r#""devices":[{"path":"/etc/passwd","type":"c","major":1,"minor":3}]"#,
        "",
    );
    assert!(
        e.contains("linux.devices[0].path") && e.contains("/dev"),
        "{e}"
    );
    let e = err(
        r#""devices":[{"path":"/dev/../etc/x","type":"c","major":1,"minor":3}]"#,
        "",
    );
    assert!(e.contains("linux.devices[0].path"), "{e}");
    let e = err(
        r#""devices":[{"path":"/dev/ok","type":"c","major":1,"minor":3},{"path":"/dev/all","type":"a"}]"#,
        "",
    );
    assert!(e.contains("linux.devices[1].type"), "{e}");
    let e = err(
        r#""devices":[{"path":"/dev/x","type":"c","major":-1,"minor":3}]"#,
        "",
    );
    assert!(e.contains("linux.devices[0]") && e.contains("major"), "{e}");
    let e = err(
        r#""devices":[{"path":"dev/x","type":"c","major":1,"minor":3}]"#,
        "",
    );
    assert!(e.contains("absolute"), "{e}");
}

#[test]
fn bad_paths_sysctls_and_propagation_are_refused() {
    let e = err(r#""maskedPaths":["proc/kcore"]"#, "");
    assert!(e.contains("linux.maskedPaths"), "{e}");
    let e = err(r#""readonlyPaths":["relative"]"#, "");
    assert!(e.contains("linux.readonlyPaths"), "{e}");
    let e = err(r#""sysctl":{"../../etc/passwd":"x"}"#, "");
    assert!(e.contains("linux.sysctl"), "{e}");
    let e = err(r#""rootfsPropagation":"sideways""#, "");
    assert!(
        e.contains("linux.rootfsPropagation") && e.contains("sideways"),
        "{e}"
    );
}
