//! Rootless berth: every test makes a real unprivileged user (useradd, with ranges in
//! /etc/subuid and /etc/subgid), runs the `berth` binary as that user through setpriv,
//! and checks what the kernel shows: the maps of the container's user namespace, file
//! ownership on the host, device nodes, cgroup membership and control files. The test
//! itself runs as root only to make and remove the user (and a delegated cgroup).

mod common;
#[path = "rootless/user.rs"]
mod user;

use std::os::unix::fs::{chown, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{assert_one_line_error, stderr, stdout};
use serde_json::{json, Value};
use user::User;

macro_rules! rootless_user {
    ($tag:expr) => {
        match user::skip_reason() {
            Some(why) => {
                berth_testkit::skip(&why);
                return;
            }
            None => User::new($tag),
        }
    };
}

/// Whitespace-normalised lines (uid_map pads its columns).
fn words(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(u: &User, id: &str) -> String {
    let s: Value = serde_json::from_str(&u.ok(&["state", id])).unwrap();
    s["status"].as_str().unwrap().to_string()
}

fn mapping(pairs: &[(u32, u32, u32)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|&(c, h, n)| json!({"containerID": c, "hostID": h, "size": n}))
            .collect(),
    )
}

#[test]
fn spec_rootless_as_a_user_is_runcs() {
    let u = rootless_user!("spec");
    let (ours, theirs) = (u.dir.join("ours"), u.dir.join("theirs"));
    for d in [&ours, &theirs] {
        std::fs::create_dir(d).unwrap();
        chown(d, Some(u.uid), Some(u.gid)).unwrap();
    }
    u.ok(&["spec", "--rootless", "-b", ours.to_str().unwrap()]);
    let runc = std::process::Command::new("setpriv")
        .arg(format!("--reuid={}", u.uid))
        .arg(format!("--regid={}", u.gid))
        .args(["--init-groups", "runc", "spec", "--rootless", "-b"])
        .arg(&theirs)
        .output()
        .expect("runc (scripts/deps.sh installs it)");
    assert!(runc.status.success(), "{}", stderr(&runc));
    let read = |d: &Path| -> Value {
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap();
        // Each writes the spec version it implements; runc 1.1 still lists ambient
        // capabilities, which runc 1.2 no longer writes. Sets compare unordered.
        v.as_object_mut().unwrap().remove("ociVersion");
        let caps = v["process"]["capabilities"].as_object_mut().unwrap();
        caps.remove("ambient");
        for set in caps.values_mut() {
            set.as_array_mut().unwrap().sort_by_key(|c| c.to_string());
        }
        v
    };
    let (a, b) = (read(&ours), read(&theirs));
    assert_eq!(
        a, b,
        "berth spec --rootless differs from runc's for uid {}",
        u.uid
    );
    // The caller's own ids, not root's.
    assert_eq!(a["linux"]["uidMappings"], mapping(&[(0, u.uid, 1)]));
    assert_eq!(a["linux"]["gidMappings"], mapping(&[(0, u.gid, 1)]));
}

#[test]
fn run_maps_only_the_callers_ids_with_host_devices_and_no_cgroup() {
    let u = rootless_user!("run");
    let script = "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; \
                  stat -c '%t:%T %u' /dev/null /dev/zero; echo x > /dev/null && echo null-writable; \
                  readlink /dev/ptmx; touch /sys/fs/cgroup/x 2>/dev/null || echo cgroupfs-ro; \
                  cat /proc/self/cgroup";
    // /dev/ptmx listed as a device too (runc's suite does): still the devpts link.
    let b = u.bundle("b", &["sh", "-c", script], |s| {
        s["linux"]["devices"] = json!([{"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2}]);
    });
    // No --root: the state goes to $XDG_RUNTIME_DIR/berth, as runc's goes to .../runc.
    let out = u.berth(&["run", "-b", b.to_str().unwrap(), "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = words(&stdout(&out));
    assert_eq!(lines[0], format!("0 {} 1", u.uid), "{lines:?}");
    assert_eq!(lines[1], format!("0 {} 1", u.gid), "{lines:?}");
    // The kernel takes an unprivileged gid_map only with setgroups denied.
    assert_eq!(lines[2], "deny");
    assert_eq!(lines[3], "0");
    // The host's nodes, bind-mounted: their owner (host root) is unmapped in here,
    // so it shows as the overflow uid; mknod would have made them owned by 0.
    assert_eq!(lines[4], "1:3 65534");
    assert_eq!(lines[5], "1:5 65534");
    assert_eq!(lines[6], "null-writable");
    assert_eq!(lines[7], "pts/ptmx");
    // runc's rootless config mounts the cgroup file system read-only.
    assert_eq!(lines[8], "cgroupfs-ro");
    // No cgroup was made: the container stays in the caller's cgroups (the test's own).
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    assert_eq!(lines[9..].join("\n"), words(&own).join("\n"));
    for dir in common::cgroup_dirs("/berth/c1") {
        assert!(!dir.exists(), "{} was made", dir.display());
    }
    // Private and sticky (so XDG_RUNTIME_DIR's cleaners leave it), as runc's.
    let meta = std::fs::metadata(u.xdg.join("berth"))
        .expect("default state root not under XDG_RUNTIME_DIR");
    assert_eq!((meta.mode() & 0o7777, meta.uid()), (0o1700, u.uid));
    assert!(u.state_dirs().is_empty(), "{:?}", u.state_dirs());
}

#[test]
fn subordinate_ids_are_mapped_through_newuidmap() {
    let u = rootless_user!("sub");
    let shared = u.dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    chown(&shared, Some(u.uid), Some(u.gid)).unwrap();
    let script = "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; \
                  touch /mnt/f && chown 1000:1000 /mnt/f && echo chowned";
    let (su, sg) = (u.subuid, u.subgid);
    let b = u.bundle("b", &["sh", "-c", script], |s| {
        s["linux"]["uidMappings"] = mapping(&[(0, u.uid, 1), (1, su.0, su.1)]);
        s["linux"]["gidMappings"] = mapping(&[(0, u.gid, 1), (1, sg.0, sg.1)]);
        for set in ["bounding", "effective", "permitted"] {
            s["process"]["capabilities"][set] = json!(["CAP_CHOWN"]);
        }
        s["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": "/mnt", "type": "bind", "source": shared, "options": ["rbind", "rw"]}));
    });
    let out = u.berth(&["run", "-b", b.to_str().unwrap(), "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = words(&stdout(&out));
    assert_eq!(
        lines[..4],
        [
            format!("0 {} 1", u.uid),
            format!("1 {} {}", su.0, su.1),
            format!("0 {} 1", u.gid),
            format!("1 {} {}", sg.0, sg.1),
        ],
        "{lines:?}"
    );
    // newgidmap writes with privilege: setgroups stays allowed.
    assert_eq!(lines[4], "allow");
    assert_eq!(lines[5], "chowned");
    // Container uid/gid 1000 is the 1000th subordinate id on the host.
    let m = std::fs::metadata(shared.join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (su.0 + 999, sg.0 + 999));
}

#[test]
fn lifecycle_commands_work_as_a_user() {
    let u = rootless_user!("life");
    let b = u.bundle(
        "b",
        &[
            "sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.1; done",
        ],
        |_| {},
    );
    let bs = b.to_str().unwrap();
    u.ok(&["create", "-b", bs, "c1"]);
    let state: Value = serde_json::from_str(&u.ok(&["state", "c1"])).unwrap();
    assert_eq!(state["status"], "created");
    let pid = state["pid"].as_i64().unwrap();
    let dir = u.xdg.join("berth/c1");
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), u.uid);
    // On the host, init runs as the user and is root only in its own namespace.
    let host_status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = host_status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(words(uid_line)[0], format!("Uid: {0} {0} {0} {0}", u.uid));
    let map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
    assert_eq!(words(&map), [format!("0 {} 1", u.uid)]);

    // Not enterable before start without root (init is not dumpable yet): said so.
    let out = u.berth(&["exec", "c1", "true"]);
    let e = stderr(&out);
    // exec's failures exit 255, as runc's.
    assert_eq!(out.status.code(), Some(255), "{e}");
    assert!(
        e.lines().count() == 1 && e.contains("created but not started"),
        "{e}"
    );
    u.ok(&["start", "c1"]);
    assert_eq!(status(&u, "c1"), "running");
    let list = u.ok(&["list"]);
    let row = list.lines().find(|l| l.starts_with("c1 ")).expect(&list);
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cols[2], cols[5]), ("running", u.name.as_str()), "{list}");
    let json: Value = serde_json::from_str(&u.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], "c1");

    let ex = u.ok(&[
        "exec",
        "c1",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; readlink /proc/1/exe",
    ]);
    assert_eq!(
        words(&ex),
        [
            "0".to_string(),
            format!("0 {} 1", u.uid),
            "/bin/busybox".into()
        ]
    );
    // ps without a cgroup: the processes of the container's pid namespace.
    u.ok(&["exec", "-d", "c1", "sleep", "300"]);
    let ps = u.ok(&["ps", "--format", "json", "c1"]);
    let pids: Vec<i64> = serde_json::from_str(&ps).unwrap();
    assert!(pids.contains(&pid) && pids.len() >= 2, "{pids:?}");
    // Freezing, limits and statistics need a cgroup: refused, saying why.
    for cmd in [
        &["pause", "c1"][..],
        &["update", "--pids-limit", "10", "c1"],
        &["events", "--stats", "c1"],
    ] {
        assert_one_line_error(&u.berth(cmd), "without a cgroup");
    }
    assert_eq!(status(&u, "c1"), "running");

    u.ok(&["kill", "c1", "TERM"]);
    wait_for("c1 to stop after TERM", || status(&u, "c1") == "stopped");
    u.ok(&["delete", "c1"]);
    assert!(!dir.exists());

    // kill --all reaches the exec'd process too.
    u.ok(&["run", "-d", "-b", bs, "c2"]);
    u.ok(&["exec", "-d", "c2", "sleep", "300"]);
    u.ok(&["kill", "--all", "c2", "KILL"]);
    wait_for("c2's processes to go", || u.processes().is_empty());
    wait_for("c2 to stop", || status(&u, "c2") == "stopped");
    u.ok(&["delete", "c2"]);
    assert!(u.state_dirs().is_empty(), "{:?}", u.state_dirs());
}

#[test]
fn bad_rootless_input_is_one_line_and_leaves_nothing() {
    let u = rootless_user!("bad");
    let (su, sg) = (u.subuid, u.subgid);
    let outside = format!("/berth-rootless-outside-{}", u.name);
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &[&str])> = vec![
        (
            "uid range not in /etc/subuid",
            Box::new(move |s| {
                s["linux"]["uidMappings"] = mapping(&[(0, u.uid, 1), (1, su.0 + su.1, 10)])
            }),
            &[
                "linux.uidMappings",
                "newuidmap",
                "/etc/subuid",
                "not allowed",
            ],
        ),
        (
            "gid range not in /etc/subgid",
            Box::new(move |s| {
                s["linux"]["gidMappings"] = mapping(&[(0, u.gid, 1), (1, sg.0 + sg.1, 10)])
            }),
            &["linux.gidMappings", "newgidmap", "/etc/subgid"],
        ),
        (
            "someone else's uid",
            Box::new(|s| s["linux"]["uidMappings"] = mapping(&[(0, 0, 1)])),
            &["linux.uidMappings", "newuidmap"],
        ),
        (
            "cgroupsPath outside any delegated subtree",
            Box::new({
                let p = outside.clone();
                move |s| s["linux"]["cgroupsPath"] = p.clone().into()
            }),
            &[
                "linux.cgroupsPath",
                "not in a cgroup v2 subtree delegated to uid",
            ],
        ),
        (
            "limits without a delegated subtree",
            Box::new(|s| s["linux"]["resources"] = json!({"pids": {"limit": 10}})),
            &[
                "cannot set pids limit: container could not join or create cgroup",
                "resources.pids.limit",
                "no cgroup v2 subtree is delegated",
            ],
        ),
        (
            "bridge networking",
            Box::new(|s| {
                s["annotations"] = json!({"berth.network.mode": "bridge"});
                s["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "network"}));
            }),
            &[r#"berth.network.mode "bridge""#, "needs root"],
        ),
        (
            "no user namespace",
            Box::new(|s| {
                let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
                ns.retain(|n| n["type"] != "user");
                let l = s["linux"].as_object_mut().unwrap();
                l.remove("uidMappings");
                l.remove("gidMappings");
            }),
            &["a user namespace in linux.namespaces is required"],
        ),
    ];
    for (i, (what, edit, words)) in cases.iter().enumerate() {
        let b = u.bundle(&format!("b{i}"), &["true"], |s| edit(s));
        let e = assert_one_line_error(
            &u.berth(&["run", "-b", b.to_str().unwrap(), "c1"]),
            words[0],
        );
        for w in *words {
            assert!(e.contains(w), "{what}: {w:?} missing from {e}");
        }
        assert!(
            u.state_dirs().is_empty(),
            "{what}: left {:?}",
            u.state_dirs()
        );
        wait_for("no process of the user", || u.processes().is_empty());
        for dir in common::cgroup_dirs(&outside)
            .into_iter()
            .chain(common::cgroup_dirs("/berth/c1"))
        {
            assert!(!dir.exists(), "{what}: {} was made", dir.display());
        }
    }
    // A state root the user cannot write: refused the same way.
    let b = u.bundle("bn", &["true"], |_| {});
    let e = assert_one_line_error(
        &u.berth(&[
            "--root",
            "/run/berth",
            "run",
            "-b",
            b.to_str().unwrap(),
            "c1",
        ]),
        "/run/berth",
    );
    assert!(e.contains("Permission denied"), "{e}");
}

#[test]
fn root_of_a_user_namespace_runs_as_rootless_engines_run_berth() {
    // podman's and Docker's rootless modes run the runtime as uid 0 of a user namespace
    // they made, with a config that makes no user namespace of its own.
    let u = rootless_user!("ns");
    let unshare = ["unshare", "--user", "--map-root-user"];
    let write = |b: &str, edit: &dyn Fn(&mut Value)| {
        let dir = u.dir.join(b);
        std::fs::create_dir(&dir).unwrap();
        let mut s = common::default_spec();
        for m in s["mounts"].as_array_mut().unwrap() {
            if m["type"] == "devpts" {
                // gid 5 is not mapped here (only the user's own id is), as engines know.
                m["options"] = json!([
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620"
                ]);
            }
        }
        edit(&mut s);
        std::fs::write(dir.join("config.json"), serde_json::to_vec(&s).unwrap()).unwrap();
        dir
    };
    let script = "cat /proc/self/uid_map; id -u; stat -c '%t:%T %u' /dev/null";
    let b = write("b", &|s| common::args(s, &["sh", "-c", script]));
    let out = u.berth_via(&unshare, &["run", "-b", b.to_str().unwrap(), "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // No cgroup (the host's are not this user's) and no mknod: the host's node, bound.
    assert_eq!(
        words(&stdout(&out)),
        [format!("0 {} 1", u.uid), "0".into(), "1:3 65534".into()]
    );
    for dir in common::cgroup_dirs("/berth/c1") {
        assert!(!dir.exists(), "{} was made", dir.display());
    }
    // Limits without a delegated subtree: refused as for any rootless caller.
    let l = write("l", &|s| {
        s["linux"]["resources"]["pids"] = json!({"limit": 10})
    });
    assert_one_line_error(
        &u.berth_via(&unshare, &["run", "-b", l.to_str().unwrap(), "c2"]),
        "cannot set pids limit",
    );
    assert!(u.state_dirs().is_empty(), "{:?}", u.state_dirs());
}

/// Interface names in the current network namespace, from a /proc/net/dev text.
fn interfaces(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .skip(2)
        .filter_map(|l| Some(l.split(':').next()?.trim().to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn network_modes_none_and_host_work_as_a_user() {
    let u = rootless_user!("net");
    let none = u.bundle(
        "none",
        &["sh", "-c", "cat /proc/net/dev; echo --; ip link show lo"],
        |s| {
            s["annotations"] = json!({"berth.network.mode": "none"});
            s["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "network"}));
        },
    );
    let out = u.berth(&["run", "-b", none.to_str().unwrap(), "n1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (dev, lo) = text.split_once("--\n").unwrap();
    assert_eq!(interfaces(dev), ["lo"]);
    // Brought up by init itself: nothing outside may enter a user's namespaces.
    assert!(lo.contains(",UP"), "{lo}");

    let script = "readlink /proc/self/ns/net; cat /proc/net/dev";
    let host = u.bundle("host", &["sh", "-c", script], |s| {
        s["annotations"] = json!({"berth.network.mode": "host"});
    });
    let out = u.berth(&["run", "-b", host.to_str().unwrap(), "n2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The host's own network namespace (a guest may have no interface but lo).
    let text = stdout(&out);
    let (ns, dev) = text.split_once('\n').unwrap();
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(ns, host_ns.to_str().unwrap());
    let ours = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    assert_eq!(interfaces(dev), ours);
    assert!(u.state_dirs().is_empty(), "{:?}", u.state_dirs());
}

/// A cgroup v2 directory handed to the user as systemd's `Delegate=yes` does: the
/// directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads are the
/// user's, and a `session` child (also the user's) is where berth is started from.
struct Delegation {
    top: PathBuf,
    session: PathBuf,
}

impl Delegation {
    fn new(u: &User) -> Option<Delegation> {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mount = mountinfo.lines().find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let point = pre.split(' ').nth(4)?;
            post.starts_with("cgroup2 ").then(|| PathBuf::from(point))
        })?;
        let top = mount.join(format!("berth-rootless-{}", u.name));
        let session = top.join("session");
        std::fs::create_dir(&top).unwrap();
        std::fs::create_dir(&session).unwrap();
        for d in [&top, &session] {
            for f in [
                "",
                "cgroup.procs",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                chown(d.join(f), Some(u.uid), Some(u.gid)).unwrap();
            }
        }
        Some(Delegation { top, session })
    }
}

impl Drop for Delegation {
    fn drop(&mut self) {
        // A failed test may leave containers in the subtree: end them first (the
        // user's own cleanup comes later), or no directory could be removed.
        if std::fs::write(self.top.join("cgroup.kill"), "1").is_ok() {
            let empty = || {
                std::fs::read_to_string(self.top.join("cgroup.events"))
                    .is_ok_and(|e| e.contains("populated 0"))
            };
            let deadline = Instant::now() + Duration::from_secs(5);
            while !empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        fn remove(dir: &Path) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten().filter(|e| e.path().is_dir()) {
                    remove(&e.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        remove(&self.top);
    }
}

#[test]
fn delegated_cgroup_v2_subtree_holds_the_container_and_its_limits() {
    let u = rootless_user!("cg");
    let Some(d) = Delegation::new(&u) else {
        berth_testkit::skip("no cgroup2 mount to delegate a subtree from");
        return;
    };
    // What this proves on a hybrid host, where the cgroup2 mount offers only hugetlb:
    // that berth finds the delegated subtree, makes the container's cgroup next to its
    // own session, enables a controller there, writes a limit the kernel keeps, places
    // init and exec'd processes, freezes, kills and removes it, all without root. It
    // does not exercise memory/cpu/pids limits (those are v1 here and never delegated);
    // on a pure v2 host with pids offered, the pids limit is checked too.
    let offered = std::fs::read_to_string(d.top.join("cgroup.controllers")).unwrap();
    let has = |c: &str| offered.split_whitespace().any(|o| o == c);
    let hugetlb = has("hugetlb") && d.top.join("hugetlb.2MB.max").exists();
    let pids = has("pids");
    let b = u.bundle(
        "b",
        &["sh", "-c", "cat /proc/self/cgroup; sleep 300"],
        |s| {
            let mut r = json!({});
            if hugetlb {
                r["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 4194304}]);
            }
            if pids {
                r["pids"] = json!({"limit": 20});
            }
            s["linux"]["resources"] = r;
        },
    );
    let bs = b.to_str().unwrap();
    let cmd = |args: &[&str]| u.berth_in(&d.session, args);
    let ok = |args: &[&str]| {
        let out = cmd(args);
        assert!(out.status.success(), "berth {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&["run", "-d", "-b", bs, "c1"]);
    let dir = d.top.join("c1");
    let state: Value = serde_json::from_str(&ok(&["state", "c1"])).unwrap();
    let pid = state["pid"].as_i64().unwrap();
    let procs = || std::fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert!(words(&procs()).contains(&pid.to_string()), "{}", procs());
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), u.uid);
    if hugetlb {
        let v = std::fs::read_to_string(dir.join("hugetlb.2MB.max")).unwrap();
        assert_eq!(v.trim(), "4194304");
    }
    if pids {
        assert_eq!(
            std::fs::read_to_string(dir.join("pids.max"))
                .unwrap()
                .trim(),
            "20"
        );
    }
    // The container's own view: its cgroup is the delegated directory.
    let seen = ok(&["exec", "c1", "cat", "/proc/self/cgroup"]);
    let v2 = seen.lines().find(|l| l.starts_with("0::")).unwrap();
    let rel = format!("/{}/c1", d.top.file_name().unwrap().to_str().unwrap());
    assert!(v2 == format!("0::{rel}") || v2 == "0::/", "{v2}");
    let before = words(&procs()).len();
    ok(&["exec", "-d", "c1", "sleep", "300"]);
    wait_for("the exec'd process in the cgroup", || {
        words(&procs()).len() == before + 1
    });
    let ps: Vec<i64> = serde_json::from_str(&ok(&["ps", "--format", "json", "c1"])).unwrap();
    assert_eq!(ps.len(), words(&procs()).len(), "{ps:?}");

    ok(&["pause", "c1"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("cgroup.freeze"))
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(status(&u, "c1"), "paused");
    ok(&["resume", "c1"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("cgroup.freeze"))
            .unwrap()
            .trim(),
        "0"
    );

    if !has("memory") {
        let e = assert_one_line_error(
            &cmd(&["update", "--memory", "64m", "c1"]),
            "resources.memory",
        );
        assert!(e.contains("not offered"), "{e}");
    }

    ok(&["kill", "--all", "c1", "KILL"]);
    wait_for("c1 to stop", || status(&u, "c1") == "stopped");
    ok(&["delete", "c1"]);
    assert!(!dir.exists(), "{} left", dir.display());

    // With a subtree delegated: a limit it cannot hold, and a path outside it.
    let mem = u.bundle("mem", &["true"], |s| {
        s["linux"]["resources"] = json!({"memory": {"limit": 67108864}});
    });
    if !has("memory") {
        let e = assert_one_line_error(
            &cmd(&["run", "-b", mem.to_str().unwrap(), "c2"]),
            "resources.memory",
        );
        assert!(e.contains("not offered"), "{e}");
        assert!(!d.top.join("c2").exists());
    }
    let outside = format!("/berth-rootless-outside-{}", u.name);
    let out_b = u.bundle("out", &["true"], |s| {
        s["linux"]["cgroupsPath"] = outside.clone().into()
    });
    let e = assert_one_line_error(
        &cmd(&["run", "-b", out_b.to_str().unwrap(), "c3"]),
        "linux.cgroupsPath",
    );
    assert!(e.contains("delegated"), "{e}");
    for dir in common::cgroup_dirs(&outside) {
        assert!(!dir.exists(), "{} was made", dir.display());
    }
    // A path inside the subtree is taken as given.
    let inner = format!("/{}/inner", d.top.file_name().unwrap().to_str().unwrap());
    let in_b = u.bundle("in2", &["cat", "/proc/self/cgroup"], |s| {
        s["linux"]["cgroupsPath"] = inner.clone().into();
    });
    let seen = ok(&["run", "-b", in_b.to_str().unwrap(), "c4"]);
    assert!(
        seen.lines()
            .any(|l| l == format!("0::{inner}") || l == "0::/"),
        "{seen}"
    );
    assert!(!d.top.join("inner").exists(), "c4's cgroup left after run");
    assert!(u.state_dirs().is_empty(), "{:?}", u.state_dirs());
}
