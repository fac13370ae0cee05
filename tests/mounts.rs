//! Mount behaviour as the kernel shows it inside real containers: id-mapped
//! mounts, bind sources only the caller can reach, mount paths read as runc
//! reads them. Run as root.

mod common;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{args, stderr, stdout, Env};
use serde_json::{json, Value};

/// A directory under the test's dir with one file `f` owned by `uid:gid`.
fn source_dir(env: &Env, name: &str, uid: u32, gid: u32) -> PathBuf {
    let d = env.dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("f"), b"x").unwrap();
    chown(d.join("f"), Some(uid), Some(gid)).unwrap();
    d
}

fn with_userns(s: &mut Value) {
    s["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "user" }));
    s["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    s["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
}

fn add_mount(s: &mut Value, m: Value) {
    s["mounts"].as_array_mut().unwrap().push(m);
}

fn run_ok(env: &Env, bundle: &Path, id: &str) -> String {
    let out = env.run(&["run", "--bundle", bundle.to_str().unwrap(), id]);
    assert!(
        out.status.success(),
        "run {id} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn idmapped_mounts(s: &mut Value, src: &Path, extra: &[(&str, Value)]) {
    add_mount(
        s,
        json!({
            "source": src, "destination": "/tmp/own", "options": ["bind"],
            "uidMappings": [{ "containerID": 100, "hostID": 1000, "size": 1 }],
            "gidMappings": [{ "containerID": 211, "hostID": 2000, "size": 1 }]
        }),
    );
    for (dest, opts) in extra {
        add_mount(
            s,
            json!({ "source": src, "destination": dest, "options": opts }),
        );
    }
}

#[test]
fn idmapped_bind_mount_maps_owners_without_a_user_namespace() {
    require_root!();
    let env = Env::new("idmap-nouserns");
    let src = source_dir(&env, "src", 100, 211);
    let b = env.bundle("b", |s| {
        idmapped_mounts(s, &src, &[("/tmp/plain", json!(["bind"]))]);
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %u:%g /tmp/own/f /tmp/plain/f; grep ' /tmp/own ' /proc/self/mountinfo",
            ],
        );
    });
    let out = run_ok(&env, &b, "idmap-nouserns");
    let lines: Vec<&str> = out.lines().collect();
    // On disk 100:211; the mapping shows it as 1000:2000, the plain bind as it is.
    assert_eq!(lines[0], "1000:2000", "{out}");
    assert_eq!(lines[1], "100:211", "{out}");
    assert!(lines[2].contains("idmapped"), "{out}");
}

#[test]
fn idmapped_bind_mount_in_a_user_namespace_and_implied_mapping() {
    require_root!();
    let env = Env::new("idmap-userns");
    let src = source_dir(&env, "src", 100, 211);
    let b = env.bundle("b", |s| {
        with_userns(s);
        // Own mapping 100->101000 is container uid 1000; `idmap` alone borrows
        // the container's mapping, so disk ids read unchanged inside.
        add_mount(
            s,
            json!({
                "source": src, "destination": "/tmp/own", "options": ["bind"],
                "uidMappings": [{ "containerID": 100, "hostID": 101000, "size": 1 }],
                "gidMappings": [{ "containerID": 211, "hostID": 102000, "size": 1 }]
            }),
        );
        add_mount(
            s,
            json!({ "source": src, "destination": "/tmp/implied", "options": ["rbind", "idmap"] }),
        );
        add_mount(
            s,
            json!({ "source": src, "destination": "/tmp/plain", "options": ["bind"] }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %u:%g /tmp/own/f /tmp/implied/f /tmp/plain/f",
            ],
        );
    });
    let out = run_ok(&env, &b, "idmap-userns");
    let overflow = std::fs::read_to_string("/proc/sys/kernel/overflowuid").unwrap();
    let overflow = overflow.trim();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000:2000", "{out}");
    assert_eq!(lines[1], "100:211", "{out}");
    assert_eq!(lines[2], format!("{overflow}:{overflow}"), "{out}");
}

#[test]
fn ridmap_maps_every_mount_of_the_tree_and_idmap_only_the_top() {
    require_root!();
    let env = Env::new("ridmap");
    let top = source_dir(&env, "top", 100, 211);
    let sub = source_dir(&env, "sub", 100, 211);
    std::fs::create_dir_all(top.join("child")).unwrap();
    // A mount below the source, so rbind copies a tree of two mounts.
    let st = std::process::Command::new("mount")
        .arg("--bind")
        .arg(&sub)
        .arg(top.join("child"))
        .status()
        .unwrap();
    assert!(st.success());
    let _guard = Unmount(top.join("child"));
    let map = |opt: &str, dest: &str| {
        json!({
            "source": top, "destination": dest, "options": ["rbind", opt],
            "uidMappings": [{ "containerID": 100, "hostID": 1000, "size": 1 }],
            "gidMappings": [{ "containerID": 211, "hostID": 2000, "size": 1 }]
        })
    };
    let b = env.bundle("b", |s| {
        add_mount(s, map("idmap", "/tmp/i"));
        add_mount(s, map("ridmap", "/tmp/r"));
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %u:%g /tmp/i/f /tmp/i/child/f /tmp/r/f /tmp/r/child/f",
            ],
        );
    });
    let out = run_ok(&env, &b, "ridmap");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        ["1000:2000", "100:211", "1000:2000", "1000:2000"],
        "{out}"
    );
}

