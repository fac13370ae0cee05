//! Security and devices through the `berth` binary, on real containers:
//! capability sets, no_new_privs and seccomp as /proc/self/status shows them,
//! denied syscalls, device nodes and the device cgroup, user namespaces, LSM
//! labels on a kernel without LSMs, the runtime binary, and bad input. The
//! leaked-fd and host-binary escapes are performed in tests/escapes.rs.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{args, assert_one_line_error, stderr, stdout, Env};
use serde_json::{json, Value};

/// Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
/// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_DEFAULT_MASK: u64 = 0xa80425fb;
const CAP_NET_ADMIN: u64 = 1 << 12;
const CAP_CHOWN: u64 = 1;

/// A bundle whose config.json comes from `berth spec <flags>`, pointed at the
/// shared busybox rootfs (read-only) with a tmpfs on /tmp.
fn spec_bundle(
    env: &Env,
    name: &str,
    flags: &[&str],
    a: &[&str],
    edit: impl FnOnce(&mut Value),
) -> PathBuf {
    let dir = env.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    // These tests are about the docker-run flags, which start from docker's defaults.
    let mut cmd = vec!["spec", "-b", dir.to_str().unwrap(), "--docker-defaults"];
    cmd.extend_from_slice(flags);
    env.ok(&cmd);
    let path = dir.join("config.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    s["root"] = json!({ "path": common::rootfs(), "readonly": true });
    s["process"]["terminal"] = json!(false);
    s["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]
    }));
    args(&mut s, a);
    edit(&mut s);
    std::fs::write(&path, serde_json::to_vec_pretty(&s).unwrap()).unwrap();
    dir
}

fn run_ok(env: &Env, b: &Path, id: &str) -> String {
    let out = env.run(&["run", "-b", b.to_str().unwrap(), id]);
    assert!(
        out.status.success(),
        "run {id} exited {:?}: {}{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Field `key` of a /proc/<pid>/status text.
fn field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

fn mask(status: &str, key: &str) -> u64 {
    u64::from_str_radix(field(status, key), 16).unwrap()
}

fn host_bounding() -> u64 {
    mask(
        &std::fs::read_to_string("/proc/self/status").unwrap(),
        "CapBnd",
    )
}

fn assert_masks(status: &str, want: u64) {
    for k in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(mask(status, k), want, "{k} in\n{status}");
    }
    assert_eq!(
        mask(status, "CapInh"),
        0,
        "inheritable stays empty (CVE-2022-29162)\n{status}"
    );
    assert_eq!(mask(status, "CapAmb"), 0, "{status}");
}

/// Nothing of container `id` is left: no state directory, no cgroup anywhere.
fn assert_nothing_left(env: &Env, id: &str) {
    assert!(!env.root.join(id).exists(), "state dir of {id} left behind");
    // A root that was never made holds nothing (and `list` of it is an error, as runc).
    if env.root.exists() {
        let list = env.ok(&["list", "-q"]);
        assert!(
            !list.lines().any(|l| l.trim() == id),
            "{id} still listed: {list}"
        );
    }
    for d in common::cgroup_dirs(&format!("berth/{id}"))
        .into_iter()
        .chain(common::cgroup_dirs(id))
    {
        assert!(!d.exists(), "cgroup {} left behind", d.display());
    }
}

fn create_fails(env: &Env, b: &Path, id: &str, needle: &str) {
    let out = env.run(&["create", "-b", b.to_str().unwrap(), id]);
    assert_one_line_error(&out, needle);
    assert_nothing_left(env, id);
}

#[test]
fn docker_default_capabilities_no_new_privs_and_seccomp() {
    require_root!();
    let env = Env::new("sec-defaults");
    let b = spec_bundle(&env, "b", &[], &["cat", "/proc/self/status"], |_| {});
    let st = run_ok(&env, &b, "d1");
    assert_masks(&st, DOCKER_DEFAULT_MASK);
    assert_eq!(field(&st, "NoNewPrivs"), "1");
    assert_eq!(field(&st, "Seccomp"), "2", "filter mode");

    // Without no_new_privs the filter goes in before the user change: still mode 2.
    let b = spec_bundle(
        &env,
        "nonnp",
        &["--security-opt", "no-new-privileges=false"],
        &["cat", "/proc/self/status"],
        |s| {
            s["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
        },
    );
    let st = run_ok(&env, &b, "d2");
    assert_eq!(field(&st, "NoNewPrivs"), "0");
    assert_eq!(field(&st, "Seccomp"), "2");
    assert!(field(&st, "Uid").starts_with("1000"));
    // A non-root user keeps its permitted set only through capabilities, not by uid.
    assert_eq!(mask(&st, "CapBnd"), DOCKER_DEFAULT_MASK);
    assert_eq!(mask(&st, "CapInh"), 0);

    // --privileged: every grantable capability, no seccomp, no masked paths.
    let script =
        "cat /proc/self/status; grep -cE ' /proc/(sys|keys|timer_list) ' /proc/self/mounts";
    let b = spec_bundle(
        &env,
        "priv",
        &["--privileged"],
        &["sh", "-c", script],
        |_| {},
    );
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "d3"]);
    let st = stdout(&out);
    assert_masks(&st, host_bounding());
    assert_eq!(field(&st, "Seccomp"), "0");
    assert_eq!(
        st.lines().last(),
        Some("0"),
        "masked or read-only paths under --privileged: {st}"
    );
    // ... while the default config masks and write-protects them.
    let b = spec_bundle(&env, "unpriv", &[], &["sh", "-c", script], |_| {});
    let st = run_ok(&env, &b, "d4");
    assert_eq!(st.lines().last(), Some("3"), "{st}");
}

