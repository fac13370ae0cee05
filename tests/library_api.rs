//! The library's `Container` on real containers made by the binary: what a Rust program does
//! through the crates is what `berth update/pause/resume/ps/events` do, asserted on the
//! kernel's cgroup files of this hybrid host and on what the binary sees afterwards.
//! (The containers are made by `berth run -d`: create clones init, which needs a
//! single-threaded caller, and the test harness is not one.)

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth::container::{Container, Event, Root, Status};
use berth::oci_spec::runtime::LinuxResources;
use common::cgroups::{by_layout, is_v2, Cgroup, Limit};
use common::{args, stderr, Env};
use serde_json::{json, Value};

/// Cgroup paths (/berth/<id>) are host-global: ids are unique to this run.
fn uid(name: &str) -> String {
    format!("libapi-{name}-{}", std::process::id())
}

fn lim(id: &str, l: Limit) -> String {
    Cgroup::container(id).limit(l)
}

fn saved_resources(env: &Env, id: &str) -> Value {
    let saved: Value =
        serde_json::from_slice(&std::fs::read(env.root.join(id).join("state.json")).unwrap())
            .unwrap();
    saved["config"]["linux"]["resources"].clone()
}

fn resources(v: Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

#[test]
fn update_through_the_library_reaches_the_kernel_and_the_saved_config() {
    require_root!();
    let env = Env::new("lib-update");
    let id = uid("upd");
    // dd makes the memory usage well above 4k, so a 4k limit is refused by the kernel.
    let b = env.bundle("b", |s| {
        args(
            s,
            &[
                "sh",
                "-c",
                "dd if=/dev/zero bs=1M count=4 | cat >/dev/null; sleep 1000",
            ],
        );
        s["linux"]["resources"]["memory"] = json!({ "limit": 33554432, "reservation": 25165824 });
        s["linux"]["resources"]["cpu"] = json!({ "shares": 100, "quota": 50000, "period": 100000 });
    });
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let root = Root::new(&env.root);
    let mut c = Container::load(&root, &id).unwrap();
    assert_eq!(c.status(), Status::Running);

    c.update(&resources(json!({
        "memory": { "limit": 67108864 },
        "cpu": { "shares": 512 },
        "pids": { "limit": 40 }
    })))
    .unwrap();
    // The kernel: the new values, and the untouched ones as they were.
    assert_eq!(lim(&id, Limit::Memory), "67108864");
    assert_eq!(lim(&id, Limit::MemoryReservation), "25165824");
    assert_eq!(lim(&id, Limit::CpuShares), by_layout("512", "20"));
    assert_eq!(lim(&id, Limit::CpuQuota), "50000");
    assert_eq!(lim(&id, Limit::Pids), "40");
    // The saved config: merged, not replaced (what the old example never wrote).
    let r = saved_resources(&env, &id);
    assert_eq!(r["memory"]["limit"], 67108864, "{r}");
    assert_eq!(r["memory"]["reservation"], 25165824, "{r}");
    assert_eq!(r["cpu"]["shares"], 512, "{r}");
    assert_eq!(r["cpu"]["quota"], 50000, "{r}");
    assert_eq!(r["pids"]["limit"], 40, "{r}");
    // The handle and a fresh load agree with the file.
    for res in [
        c.resources(),
        Container::load(&root, &id).unwrap().resources(),
    ] {
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(67108864));
        assert_eq!(res.cpu().as_ref().unwrap().shares(), Some(512));
    }
    let st = env.state(&id);
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"], c.pid());

    // The binary's next update sees the library's limit: swap alone is checked against 64m
    // (refused at 48m), where the config's 32m would have let it through.
    let out = env.run(&["update", "--memory-swap", "48m", &id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("50331648"), "{}", stderr(&out));
    // And the library sees the binary's update.
    env.ok(&["update", "--cpu-share", "300", &id]);
    assert_eq!(
        Container::load(&root, &id)
            .unwrap()
            .resources()
            .cpu()
            .as_ref()
            .unwrap()
            .shares(),
        Some(300)
    );

    // All or nothing: the memory limit is refused (v1: by the kernel, after the shares were
    // written, which are rolled back; v2, whose kernel would OOM-kill instead: by
    // checkBeforeUpdate, before any write), and neither reaches the saved config.
    let mut c = Container::load(&root, &id).unwrap();
    let state_before = std::fs::read(env.root.join(&id).join("state.json")).unwrap();
    let e = c
        .update(&resources(json!({
            "cpu": { "shares": 700 },
            "memory": { "limit": 4096, "checkBeforeUpdate": is_v2() }
        })))
        .unwrap_err()
        .to_string();
    assert!(e.contains("usage") && !e.contains('\n'), "{e}");
    assert_eq!(lim(&id, Limit::CpuShares), by_layout("300", "12"));
    assert_eq!(lim(&id, Limit::Memory), "67108864");
    assert_eq!(
        std::fs::read(env.root.join(&id).join("state.json")).unwrap(),
        state_before
    );
    assert_eq!(c.resources().cpu().as_ref().unwrap().shares(), Some(300));

    // A stopped container refuses, with runc's words.
    env.ok(&["kill", &id, "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.status() != Status::Stopped {
        assert!(Instant::now() < deadline, "container did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let e = c
        .update(&resources(json!({ "cpu": { "shares": 400 } })))
        .unwrap_err();
    assert_eq!(e.to_string(), "container not running");
    let e = Container::load(&root, "nosuch-libapi").unwrap_err();
    assert!(e.to_string().contains("nosuch-libapi"), "{e}");
}

#[test]
fn pause_processes_stats_and_events_through_the_library() {
    require_root!();
    let env = Env::new("lib-pause");
    let id = uid("pause");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "sleep 1001 & sleep 1002 & wait"]);
        s["linux"]["resources"]["memory"] = json!({ "limit": 33554432 });
    });
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), &id]);
    let root = Root::new(&env.root);
    let c = Container::load(&root, &id).unwrap();

    // processes(): exactly the cgroup's, init among them.
    let deadline = Instant::now() + Duration::from_secs(5);
    let cg = Cgroup::container(&id);
    while cg.read("pids", "pids.current", "pids.current") != "3" {
        assert!(Instant::now() < deadline, "both sleeps did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut want = cg.procs();
    want.sort();
    assert_eq!(c.processes().unwrap(), want);
    assert!(want.contains(&c.pid()));

    // pause/resume: the freezer, what `berth state` reports, runc's refusals.
    c.pause().unwrap();
    assert!(cg.frozen());
    assert_eq!(env.status(&id), "paused");
    assert_eq!(c.status(), Status::Paused);
    assert_eq!(c.pause().unwrap_err().to_string(), "container not running");
    c.resume().unwrap();
    assert!(!cg.frozen());
    assert_eq!(env.status(&id), "running");
    assert_eq!(c.resume().unwrap_err().to_string(), "container not paused");

    // stats(): the kernel's figures.
    let s = c.stats().unwrap();
    assert_eq!(s.memory.usage.limit, 33554432);
    assert_eq!(s.pids.current, 3);

    // events(): stats every interval, and the stream ends when the container stops.
    let (tx, rx) = mpsc::channel();
    let watcher = std::thread::spawn(move || {
        for ev in c.events(Duration::from_millis(200)) {
            let line = match ev {
                Ok(Event::Stats(s)) => format!("stats pids={}", s.pids.current),
                Ok(Event::Oom) => "oom".to_string(),
                Err(e) => format!("error {e}"),
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(first, "stats pids=3");
    env.ok(&["kill", &id, "KILL"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => assert!(line.starts_with("stats"), "{line}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("events did not end with the container"),
        }
    }
    watcher.join().unwrap();
}

/// A bundle for `config::load` alone: the default spec edited by `edit`, with an empty
/// rootfs of its own (nothing is run, so neither root nor busybox is needed).
fn load_bundle(env: &Env, b: &str, edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let bundle = env.bundle(b, |s| {
        s["root"]["path"] = json!("rootfs");
        edit(s);
    });
    std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
    bundle
}

#[test]
fn bad_configs_fail_with_errors_a_program_can_match() {
    use berth::container::{config, hooks, seccomp::SeccompPlan, Error};
    let env = Env::new("lib-errors");
    let load = |b: &str, edit: &dyn Fn(&mut Value)| {
        let bundle = load_bundle(&env, b, |s| edit(s));
        match config::load(&bundle) {
            Ok(_) => panic!("{b}: accepted"),
            Err(e) => e,
        }
    };
    // The good spec loads: each case below differs from it in one place.
    config::load(&load_bundle(&env, "good", |_| {})).unwrap();

    // One field, one bad value: field and value as the user wrote them.
    let e = load("sysctl", &|s| {
        s["linux"]["sysctl"] = json!({ "../../etc/passwd": "1" })
    });
    assert!(
        matches!(&e, Error::Invalid { field, value, .. }
            if field == "linux.sysctl" && value == "../../etc/passwd"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        r#"linux.sysctl "../../etc/passwd": not a valid sysctl name"#
    );
    let e = load("dest", &|s| s["mounts"][1]["destination"] = json!("/"));
    assert!(
        matches!(&e, Error::Invalid { field, value, .. }
            if field == "mounts[1].destination" && value == "/"),
        "{e:?}"
    );
    let e = load("mempolicy", &|s| {
        s["linux"]["memoryPolicy"] = json!({ "mode": "INTERLEAVE", "nodes": "0" })
    });
    assert!(
        matches!(&e, Error::Invalid { field, value, reason }
            if field == "linux.memoryPolicy.mode" && value == "INTERLEAVE"
                && reason == "invalid memory policy mode"),
        "{e:?}"
    );
    let e = load("json", &|s| s["process"]["args"] = json!("sh"));
    assert!(
        matches!(&e, Error::Invalid { field, .. } if field == "config.json"),
        "{e:?}"
    );

    // Fields that cannot go together, and fields that are missing.
    let e = load("hostname", &|s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "uts")
    });
    assert!(
        matches!(&e, Error::Conflict { field, other, .. }
            if field == "hostname" && other == "linux.namespaces"),
        "{e:?}"
    );
    let e = load("noprocess", &|s| {
        s.as_object_mut().unwrap().remove("process");
    });
    assert!(
        matches!(&e, Error::Missing { field, .. } if field == "process"),
        "{e:?}"
    );
    let e = load(
        "bind",
        &|s| {
            s["mounts"][0] = json!({ "destination": "/data", "type": "bind", "options": ["rbind"] })
        },
    );
    assert!(
        matches!(&e, Error::Missing { field, .. } if field == "mounts[0].source"),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("mounts[0].source is required: "),
        "{e}"
    );

    // What this machine cannot do: a seccomp architecture other than its own family.
    let foreign = if std::env::consts::ARCH == "s390x" {
        "SCMP_ARCH_X86_64"
    } else {
        "SCMP_ARCH_S390X"
    };
    let seccomp = serde_json::from_value(json!({
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": [foreign]
    }))
    .unwrap();
    let e = SeccompPlan::new(&seccomp).unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { what, reason }
            if what == "linux.seccomp.architectures" && reason.contains(foreign)),
        "{e:?}"
    );

    // A hook that fails: its kind, place in the list and path.
    let hook = serde_json::from_value(json!({ "path": "/bin/false" })).unwrap();
    let e = hooks::run("poststop", 2, &hook, "{}", None).unwrap_err();
    assert!(
        matches!(&e, Error::Hook { kind: "poststop", index: 2, path, reason }
            if path == std::path::Path::new("/bin/false") && reason == "exit status 1"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "error running poststop hook #2: /bin/false: exit status 1"
    );

    // A state file that cannot be read back.
    let dir = env.root.join("garbled");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state.json"), "{not json").unwrap();
    let e = Container::load(&Root::new(&env.root), "garbled").unwrap_err();
    assert!(
        matches!(&e, Error::Corrupt { path, .. } if *path == dir.join("state.json")),
        "{e:?}"
    );
    // Not a container for Env's cleanup to delete (which runs the binary).
    std::fs::remove_dir_all(&env.root).unwrap();
}