#[test]
fn bad_id_mapped_mounts_are_refused_before_anything_is_made() {
    require_root!();
    let env = Env::new("idmap-bad");
    let src = source_dir(&env, "src", 0, 0);
    let cases: Vec<(&str, Value, bool, &str)> = vec![
        (
            "only-uid",
            json!({ "source": src, "destination": "/m", "options": ["bind"],
                    "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }] }),
            false,
            "needs both uidMappings and gidMappings",
        ),
        (
            "tmpfs",
            json!({ "source": "tmpfs", "destination": "/m", "type": "tmpfs",
                    "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }],
                    "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }] }),
            false,
            "only supported for bind mounts",
        ),
        (
            "size0",
            json!({ "source": src, "destination": "/m", "options": ["bind"],
                    "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 0 }],
                    "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }] }),
            false,
            r#"mounts[7].uidMappings[0].size "0": must not be 0"#,
        ),
        (
            "implied-no-userns",
            json!({ "source": src, "destination": "/m", "options": ["bind", "idmap"] }),
            false,
            "needs a user namespace",
        ),
        (
            "overlapping",
            json!({ "source": src, "destination": "/m", "options": ["bind"],
                    "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 10 },
                                    { "containerID": 5, "hostID": 3000, "size": 10 }],
                    "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }] }),
            true,
            "uidMappings",
        ),
    ];
    for (id, m, at_start, want) in cases {
        let b = env.bundle(id, |s| add_mount(s, m));
        let out = env.run(&["create", "--bundle", b.to_str().unwrap(), id]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{id}: accepted");
        assert!(err.contains(want), "{id}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{id}: {err}");
        assert!(!err.contains("panicked"), "{id}: {err}");
        // Nothing left behind: no state dir for the id.
        assert!(
            !env.root.join(id).exists(),
            "{id}: state left (at start: {at_start})"
        );
    }
}

#[test]
fn bind_source_only_the_caller_can_reach_mounts_in_a_user_namespace() {
    require_root!();
    let env = Env::new("inaccessible-src");
    let src = source_dir(&env, "private/src", 0, 0);
    // The container's root is host uid 100000: it cannot walk into 0700 `private`.
    std::fs::set_permissions(
        env.dir.join("private"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    let b = env.bundle("b", |s| {
        with_userns(s);
        add_mount(
            s,
            json!({ "source": src, "destination": "/tmp/p", "options": ["bind"] }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "cat /tmp/p/f; grep -c ' /tmp/p ' /proc/self/mountinfo",
            ],
        );
    });
    let out = run_ok(&env, &b, "inaccessible-src");
    assert_eq!(out, "x1\n");
}

#[test]
fn relative_bind_source_and_destination_are_read_as_runc_reads_them() {
    require_root!();
    let env = Env::new("relative-paths");
    source_dir(&env, "b/rel-src", 0, 0);
    let b = env.bundle("b", |s| {
        // The source is relative to the bundle, the destination to the container's /.
        add_mount(
            s,
            json!({ "source": "rel-src", "destination": "tmp/rel", "options": ["bind"] }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "cat /tmp/rel/f; grep -c ' /tmp/rel ' /proc/self/mountinfo",
            ],
        );
    });
    let out = run_ok(&env, &b, "relative-paths");
    assert_eq!(out, "x1\n");
}

/// A mount the test made on the host, lazily unmounted on drop.
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A tmpfs at `dir` whose per-mount flags are `flags` (set by a bind remount,
/// so they are not superblock flags).
fn flagged_tmpfs(dir: PathBuf, flags: &str) -> Unmount {
    std::fs::create_dir_all(&dir).unwrap();
    let sh = |a: &[&str]| {
        let st = std::process::Command::new("mount")
            .args(a)
            .arg(&dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount {a:?}");
    };
    sh(&["-t", "tmpfs", "-o", "rw,suid,dev,exec,strictatime", "tmpfs"]);
    let guard = Unmount(dir.clone());
    sh(&["--bind", "-o", &format!("remount,{flags}")]);
    guard
}

/// The per-mount options of /tmp/m as the container sees them.
fn bind_flags_seen(
    env: &Env,
    id: &str,
    src: &Path,
    opts: &[&str],
    userns: bool,
) -> Result<Vec<String>, String> {
    let b = env.bundle(id, |s| {
        if userns {
            with_userns(s);
        }
        add_mount(
            s,
            json!({ "source": src, "destination": "/tmp/m", "type": "bind", "options": opts }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "awk '$5 == \"/tmp/m\" { print $6 }' /proc/self/mountinfo",
            ],
        );
    });
    let out = env.run(&["run", "--bundle", b.to_str().unwrap(), id]);
    if !out.status.success() {
        return Err(stderr(&out));
    }
    Ok(stdout(&out).trim().split(',').map(String::from).collect())
}

#[test]
fn bind_flags_are_kept_or_made_exact_as_runc_and_mount8_do() {
    require_root!();
    let env = Env::new("bind-flags");
    let src = env.dir.join("flagged");
    let _t = flagged_tmpfs(src.clone(), "ro,noexec,nosymfollow,nodiratime");
    let has = |f: &Vec<String>, x: &str| f.iter().any(|o| o == x);

    // Only `bind`: every flag of the source stays.
    let f = bind_flags_seen(&env, "bf1", &src, &["bind"], false).unwrap();
    for x in ["ro", "noexec", "nosymfollow", "nodiratime"] {
        assert!(has(&f, x), "{x} missing: {f:?}");
    }
    // A flag option: the others become exactly what was asked; atime stays.
    let f = bind_flags_seen(&env, "bf2", &src, &["bind", "dev"], false).unwrap();
    assert!(
        has(&f, "rw") && !has(&f, "noexec") && !has(&f, "nosymfollow"),
        "{f:?}"
    );
    assert!(has(&f, "nodiratime"), "{f:?}");
    // In a user namespace the locked flags stay; nosymfollow is not locked.
    let f = bind_flags_seen(&env, "bf3", &src, &["bind", "dev"], true).unwrap();
    assert!(
        has(&f, "ro") && has(&f, "noexec") && has(&f, "nodiratime"),
        "{f:?}"
    );
    assert!(!has(&f, "nosymfollow"), "{f:?}");
    // An atime mode replaces the atime settings.
    let f = bind_flags_seen(&env, "bf4", &src, &["bind", "noatime"], false).unwrap();
    assert!(has(&f, "noatime") && !has(&f, "nodiratime"), "{f:?}");
    // Clearing a locked flag by name is refused by the kernel: one line, EPERM.
    let err = bind_flags_seen(&env, "bf5", &src, &["bind", "rw"], true).unwrap_err();
    assert!(err.contains("/tmp/m") && err.contains("EPERM"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!env.root.join("bf5").exists());
}

#[test]
fn masked_directories_share_one_read_only_tmpfs_and_duplicates_mount_once() {
    require_root!();
    let env = Env::new("masked-share");
    let b = env.bundle("b", |s| {
        let masked = s["linux"]["maskedPaths"].as_array_mut().unwrap();
        for p in ["/mnt", "/home", "/mnt/", "/etc/hostname", "/etc/hostname"] {
            masked.push(json!(p));
        }
        s["root"]["readonly"] = json!(false);
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %d /mnt /home; grep -c ' /mnt ' /proc/self/mountinfo; \
                 grep -c ' /etc/hostname ' /proc/self/mountinfo; \
                 touch /home/x 2>&1; cat /etc/hostname | wc -c",
            ],
        );
    });
    let out = run_ok(&env, &b, "masked-share");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], lines[1], "one tmpfs for both: {out}");
    assert_eq!(lines[2], "1", "{out}");
    assert_eq!(lines[3], "1", "{out}");
    assert!(lines[4].contains("Read-only file system"), "{out}");
    assert_eq!(lines[5].trim(), "0", "{out}");
}

#[test]
fn tmpfs_without_mode_takes_the_mode_of_the_directory_it_covers() {
    require_root!();
    let env = Env::new("tmpfs-mode");
    let image_mode = std::fs::metadata(common::rootfs().join("root"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    let tmpfs = |dest: &str, opts: &[&str]| json!({ "source": "tmpfs", "destination": dest, "type": "tmpfs", "options": opts });
    let b = env.bundle("b", |s| {
        add_mount(s, tmpfs("/root", &["nodev", "nosuid"]));
        add_mount(s, tmpfs("/home", &["nodev", "mode=1500"]));
        add_mount(s, tmpfs("/tmp/new/dir", &["nodev"]));
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %a /root /home /tmp/new/dir; grep -c ' /root .*mode=' /proc/self/mountinfo",
            ],
        );
    });
    let out = run_ok(&env, &b, "tmpfs-mode");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("{image_mode:o}"), "{out}");
    assert_eq!(lines[1], "1500", "{out}");
    // A destination berth made keeps the tmpfs default.
    assert_eq!(lines[2], "1777", "{out}");
    assert_eq!(lines[3], "1", "{out}");
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_it_covers() {
    require_root!();
    let env = Env::new("tmpcopyup");
    let host = common::rootfs().join("etc/passwd");
    let meta = std::fs::metadata(&host).unwrap();
    let want = format!(
        "{:o}:{}:{}",
        meta.permissions().mode() & 0o7777,
        std::os::unix::fs::MetadataExt::uid(&meta),
        std::os::unix::fs::MetadataExt::gid(&meta)
    );
    let b = env.bundle("b", |s| {
        add_mount(
            s,
            json!({ "source": "tmpfs", "destination": "/etc", "type": "tmpfs", "options": ["tmpcopyup", "ro"] }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -c %a:%u:%g /etc/passwd; awk '$5 == \"/etc\" { print $9, $6 }' /proc/self/mountinfo; \
                 touch /etc/x 2>&1; true",
            ],
        );
    });
    let out = run_ok(&env, &b, "tmpcopyup");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], want, "{out}");
    assert!(lines[1].starts_with("tmpfs ro"), "{out}");
    assert!(lines[2].contains("Read-only file system"), "{out}");
}

#[test]
fn read_only_dev_is_filled_first_and_made_read_only_last() {
    require_root!();
    let env = Env::new("ro-dev");
    let b = env.bundle("b", |s| {
        for m in s["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                m["options"].as_array_mut().unwrap().push(json!("ro"));
            }
        }
        args(
            s,
            &[
                "sh",
                "-c",
                "awk '$5 == \"/dev\" { print $6 }' /proc/self/mountinfo; \
                 grep -c ' /dev/pts ' /proc/self/mountinfo; echo x > /dev/null && echo null-ok; \
                 touch /dev/new 2>&1; true",
            ],
        );
    });
    let out = run_ok(&env, &b, "ro-dev");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("ro,"), "{out}");
    assert_eq!(lines[1], "1", "{out}");
    assert_eq!(lines[2], "null-ok", "{out}");
    assert!(lines[3].contains("Read-only file system"), "{out}");
}

#[test]
fn rootfs_propagation_shared_and_slave_apply_to_the_containers_root() {
    require_root!();
    let env = Env::new("rootfs-prop");
    for (id, prop, want) in [
        ("prop-shared", "shared", "shared:"),
        ("prop-slave", "slave", "master:"),
    ] {
        let b = env.bundle(id, |s| {
            s["linux"]["rootfsPropagation"] = json!(prop);
            // Field 7 on: the optional fields (shared:N, master:N) of the root mount.
            args(
                s,
                &[
                    "sh",
                    "-c",
                    "awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo",
                ],
            );
        });
        // In a mount namespace whose mounts are shared, so a slave has a master.
        let out = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "shared"])
            .arg(common::berth_bin())
            .arg("--root")
            .arg(&env.root)
            .args(["run", "--bundle", b.to_str().unwrap(), id])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{prop}: {}", stderr(&out));
        assert!(stdout(&out).starts_with(want), "{prop}: {}", stdout(&out));
    }
}

#[test]
fn no_pivot_leaves_no_host_proc_for_a_nested_namespace_to_reveal() {
    require_root!();
    let env = Env::new("no-pivot-proc");
    let b = env.bundle("b", |s| {
        for set in ["bounding", "permitted", "effective"] {
            s["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_SETFCAP"));
        }
        s["process"]["noNewPrivileges"] = json!(false);
        // A fresh procfs in a nested user+mount+pid namespace: the kernel allows
        // it only while a fully visible procfs exists in the mount namespace.
        args(
            s,
            &[
                "unshare",
                "-mrpf",
                "sh",
                "-c",
                "mount -t proc none /proc && echo mounted",
            ],
        );
    });
    let out = env.run(&[
        "run",
        "--no-pivot",
        "--bundle",
        b.to_str().unwrap(),
        "no-pivot-proc",
    ]);
    assert!(
        !stdout(&out).contains("mounted"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("ermission denied") || stderr(&out).contains("ermission denied"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_bind_onto_proc_must_bring_a_procfs() {
    require_root!();
    let env = Env::new("proc-bind");
    let host_init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let proc_bind = |s: &mut Value, source: &Path| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid");
        for m in s["mounts"].as_array_mut().unwrap() {
            if m["type"] == "proc" {
                *m = json!({ "destination": "/proc", "type": "none", "source": source,
                             "options": ["rbind", "nosuid", "nodev", "noexec"] });
            }
        }
        args(s, &["cat", "/proc/1/comm"]);
    };
    let b = env.bundle("ok", |s| proc_bind(s, Path::new("/proc")));
    assert_eq!(run_ok(&env, &b, "proc-bind-ok"), host_init);
    let dir = source_dir(&env, "not-proc", 0, 0);
    let b = env.bundle("bad", |s| proc_bind(s, &dir));
    let out = env.run(&["run", "--bundle", b.to_str().unwrap(), "proc-bind-bad"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("mounts over /proc are not allowed"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!env.root.join("proc-bind-bad").exists());
}

#[test]
fn without_a_mount_namespace_the_container_chroots_in_its_callers() {
    require_root!();
    let env = Env::new("no-mntns");
    let bundle = |name: &str, a: &[&str]| {
        env.bundle(name, |s| {
            s["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "mount");
            s["linux"]["maskedPaths"] = json!([]);
            s["linux"]["readonlyPaths"] = json!([]);
            args(s, a);
        })
    };
    let b = bundle(
        "b",
        &[
            "sh",
            "-c",
            "head -n 1 /etc/passwd; test -e /proc/self/exe && echo proc-ok",
        ],
    );
    let b2 = bundle("b2", &["sleep", "60"]);
    // The caller is a throwaway mount namespace whose / is shared: berth must
    // leave that / alone (no slave, no pivot_root) and mount under the rootfs;
    // an exec lands in the container's root too.
    let script = format!(
        "B='{berth} --root {root}'; $B run --bundle {b} nm1 && \
         awk '$5 == \"/\" {{ print $7 }}' /proc/self/mountinfo && \
         grep -c ' {rootfs}/proc ' /proc/self/mountinfo && \
         $B run -d --bundle {b2} nm2 && $B exec nm2 head -n 1 /etc/passwd; $B delete -f nm2",
        berth = common::berth_bin().display(),
        root = env.root.display(),
        b = b.display(),
        b2 = b2.display(),
        rootfs = common::rootfs().canonicalize().unwrap().display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "shared", "sh", "-c", &script])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let passwd = std::fs::read_to_string(common::rootfs().join("etc/passwd")).unwrap();
    let first = passwd.lines().next().unwrap();
    assert_eq!(lines[0], first, "{text}");
    assert_eq!(lines[1], "proc-ok", "{text}");
    assert!(
        lines[2].starts_with("shared:"),
        "the caller's / changed: {text}"
    );
    // The container's mounts stay in the caller's namespace (as runc's).
    assert!(lines[3].parse::<u32>().unwrap() >= 1, "{text}");
    assert_eq!(lines[4], first, "exec: {text}");
}

#[test]
fn a_bind_source_under_an_earlier_container_mount_sees_that_mount() {
    require_root!();
    let env = Env::new("mount-order");
    let src = source_dir(&env, "src", 0, 0);
    let rootfs = common::rootfs().canonicalize().unwrap();
    let under = |p: &str| format!("{}{p}", rootfs.display());
    for (id, userns) in [("order", false), ("order-userns", true)] {
        let b = env.bundle(id, |s| {
            if userns {
                with_userns(s);
            }
            add_mount(s, json!({ "source": src, "destination": "/tmp/a", "options": ["bind"] }));
            // Source and destination spelled as host paths under the rootfs
            // (runc's convention): the source is the container's /tmp/a,
            // which exists only in the container's mount namespace.
            add_mount(
                s,
                json!({ "source": under("/tmp/a"), "destination": under("/tmp/b"), "options": ["rbind"] }),
            );
            args(s, &["cat", "/tmp/b/f"]);
        });
        assert_eq!(run_ok(&env, &b, id), "x", "{id}");
    }
}

#[test]
fn a_bind_through_a_dangling_symlink_lands_where_it_points_inside_the_rootfs() {
    require_root!();
    let env = Env::new("mnt-dangling");
    let rootfs = common::private_rootfs(&env);
    let src = env.dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "from-src\n").unwrap();
    // The last component: an absolute link to a host path (the test dir), which
    // must be read as the same path under the rootfs.
    let host_last = env.dir.join("escaped-last");
    std::os::unix::fs::symlink(&host_last, rootfs.join("last")).unwrap();
    // A middle component: a relative link climbing above the rootfs, which is
    // clamped at the container's root (on the host it would be env.dir).
    std::os::unix::fs::symlink("../escaped-comp", rootfs.join("comp")).unwrap();
    let in_root_last = host_last.to_str().unwrap().to_string();
    let script = format!("cat /last/f /comp/sub/f {in_root_last}/f /escaped-comp/sub/f");
    let b = env.bundle("b", |s| {
        s["root"] = json!({ "path": rootfs, "readonly": false });
        // No tmpfs on /tmp: the test dir is under /tmp and the link's target
        // must land in the rootfs itself, where the host can look for it.
        let m = s["mounts"].as_array_mut().unwrap();
        m.retain(|m| m["destination"] != "/tmp");
        add_mount(
            s,
            json!({ "source": src, "destination": "/last", "options": ["bind"] }),
        );
        add_mount(
            s,
            json!({ "source": src, "destination": "/comp/sub", "options": ["bind"] }),
        );
        args(s, &["sh", "-c", &script]);
    });
    let out = run_ok(&env, &b, "dangling");
    assert_eq!(out, "from-src\n".repeat(4));
    // The targets were made inside the rootfs, as directories...
    let made_last = rootfs.join(in_root_last.trim_start_matches('/'));
    assert!(made_last.is_dir(), "{} not made", made_last.display());
    assert!(rootfs.join("escaped-comp/sub").is_dir());
    // ...and the symlinks are still symlinks, not replaced.
    assert!(rootfs.join("last").is_symlink() && rootfs.join("comp").is_symlink());
    // Nothing appeared on the host where the links point from outside.
    assert!(
        !host_last.exists(),
        "made on the host: {}",
        host_last.display()
    );
    assert!(!env.dir.join("escaped-comp").exists(), "made on the host");
}

#[test]
fn rro_makes_a_bind_and_its_submounts_read_only() {
    require_root!();
    let env = Env::new("mnt-rro");
    let tree = env.dir.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    // The submount: a writable tmpfs inside the tree, so only AT_RECURSIVE reaches it.
    let _sub = flagged_tmpfs(tree.join("sub"), "rw");
    let b = env.bundle("b", |s| {
        add_mount(
            s,
            json!({ "source": tree, "destination": "/data", "type": "bind", "options": ["rbind", "rro"] }),
        );
        args(
            s,
            &[
                "sh",
                "-c",
                "awk '$5 ~ \"^/data\" { print $5, $6 }' /proc/self/mountinfo; \
                 touch /data/x 2>&1; touch /data/sub/x 2>&1; true",
            ],
        );
    });
    let out = run_ok(&env, &b, "rro");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (i, dest) in ["/data", "/data/sub"].iter().enumerate() {
        let (d, opts) = lines[i].split_once(' ').unwrap();
        assert_eq!(d, *dest, "{out}");
        assert!(opts.split(',').any(|o| o == "ro"), "{dest} not ro: {out}");
    }
    for l in &lines[2..] {
        assert!(l.contains("Read-only file system"), "{out}");
    }
    assert!(!tree.join("x").exists() && !tree.join("sub/x").exists());
}