#[test]
fn cap_add_net_admin_lets_the_container_configure_its_network() {
    require_root!();
    let env = Env::new("sec-netadmin");
    // lo starts up in a new network namespace (as with runc): taking it down is a change.
    let script = "cat /proc/self/status; ip link set lo down && echo LO-UP-OK";
    let b = spec_bundle(
        &env,
        "add",
        &["--cap-add", "net_admin"],
        &["sh", "-c", script],
        |_| {},
    );
    let st = run_ok(&env, &b, "n1");
    assert_masks(&st, DOCKER_DEFAULT_MASK | CAP_NET_ADMIN);
    assert!(st.contains("LO-UP-OK"), "{st}");

    let b = spec_bundle(&env, "plain", &[], &["sh", "-c", script], |_| {});
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "n2"]);
    let st = stdout(&out);
    assert_masks(&st, DOCKER_DEFAULT_MASK);
    assert!(
        !st.contains("LO-UP-OK"),
        "ip link worked without CAP_NET_ADMIN: {st}"
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn cap_add_all_cap_drop_chown() {
    require_root!();
    let env = Env::new("sec-all");
    let script = "cat /proc/self/status; touch /tmp/f; chown 5:5 /tmp/f && echo CHOWN-OK; stat -c 'owner=%u' /tmp/f";
    let b = spec_bundle(
        &env,
        "b",
        &["--cap-add=ALL", "--cap-drop=CAP_chown"],
        &["sh", "-c", script],
        |_| {},
    );
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "a1"]);
    let st = stdout(&out);
    assert_masks(&st, host_bounding() & !CAP_CHOWN);
    assert!(!st.contains("CHOWN-OK"), "{st}");
    assert!(st.contains("owner=0"), "{st}");
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    // --cap-drop=ALL --cap-add=CHOWN: exactly CHOWN.
    let b = spec_bundle(
        &env,
        "c",
        &["--cap-drop=all", "--cap-add", "CHOWN"],
        &["sh", "-c", script],
        |_| {},
    );
    let st = run_ok(&env, &b, "a2");
    assert_masks(&st, CAP_CHOWN);
    assert!(st.contains("CHOWN-OK") && st.contains("owner=5"), "{st}");
}

#[test]
fn seccomp_rule_returns_the_configured_errno() {
    require_root!();
    let env = Env::new("sec-errno");
    let profile = |errno: u32| {
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno }]
        })
    };
    let script = "mkdir /tmp/x; echo rc=$?; touch /tmp/y && echo TOUCH-OK";
    let b = spec_bundle(&env, "enosys", &[], &["sh", "-c", script], |s| {
        s["linux"]["seccomp"] = profile(38)
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "e1"]);
    assert!(
        stdout(&out).contains("rc=1") && stdout(&out).contains("TOUCH-OK"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("Function not implemented"),
        "{}",
        stderr(&out)
    );

    let b = spec_bundle(&env, "eperm", &[], &["sh", "-c", script], |s| {
        s["linux"]["seccomp"] = profile(1)
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "e2"]);
    assert!(stdout(&out).contains("rc=1"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );

    // The same rule from a docker-format profile file through `berth spec --security-opt seccomp=FILE`.
    let file = env.dir.join("docker-profile.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
            "syscalls": [
                { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
                { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ALLOW", "includes": { "caps": ["CAP_SYS_ADMIN"] } }
            ]
        }))
        .unwrap(),
    )
    .unwrap();
    let opt = format!("seccomp={}", file.display());
    let b = spec_bundle(
        &env,
        "file",
        &["--security-opt", &opt],
        &["sh", "-c", script],
        |_| {},
    );
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "e3"]);
    assert!(stdout(&out).contains("rc=1"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );

    // unconfined: no filter at all.
    let b = spec_bundle(
        &env,
        "unc",
        &["--security-opt", "seccomp=unconfined"],
        &["grep", "Seccomp:", "/proc/self/status"],
        |_| {},
    );
    assert_eq!(field(&run_ok(&env, &b, "e4"), "Seccomp"), "0");
}

#[test]
fn seccomp_notify_listener_reaches_the_agent_during_create() {
    require_root!();
    let env = Env::new("sec-notify");
    let sock = env.dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let b = spec_bundle(&env, "b", &[], &["true"], |s| {
        s["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "meta-1",
            "syscalls": [{ "names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
        });
    });
    let agent = receive_listener(listener);
    env.ok(&["create", "-b", b.to_str().unwrap(), "nt"]);
    let (payload, what, _) = agent.join().unwrap();
    let v: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["fds"], json!(["seccompFd"]));
    assert_eq!(v["metadata"], "meta-1");
    assert_eq!(v["state"]["id"], "nt");
    assert_eq!(v["pid"], env.state("nt")["pid"]);
    assert_eq!(what.to_string_lossy(), "anon_inode:seccomp notify");
    env.ok(&["delete", "-f", "nt"]);
}

