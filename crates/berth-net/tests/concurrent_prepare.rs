//! Several processes prepare and tear down containers on one bridge at the
//! same time; no address is ever handed out twice and every lease is released.
//! Custom harness: the same binary is re-run as the worker processes.

mod common;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

const WORKERS: usize = 6;
const PER_WORKER: usize = 10;
const WORKER_ENV: &str = "BERTH_NET_CONCURRENT_WORKER";

/// Worker: `prepare <root> <bridge> <subnet> <worker>` or `teardown <root> <ids...>`.
fn worker(args: &[String]) {
    match args[0].as_str() {
        "prepare" => {
            let root = std::path::Path::new(&args[1]);
            let cfg = berth_net::NetworkConfig {
                bridge: args[2].clone(),
                subnet: Some(berth_net::parse_cidr(&args[3]).unwrap()),
                ..Default::default()
            };
            for i in 0..PER_WORKER {
                let id = format!("w{}-{i}", args[4]);
                let p = berth_net::prepare(root, &id, &cfg, &root.join(&id)).expect("prepare");
                println!("{id} {}", p.ip().unwrap());
            }
        }
        "teardown" => {
            let root = std::path::Path::new(&args[1]);
            for id in &args[2..] {
                berth_net::teardown(root, id).expect("teardown");
            }
        }
        other => panic!("unknown worker command {other}"),
    }
}

fn main() {
    if let Ok(spec) = std::env::var(WORKER_ENV) {
        let args: Vec<String> = spec.split(' ').map(str::to_string).collect();
        worker(&args);
        return;
    }
    if !common::can_run("concurrent_prepare") {
        return;
    }
    let mut env = common::Env::new(40, 26);
    // This harness is single-threaded: attach must leave no thread behind
    // (the runtime forks right after it).
    let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
    assert_eq!(threads(), 1);
    let ns = common::Netns::new();
    env.start("t0", &env.config(), &ns);
    assert_eq!(threads(), 1, "a thread survived prepare/attach");
    berth_net::teardown(&env.root, "t0").unwrap();
    assert_eq!(threads(), 1, "a thread survived teardown");
    drop(ns);
    let exe = std::env::current_exe().unwrap();
    let root = env.root.to_str().unwrap().to_string();
    let spawn = |spec: String| {
        Command::new(&exe)
            .env(WORKER_ENV, spec)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn worker")
    };
    let children: Vec<_> = (0..WORKERS)
        .map(|w| spawn(format!("prepare {root} {} {} {w}", env.bridge, env.subnet)))
        .collect();
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a prepare worker failed");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let (id, ip) = line.split_once(' ').unwrap();
            let ip: Ipv4Addr = ip.parse().unwrap();
            assert!(
                env.subnet.unleasable_reason(ip).is_none(),
                "{ip} handed out"
            );
            assert!(seen.insert(ip), "{ip} handed out twice");
            ids.push(id.to_string());
        }
    }
    env.ids.extend(ids.iter().cloned());
    assert_eq!(seen.len(), WORKERS * PER_WORKER);
    let leases = env.leases();
    assert_eq!(leases.len(), WORKERS * PER_WORKER);
    assert_eq!(
        leases.iter().map(|(ip, _)| *ip).collect::<HashSet<_>>(),
        seen
    );

    // Every worker tears down every container at once: each lease goes exactly once.
    let all = ids.join(" ");
    let children: Vec<_> = (0..WORKERS)
        .map(|_| spawn(format!("teardown {root} {all}")))
        .collect();
    for c in children {
        assert!(
            c.wait_with_output().unwrap().status.success(),
            "a teardown worker failed"
        );
    }
    assert!(env.leases().is_empty(), "leases left: {:?}", env.leases());
    for id in &ids {
        assert!(berth_net::store::read_record(&env.root, id)
            .unwrap()
            .is_none());
    }
    println!(
        "concurrent_prepare: {} distinct addresses from {WORKERS} processes, all released",
        seen.len()
    );
}
