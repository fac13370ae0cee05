//! Changes the memory limit and CPU shares of a running container.
//! `cargo run --example update_limits` (root; `scripts/make-rootfs.sh` first).

#[path = "common/mod.rs"]
mod common;

use berth::container::{create, delete, start, state, CreateOptions, Root};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Root::new("/run/berth-examples");
    let bundle = common::bundle(
        "update-limits",
        &["sleep", "30"],
        json!({ "memory": { "limit": 64 << 20 } }),
        json!({}),
    );
    create(
        &root,
        &CreateOptions {
            id: "update-limits".into(),
            bundle,
            ..Default::default()
        },
    )?;
    start(&root, "update-limits")?;
    let saved = state::peek(&root, "update-limits")?;
    let resources: berth::oci_spec::runtime::LinuxResources = serde_json::from_value(
        json!({ "memory": { "limit": 128 << 20 }, "cpu": { "shares": 256 } }),
    )?;
    saved.cgroup.update(&resources)?;
    let mem = saved.cgroup.path("memory").expect("memory controller");
    let cpu = saved.cgroup.path("cpu").expect("cpu controller");
    println!(
        "memory.limit_in_bytes = {}",
        std::fs::read_to_string(mem.join("memory.limit_in_bytes"))?.trim()
    );
    println!(
        "cpu.shares = {}",
        std::fs::read_to_string(cpu.join("cpu.shares"))?.trim()
    );
    delete(&root, "update-limits", true)?;
    Ok(())
}