#[test]
fn device_flag_creates_the_host_node_and_the_cgroup_denies_others() {
    require_root!();
    let host = ["/dev/fuse", "/dev/net/tun", "/dev/kvm"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(host) = host else {
        berth_testkit::skip("no /dev/fuse, /dev/net/tun or /dev/kvm on this host");
        return;
    };
    let rdev = std::fs::metadata(host).unwrap().rdev();
    let (maj, min) = (libc::major(rdev), libc::minor(rdev));
    let env = Env::new("sec-dev");
    let dev = format!("{host}:/dev/mydev");
    let script = "stat -c '%F %t %T' /dev/mydev; mknod /tmp/blk b 254 0; echo mknod=$?; head -c1 /tmp/blk; echo read=$?";
    // (b 254:0 is a virtio disk's number; any block device is outside the allowed list.)
    let b = spec_bundle(&env, "b", &["--device", &dev], &["sh", "-c", script], |s| {
        // A tmpfs that allows device nodes, so only the device cgroup can refuse.
        let mounts = s["mounts"].as_array_mut().unwrap();
        mounts.last_mut().unwrap()["options"] = json!(["nosuid", "mode=1777"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "dv"]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("character special file {maj:x} {min:x}")),
        "{text}\n{}",
        stderr(&out)
    );
    // The host disk's numbers are not allowed: mknod (m) or the read (r) must fail with EPERM.
    assert!(
        !text.contains("read=0"),
        "a disallowed device was readable: {text}"
    );
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );

    // A host disk node bind-mounted in (the mount is allowed, the device is not): open fails.
    if let Some(disk) = ["/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    {
        let b = spec_bundle(
            &env,
            "disk",
            &[],
            &[
                "sh",
                "-c",
                "head -c1 /dev/disk >/dev/null && echo READ-OK; echo done",
            ],
            |s| {
                s["mounts"].as_array_mut().unwrap().push(json!({ "destination": "/dev/disk", "type": "bind", "source": disk, "options": ["bind"] }));
            },
        );
        let out = env.run(&["run", "-b", b.to_str().unwrap(), "dd"]);
        assert!(
            stdout(&out).contains("done") && !stdout(&out).contains("READ-OK"),
            "{}",
            stdout(&out)
        );
        assert!(
            stderr(&out).contains("/dev/disk: Operation not permitted"),
            "{}",
            stderr(&out)
        );
    }

    // --privileged allows every device: the same mknod works.
    let b = spec_bundle(
        &env,
        "p",
        &["--privileged"],
        &["sh", "-c", "mknod /tmp/blk c 1 3 && echo MKNOD-OK"],
        |s| {
            let mounts = s["mounts"].as_array_mut().unwrap();
            mounts.last_mut().unwrap()["options"] = json!(["nosuid", "mode=1777"]);
        },
    );
    assert!(run_ok(&env, &b, "dp").contains("MKNOD-OK"));
}

#[test]
fn user_namespace_maps_ids_and_files_are_owned_accordingly() {
    require_root!();
    if !Path::new("/proc/self/ns/user").exists() {
        berth_testkit::skip("no user namespaces");
        return;
    }
    let env = Env::new("sec-userns");
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/f; chown 1000:1000 /tmp/f; stat -c 'inside=%u:%g' /tmp/f; touch /tmp/ready; sleep 30";
    let b = spec_bundle(&env, "b", &[], &["sh", "-c", script], |s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "user" }));
        // Container root is host root (the shared rootfs is root's); everyone else is shifted.
        let maps = json!([{ "containerID": 0, "hostID": 0, "size": 1 }, { "containerID": 1, "hostID": 100001, "size": 65535 }]);
        s["linux"]["uidMappings"] = maps.clone();
        s["linux"]["gidMappings"] = maps;
    });
    let log = env.dir.join("out.log");
    let out_file = std::fs::File::create(&log).unwrap();
    let mut cmd = env.cmd(&["create", "-b", b.to_str().unwrap(), "u1"]);
    let status = cmd.stdout(out_file).status().unwrap();
    assert!(status.success());
    let pid = env.state("u1")["pid"].as_i64().unwrap();
    env.ok(&["start", "u1"]);
    let root = PathBuf::from(format!("/proc/{pid}/root"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !root.join("tmp/ready").exists() {
        assert!(
            Instant::now() < deadline,
            "container never got ready: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect();
    assert_eq!(rows[0], ["0", "0", "1"], "{text}");
    assert_eq!(rows[1], ["1", "100001", "65535"], "{text}");
    assert_eq!(rows[2], ["0", "0", "1"], "{text}");
    assert_eq!(rows[3], ["1", "100001", "65535"], "{text}");
    assert_eq!(rows[4], ["0"], "{text}");
    assert!(text.contains("inside=1000:1000"), "{text}");
    // The host sees the shifted owner.
    let m = std::fs::metadata(root.join("tmp/f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (101000, 101000));
    let host_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert!(host_map.contains("100001"), "{host_map}");
    env.ok(&["delete", "-f", "u1"]);
}

#[test]
fn lsm_labels_on_a_kernel_without_lsms_apparmor_refused_selinux_ignored() {
    require_root!();
    let env = Env::new("sec-lsm");
    let apparmor = Path::new("/sys/kernel/security/apparmor").exists();
    let selinux = Path::new("/sys/fs/selinux/enforce").exists();
    if !apparmor {
        let b = spec_bundle(
            &env,
            "aa",
            &["--security-opt", "apparmor=berth-default"],
            &["true"],
            |_| {},
        );
        let cfg: Value =
            serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
        assert_eq!(cfg["process"]["apparmorProfile"], "berth-default");
        create_fails(&env, &b, "l1", "process.apparmorProfile");
    }
    if !selinux {
        let b = spec_bundle(
            &env,
            "se",
            &["--security-opt", "label=level:s0:c1,c2"],
            &["true"],
            |_| {},
        );
        let cfg: Value =
            serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
        assert_eq!(
            cfg["process"]["selinuxLabel"],
            "system_u:system_r:container_t:s0:c1,c2"
        );
        // Without SELinux, runc's label handling ignores labels; so does berth.
        run_ok(&env, &b, "l2");
        let b = spec_bundle(&env, "ml", &[], &["true"], |s| {
            s["linux"]["mountLabel"] = json!("system_u:object_r:container_file_t:s0")
        });
        run_ok(&env, &b, "l3");
    }
    if apparmor && selinux {
        berth_testkit::skip(
            "this kernel runs both AppArmor and SELinux; the error path cannot be tested",
        );
    }
}

#[test]
fn runtime_binary_cannot_be_reached_from_the_container() {
    require_root!();
    // CVE-2019-5736: a created container's init is still the berth binary until
    // exec; a process in the container must not be able to open it through /proc/1/exe.
    let env = Env::new("sec-exe");
    let bin = common::berth_bin();
    let before = std::fs::read(&bin).unwrap();
    let b = spec_bundle(&env, "b", &[], &["sleep", "100"], |_| {});
    env.ok(&["create", "-b", b.to_str().unwrap(), "x1"]);
    let pid = env.state("x1")["pid"].as_i64().unwrap();
    let host_exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        host_exe.canonicalize().unwrap(),
        bin.canonicalize().unwrap(),
        "init runs the runtime until start"
    );
    let script = "echo pwn >> /proc/1/exe && echo WRITE-OK; head -c4 /proc/1/exe >/dev/null && echo READ-OK; ls -l /proc/1/exe; echo done";
    let out = env.run(&["exec", "x1", "sh", "-c", script]);
    let text = stdout(&out);
    assert!(text.contains("done"), "{text}{}", stderr(&out));
    assert!(
        !text.contains("WRITE-OK") && !text.contains("READ-OK"),
        "init's exe was reachable: {text}"
    );
    // The exec'd process itself never re-runs berth either: its exe is the container's.
    let out = env.run(&["exec", "x1", "readlink", "/proc/self/exe"]);
    assert!(!stdout(&out).contains("berth"), "{}", stdout(&out));
    env.ok(&["start", "x1"]);
    env.ok(&["delete", "-f", "x1"]);
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        before,
        "the runtime binary changed"
    );
}

#[test]
fn bad_security_input_fails_cleanly() {
    require_root!();
    let env = Env::new("sec-bad");
    // An unknown capability name is not among these: runc warns and ignores it
    // (lifecycle's config_json_is_read_as_runcs_go_decoder_reads_it).
    let b = env.bundle("act", |s| {
        args(s, &["true"]);
        s["linux"]["seccomp"] = json!({ "defaultAction": "SCMP_ACT_BOGUS" });
    });
    create_fails(&env, &b, "bad2", "SCMP_ACT_BOGUS");

    let b = env.bundle("arch", |s| {
        args(s, &["true"]);
        s["linux"]["seccomp"] =
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PPC64"] });
    });
    create_fails(&env, &b, "bad3", "linux.seccomp.architectures");

    let b = env.bundle("overlap", |s| {
        args(s, &["true"]);
        s["linux"]["namespaces"].as_array_mut().unwrap().push(json!({ "type": "user" }));
        s["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 0, "size": 1000 }, { "containerID": 500, "hostID": 200000, "size": 10 }]);
        s["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 0, "size": 1000 }]);
    });
    create_fails(&env, &b, "bad4", "linux.uidMappings");

    let b = env.bundle("exceed", |s| {
        args(s, &["true"]);
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "user" }));
        s["linux"]["uidMappings"] =
            json!([{ "containerID": 0, "hostID": 4294967200u64, "size": 1000 }]);
        s["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 0, "size": 1 }]);
    });
    create_fails(&env, &b, "bad5", "linux.uidMappings");

    // `berth spec` input: nothing is written on error.
    for (flags, needle) in [
        (vec!["--device", "/etc/hostname"], "not a device"),
        (vec!["--device", "/dev/no-such-node"], "/dev/no-such-node"),
        (vec!["--cap-add", "NOT_A_CAP"], "NOT_A_CAP"),
        (
            vec!["--security-opt", "seccomp=/no/such/profile.json"],
            "seccomp=",
        ),
        (vec!["--security-opt", "bogus"], "bogus"),
    ] {
        let dir = env.dir.join("spec-bad");
        std::fs::create_dir_all(&dir).unwrap();
        let mut a = vec!["spec", "-b", dir.to_str().unwrap()];
        a.extend_from_slice(&flags);
        let out = env.run(&a);
        assert_one_line_error(&out, needle);
        assert!(
            !dir.join("config.json").exists(),
            "{flags:?} wrote a config"
        );
    }
    // A docker profile whose archMap lacks this machine's architecture is taken
    // as docker takes it: its rules apply to the native architecture only.
    let file = env.dir.join("ppc.json");
    std::fs::write(
        &file,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_PPC64"}]}"#,
    )
    .unwrap();
    let dir = env.dir.join("spec-ppc");
    std::fs::create_dir_all(&dir).unwrap();
    let opt = format!("seccomp={}", file.display());
    env.ok(&["spec", "-b", dir.to_str().unwrap(), "--security-opt", &opt]);
    let written: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(written["linux"]["seccomp"]["architectures"], json!([]));
}

#[test]
fn cve_2025_52881_sysctl_write_redirected_by_a_mount_is_refused() {
    require_root!();
    // A bind mount over the sysctl's /proc file would send the write to a host file.
    let env = Env::new("sec-sysctl");
    let host = env.dir.join("hostfile");
    std::fs::write(&host, "host-data\n").unwrap();
    let b = spec_bundle(&env, "b", &[], &["true"], |s| {
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/proc/sys/kernel/ns_last_pid", "type": "bind", "source": host, "options": ["bind"]
        }));
        s["linux"]["sysctl"] = json!({ "kernel.ns_last_pid": "12345" });
    });
    create_fails(&env, &b, "sy1", "linux.sysctl");
    assert_eq!(std::fs::read_to_string(&host).unwrap(), "host-data\n");
}

