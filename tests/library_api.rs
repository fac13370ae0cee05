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
