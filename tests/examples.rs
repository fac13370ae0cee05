//! The examples are part of the public face: run each and check what it prints.

mod common;

use std::process::Command;

use common::cgroups::by_layout;

fn run_example(name: &str) -> String {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| common::repo().join("target"));
    let bin = target.join("debug/examples").join(name);
    assert!(
        bin.exists(),
        "{} not built (cargo test builds examples)",
        bin.display()
    );
    let out = Command::new(&bin)
        .env("BERTH_ROOTFS", common::rootfs())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name}: {text}");
    text
}

#[test]
fn run_busybox_applies_limits() {
    require_root!();
    let out = run_example("run_busybox");
    let mem = by_layout("memory.limit_in_bytes", "memory.max");
    assert!(out.contains(&format!("{mem} = 67108864")), "{out}");
    assert!(
        out.contains("hello from run-busybox") && out.contains("container exited with 0"),
        "{out}"
    );
}

#[test]
fn bridge_pair_talks() {
    require_root!();
    let out = run_example("bridge_pair");
    assert!(
        out.contains("1 packets received") && out.contains("exited with 0"),
        "{out}"
    );
}

#[test]
fn exec_into_joins_the_container() {
    require_root!();
    let out = run_example("exec_into");
    assert!(
        out.contains("pid 1 as sleep") && out.contains("exited with 0"),
        "{out}"
    );
}

#[test]
fn update_limits_changes_the_cgroup() {
    require_root!();
    let out = run_example("update_limits");
    // v2's cpu.weight holds runc's conversion of the shares.
    let (mem, cpu) = by_layout(
        ("memory.limit_in_bytes", "cpu.shares = 256"),
        ("memory.max", "cpu.weight = 10"),
    );
    assert!(
        out.contains(&format!("{mem} = 134217728")) && out.contains(cpu),
        "{out}"
    );
    // The update is merged into the saved config, as `berth update` does.
    assert!(
        out.contains("saved memory.limit = Some(134217728), cpu.shares = Some(256)"),
        "{out}"
    );
}