#[test]
fn cve_2025_31133_dev_null_symlink_cannot_unmask_or_redirect() {
    require_root!();
    // The image's /dev/null points at a host-writable procfs file; masking binds /dev/null.
    let env = Env::new("sec-devnull");
    let rootfs = common::private_rootfs(&env);
    // /dev is a bind mount of a host directory, so berth makes no device nodes
    // of its own there and the masking code meets the planted symlink itself.
    let devdir = env.dir.join("dev");
    std::fs::create_dir_all(&devdir).unwrap();
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", devdir.join("null")).unwrap();
    let before = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let masked: Vec<&str> = [
        "/proc/timer_list",
        "/proc/keys",
        "/proc/kcore",
        "/proc/sched_debug",
    ]
    .into_iter()
    .filter(|p| Path::new(p).exists())
    .collect();
    assert!(!masked.is_empty());
    let script = format!(
        "stat -c '%F %t %T' /dev/null {}; echo pwn > /dev/null; echo done",
        masked.join(" ")
    );
    let b = spec_bundle(&env, "b", &[], &["sh", "-c", &script], |s| {
        s["root"] = json!({ "path": rootfs, "readonly": false });
        let m = s["mounts"].as_array_mut().unwrap();
        m.retain(|m| m["destination"] != "/dev");
        m.insert(1, json!({ "destination": "/dev", "type": "bind", "source": devdir, "options": ["rbind"] }));
        s["linux"]["maskedPaths"] = json!(masked);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "dn"]);
    let text = stdout(&out);
    if out.status.success() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines[..masked.len() + 1].iter().enumerate() {
            assert_eq!(*l, "character special file 1 3", "entry {i}: {text}");
        }
        assert!(text.contains("done"), "{text}");
    } else {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    }
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before,
        "host core_pattern changed"
    );
}

#[test]
fn cve_2021_30465_symlinked_mount_destination_stays_inside_the_rootfs() {
    require_root!();
    // CVE-2021-30465 / CVE-2019-16884 / CVE-2023-27561: a mount destination that
    // is a symlink to a host path (swapped in by a race, or planted in the image).
    let env = Env::new("sec-symlink");
    let rootfs = common::private_rootfs(&env);
    let host_dir = env.dir.join("host-target");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::os::unix::fs::symlink(&host_dir, rootfs.join("evil")).unwrap();
    let b = spec_bundle(
        &env,
        "b",
        &[],
        &["sh", "-c", "touch /evil/planted && echo WROTE"],
        |s| {
            s["root"] = json!({ "path": rootfs, "readonly": false });
            let m = s["mounts"].as_array_mut().unwrap();
            m.push(json!({ "destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] }));
        },
    );
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "sl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("WROTE"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_dir(&host_dir).unwrap().count(),
        0,
        "the host directory received the mount or a file"
    );
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(host_dir.to_str().unwrap()),
        "host mount table mentions {}",
        host_dir.display()
    );
}

#[test]
fn cve_2025_52565_dev_console_symlink_cannot_redirect_the_console_mount() {
    require_root!();
    // The image's /dev/console points at a host file; a terminal container
    // bind-mounts its pty over /dev/console. That mount must never land on the host.
    let env = Env::new("sec-console");
    let rootfs = common::private_rootfs(&env);
    let host_target = env.dir.join("host-file");
    std::fs::write(&host_target, "host data").unwrap();
    // The symlink must resolve after pivot_root too (to a file of the image),
    // or a runtime that follows it fails with ENOENT and looks like a refusal.
    std::fs::write(rootfs.join("etc/target"), "image data").unwrap();
    std::os::unix::fs::symlink("/etc/target", rootfs.join("dev/console")).unwrap();
    let socket = env.dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    // Accept (and hold) a pty master if create gets that far.
    let acceptor = std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok((s, _)) = listener.accept() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    let b = spec_bundle(
        &env,
        "b",
        &[],
        &["sh", "-c", "stat -c '%F' /dev/console"],
        |s| {
            s["root"] = json!({ "path": rootfs, "readonly": false });
            s["process"]["terminal"] = json!(true);
            // /dev comes from the image, so its planted /dev/console is what the runtime meets.
            s["mounts"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["destination"] != "/dev");
        },
    );
    let out = env.run(&[
        "create",
        "--console-socket",
        socket.to_str().unwrap(),
        "-b",
        b.to_str().unwrap(),
        "cons",
    ]);
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_mounts.contains(host_target.to_str().unwrap()),
        "the pty was mounted over a host file"
    );
    assert_eq!(std::fs::read_to_string(&host_target).unwrap(), "host data");
    if out.status.success() {
        // Accepted only if the console landed inside the container, on a real device node.
        let pid = env.state("cons")["pid"].as_i64().unwrap();
        let console = std::fs::symlink_metadata(format!("/proc/{pid}/root/dev/console")).unwrap();
        assert!(
            !console.file_type().is_symlink(),
            "/dev/console is still the planted symlink"
        );
        env.ok(&["delete", "-f", "cons"]);
    } else {
        assert_one_line_error(&out, "console");
        // Refused because the target is a symlink, not because it was missing.
        assert!(stderr(&out).contains("ELOOP"), "{}", stderr(&out));
        assert_nothing_left(&env, "cons");
        eprintln!("refused: {}", stderr(&out).trim());
        return; // the acceptor thread ends on its own deadline
    }
    drop(acceptor.join());
}

/// A seccomp agent: accepts one connection on `listener` and returns the
/// payload, what the received fd is, and the listener for a next round.
fn receive_listener(
    listener: std::os::unix::net::UnixListener,
) -> std::thread::JoinHandle<(String, PathBuf, std::os::unix::net::UnixListener)> {
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        let conn = loop {
            match listener.accept() {
                Ok((c, _)) => break c,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("no seccomp listener reached the agent: {e}"),
            }
        };
        conn.set_nonblocking(false).unwrap();
        let mut buf = vec![0u8; 65536];
        let mut cbuf = [0u8; 64];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr points at our buffers, which outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = cbuf.len();
        // SAFETY: as above.
        let n = unsafe { libc::recvmsg(conn.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(n > 0);
        // SAFETY: the kernel filled the control buffer; the first cmsg carries one fd.
        let fd = unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            assert!(!c.is_null());
            assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
            *(libc::CMSG_DATA(c) as *const i32)
        };
        let what = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        // SAFETY: we own the received fd.
        unsafe { libc::close(fd) };
        (
            String::from_utf8_lossy(&buf[..n as usize]).into_owned(),
            what,
            listener,
        )
    })
}

#[test]
fn seccomp_notify_listener_of_an_exec_process_reaches_the_agent() {
    require_root!();
    let env = Env::new("sec-notify-exec");
    let sock = env.dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let b = spec_bundle(&env, "b", &[], &["sleep", "30"], |s| {
        s["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": sock,
            "listenerMetadata": "meta-exec",
            "syscalls": [{ "names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
        });
    });
    let agent = receive_listener(listener);
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "ne"]);
    let (_, _, listener) = agent.join().unwrap();
    // The exec'd process installs the container's profile too: its listener reaches the agent.
    let agent = receive_listener(listener);
    env.ok(&["exec", "-d", "ne", "true"]);
    let (payload, what, _) = agent.join().unwrap();
    let v: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(v["metadata"], "meta-exec");
    assert_eq!(v["state"]["id"], "ne");
    assert_ne!(
        v["pid"],
        env.state("ne")["pid"],
        "the exec process's pid, not init's"
    );
    assert_eq!(what.to_string_lossy(), "anon_inode:seccomp notify");
    env.ok(&["delete", "-f", "ne"]);
}

#[test]
fn a_listed_device_denied_by_the_rules_is_made_but_unusable() {
    require_root!();
    // As runc: nodes are made before the device rules apply, so a node the
    // rules deny exists in the container and opening it is refused.
    let env = Env::new("sec-devorder");
    let meta = std::fs::metadata("/dev/net/tun").expect("/dev/net/tun on this machine type");
    let rdev = std::os::unix::fs::MetadataExt::rdev(&meta);
    let b = env.bundle("b", |s| {
        common::args(
            s,
            &[
                "sh",
                "-c",
                "ls -l /dev/net/tun; cat /dev/net/tun; echo rc=$?",
            ],
        );
        s["linux"]["devices"] = json!([{
            "path": "/dev/net/tun", "type": "c",
            "major": libc::major(rdev), "minor": libc::minor(rdev), "fileMode": 0o666
        }]);
        // The default rules: deny everything but the default nodes.
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "dv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("crw-rw-rw-"),
        "the node was not made: {text}"
    );
    assert!(
        text.contains("rc=1"),
        "the node was usable: {text}{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_proc_that_is_a_symlink_in_the_image_is_refused() {
    require_root!();
    // procfs mounted where the image's /proc points would escape the masked
    // and read-only paths set up under /proc (runc refuses the same way).
    let env = Env::new("sec-procsym");
    let rootfs = common::private_rootfs(&env);
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::fs::create_dir_all(rootfs.join("tmp/fakeproc")).unwrap();
    std::os::unix::fs::symlink("/tmp/fakeproc", rootfs.join("proc")).unwrap();
    let b = env.bundle("b", |s| {
        common::args(s, &["true"]);
        s["root"] = json!({ "path": rootfs, "readonly": false });
        s["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["destination"] != "/tmp");
    });
    create_fails(&env, &b, "ps1", "must be mounted on ordinary directory");
    assert_eq!(
        std::fs::read_dir(rootfs.join("tmp/fakeproc"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn a_syscall_newer_than_the_profile_knows_gets_enosys() {
    require_root!();
    // Under docker's profile (default: EPERM), a syscall number beyond every
    // syscall berth knows answers ENOSYS, so programs fall back as with runc.
    let env = Env::new("sec-enosys");
    let rootfs = common::private_rootfs(&env);
    std::fs::copy(common::build_attacker(&env.dir), rootfs.join("escape")).unwrap();
    let b = spec_bundle(&env, "b", &[], &["/escape", "syscall", "1000"], |s| {
        s["root"] = json!({ "path": rootfs, "readonly": false });
    });
    let out = run_ok(&env, &b, "ns1");
    assert_eq!(
        out.trim(),
        format!("result=-1 errno={}", libc::ENOSYS),
        "{out}"
    );
    // A known syscall the profile denies keeps the profile's errno.
    let b = spec_bundle(
        &env,
        "b2",
        &[],
        &["/escape", "syscall", &libc::SYS_kexec_load.to_string()],
        |s| {
            s["root"] = json!({ "path": rootfs, "readonly": false });
        },
    );
    let out = run_ok(&env, &b, "ns2");
    assert_eq!(
        out.trim(),
        format!("result=-1 errno={}", libc::EPERM),
        "{out}"
    );
}

#[test]
fn a_user_namespace_without_a_cgroup_namespace_cannot_change_host_cgroups() {
    require_root!();
    // Without a cgroup namespace the container's /sys/fs/cgroup is a bind of its own
    // cgroup (cgroup2 cannot be mounted from inside a user namespace). The container
    // tries to make a cgroup in every hierarchy it sees, with `ro` and without it.
    let env = Env::new("sec-userns-cg");
    // (On hybrid hosts /sys/fs/cgroup itself is the container's own tmpfs: not a cgroup.)
    let script = "for d in /sys/fs/cgroup /sys/fs/cgroup/*/; do \
                  [ -e \"$d/cgroup.procs\" ] || continue; \
                  mkdir \"$d/berth-probe\" 2>/dev/null && echo \"MADE $d\"; done; \
                  grep ' /sys/fs/cgroup' /proc/self/mountinfo";
    for (id, ro) in [("ucg-ro", true), ("ucg-rw", false)] {
        let b = spec_bundle(&env, id, &[], &["sh", "-c", script], |s| {
            let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
            ns.retain(|n| n["type"] != "cgroup");
            ns.push(json!({ "type": "user" }));
            let map = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
            s["linux"]["uidMappings"] = map.clone();
            s["linux"]["gidMappings"] = map;
            let mut options = vec!["nosuid", "noexec", "nodev", "relatime"];
            if ro {
                options.push("ro");
            }
            let mounts = s["mounts"].as_array_mut().unwrap();
            mounts.retain(|m| m["destination"] != "/sys/fs/cgroup");
            mounts.push(json!({ "destination": "/sys/fs/cgroup", "type": "cgroup",
                                "source": "cgroup", "options": options }));
        });
        let text = run_ok(&env, &b, id);
        assert!(!text.contains("MADE"), "{id}: {text}");
        for d in common::cgroups::Cgroup::container(id).all_dirs() {
            assert!(
                !d.join("berth-probe").exists(),
                "{id}: made {}",
                d.display()
            );
        }
        let cgroup_mounts: Vec<&str> = text.lines().filter(|l| l.contains(" - cgroup")).collect();
        assert!(!cgroup_mounts.is_empty(), "{id}: no cgroup mount: {text}");
        if ro {
            for l in cgroup_mounts {
                let opts = l.split(' ').nth(5).unwrap();
                assert!(
                    opts.split(',').any(|o| o == "ro"),
                    "{id}: not read-only: {l}"
                );
            }
        }
    }
}
#[test]
fn an_ambient_capability_not_in_inheritable_is_warned_about_and_left_out() {
    require_root!();
    // As runc: the container runs with the ambient capabilities it can have.
    let env = Env::new("sec-ambient");
    let b = env.bundle("b", |s| {
        args(s, &["grep", "CapAmb", "/proc/self/status"]);
        let caps = &mut s["process"]["capabilities"];
        caps["bounding"] = json!(["CAP_KILL", "CAP_CHOWN"]);
        caps["permitted"] = json!(["CAP_KILL", "CAP_CHOWN"]);
        caps["effective"] = json!(["CAP_KILL", "CAP_CHOWN"]);
        caps["inheritable"] = json!(["CAP_KILL"]);
        caps["ambient"] = json!(["CAP_KILL", "CAP_CHOWN"]);
        s["process"]["noNewPrivileges"] = json!(false);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "amb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // CAP_KILL is bit 5.
    assert_eq!(mask(&stdout(&out), "CapAmb"), 0x20, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("level=warning") && err.contains("can't raise ambient capability CAP_CHOWN: "),
        "{err}"
    );
}

#[test]
fn seccomp_flags_are_runcs_and_logged_in_its_words() {
    require_root!();
    let env = Env::new("sec-flags");
    let cases = [
        (None, 4),                                       // none given: SPEC_ALLOW
        (Some(json!([])), 0),                            // explicitly none
        (Some(json!(["SECCOMP_FILTER_FLAG_TSYNC"])), 0), // one thread: left out
        (Some(json!(["SECCOMP_FILTER_FLAG_LOG"])), 2),
    ];
    for (i, (flags, want)) in cases.into_iter().enumerate() {
        let b = env.bundle(&format!("b{i}"), |s| {
            args(s, &["sh", "-c", "mkdir /tmp/x"]);
            s["linux"]["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" }] });
            if let Some(f) = flags {
                s["linux"]["seccomp"]["flags"] = f;
            }
        });
        let out = env.run(&[
            "--debug",
            "run",
            "-b",
            b.to_str().unwrap(),
            &format!("f{i}"),
        ]);
        assert_ne!(out.status.code(), Some(0));
        let err = stderr(&out);
        assert!(err.contains("Operation not permitted"), "{err}");
        assert!(
            err.contains(&format!("msg=\"seccomp filter flags: {want}\"")),
            "case {i}: {err}"
        );
    }
}

#[test]
fn seccomp_notify_refusals_say_what_is_wrong() {
    require_root!();
    let env = Env::new("sec-notify-bad");
    let sock = env.dir.join("no-agent.sock");
    for (i, (names, needle)) in [
        (
            json!(["write"]),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (json!(["mkdir"]), "failed to connect with seccomp agent"),
    ]
    .into_iter()
    .enumerate()
    {
        let b = env.bundle(&format!("b{i}"), |s| {
            args(s, &["true"]);
            s["linux"]["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
                "syscalls": [{ "names": names, "action": "SCMP_ACT_NOTIFY" }] });
        });
        let id = format!("n{i}");
        let out = env.run(&["run", "-b", b.to_str().unwrap(), &id]);
        assert_one_line_error(&out, needle);
        assert!(!env.root.join(&id).exists(), "{id}: state left behind");
    }
}

#[test]
fn seccomp_wait_killable_recv_with_a_notify_rule_reaches_the_kernel() {
    require_root!();
    let env = Env::new("sec-waitkill");
    let sock = env.dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let b = env.bundle("b", |s| {
        args(s, &["sleep", "1000"]);
        s["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "listenerPath": sock,
            "syscalls": [{ "names": ["mkdirat"], "action": "SCMP_ACT_NOTIFY" }]
        });
    });
    let agent = receive_listener(listener);
    let out = env.run(&["--debug", "run", "-d", "-b", b.to_str().unwrap(), "wk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, what, _) = agent.join().unwrap();
    assert_eq!(what.to_string_lossy(), "anon_inode:seccomp notify");
    // WAIT_KILLABLE_RECV (32) with NEW_LISTENER (8); no SPEC_ALLOW, as flags were given.
    let err = stderr(&out);
    assert!(err.contains("msg=\"seccomp filter flags: 40\""), "{err}");
    // The kernel took the filter with that flag (it refuses flags it does not
    // know with EINVAL): init runs under exactly one filter.
    let pid = env.state("wk")["pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(field(&status, "Seccomp"), "2", "{status}");
    assert_eq!(field(&status, "Seccomp_filters"), "1", "{status}");
    env.ok(&["delete", "-f", "wk"]);
}

/// Builds tests/programs/i386_probe.s, a static i386 program that makes its
/// calls with `int $0x80`, into `dir`, with binutils alone (no 32-bit libc).
/// None when this kernel cannot run i386 programs (no IA32 emulation).
fn build_i386_probe(dir: &Path) -> Option<PathBuf> {
    let src = common::repo().join("tests/programs/i386_probe.s");
    let obj = dir.join("i386_probe.o");
    let out = dir.join("i386_probe");
    for (tool, a) in [
        ("as", vec!["--32", "-o", obj.to_str()?, src.to_str()?]),
        (
            "ld",
            vec![
                "-m",
                "elf_i386",
                "-static",
                "-o",
                out.to_str()?,
                obj.to_str()?,
            ],
        ),
    ] {
        let st = std::process::Command::new(tool)
            .args(&a)
            .status()
            .unwrap_or_else(|e| panic!("{tool}: {e} (binutils; scripts/deps.sh installs it)"));
        assert!(st.success(), "{tool} {a:?} failed");
    }
    match std::process::Command::new(&out).output() {
        Ok(o) if stdout(&o).contains("i386 write ok") => Some(out),
        Ok(o) => panic!("the i386 probe failed outside any container: {o:?}"),
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => None,
        Err(e) => panic!("running the i386 probe: {e}"),
    }
}

/// An i386 program under a profile that lists SCMP_ARCH_X86 (docker's default
/// does) gets the profile's answers, with i386's numbers: calls it allows work,
/// calls it denies fail with its errno. A profile without SCMP_ARCH_X86 kills
/// it at its first call, as libseccomp's filters (runc's) do.
#[test]
fn i386_programs_are_filtered_by_the_profile() {
    require_root!();
    let env = Env::new("sec-i386");
    let bin = env.dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if build_i386_probe(&bin).is_none() {
        berth_testkit::skip("this kernel cannot run i386 programs (no IA32 emulation)");
        return;
    }
    let probe_bundle = |name: &str, seccomp: Option<Value>| {
        spec_bundle(&env, name, &[], &["/probe/i386_probe"], |s| {
            s["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/probe", "type": "bind", "source": bin, "options": ["rbind", "ro"]
            }));
            if let Some(p) = seccomp {
                s["linux"]["seccomp"] = p;
            }
        })
    };
    let run = |b: &Path, id: &str| {
        let out = env.run(&["run", "-b", b.to_str().unwrap(), id]);
        (out.status.code(), stdout(&out), stderr(&out))
    };

    // (a) docker's default profile, as `berth spec --docker-defaults` writes it:
    // write, getpid and mkdir are allowed; unshare is not (EPERM), though the
    // kernel grants unshare(0) to anyone.
    let b = probe_bundle("docker", None);
    let written: Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert!(
        written["linux"]["seccomp"]["architectures"]
            .as_array()
            .unwrap()
            .contains(&json!("SCMP_ARCH_X86")),
        "{}",
        written["linux"]["seccomp"]
    );
    let (code, out, err) = run(&b, "i386-docker");
    assert_eq!(
        out, "i386 write ok\ngetpid=1\nmkdir=0\nunshare=1\n",
        "exit {code:?}, stderr {err}"
    );
    assert_eq!(code, Some(0), "{err}");

    // (b) a profile of its own: allow by default, mkdir fails with errno 42.
    let own = |arches: Value| {
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": arches,
            "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42 }]
        })
    };
    let b = probe_bundle(
        "own",
        Some(own(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]))),
    );
    let (code, out, err) = run(&b, "i386-own");
    assert_eq!(
        out, "i386 write ok\ngetpid=1\nmkdir=42\nunshare=0\n",
        "exit {code:?}, stderr {err}"
    );
    assert_eq!(code, Some(0), "{err}");

    // (c) the same profile without SCMP_ARCH_X86: killed (SIGSYS) at the first
    // call, before it printed anything.
    let b = probe_bundle("native", Some(own(json!(["SCMP_ARCH_X86_64"]))));
    let (code, out, err) = run(&b, "i386-native");
    assert_eq!(out, "", "{err}");
    assert_eq!(code, Some(128 + libc::SIGSYS), "{err}");
}
