//! Changes the memory limit and CPU shares of a running container, as `berth update` does:
//! under the container's lock, all or nothing, and merged into its saved config.
//! `cargo run --example update_limits` (root; `scripts/make-rootfs.sh` first).

#[path = "common/mod.rs"]
mod common;

use berth::container::{create, delete, start, Container, CreateOptions, Root};
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
    let mut c = Container::load(&root, "update-limits")?;
    let resources: berth::oci_spec::runtime::LinuxResources = serde_json::from_value(
        json!({ "memory": { "limit": 128 << 20 }, "cpu": { "shares": 256 } }),
    )?;
    c.update(&resources)?;
    let value = |ctrl: &str, names: &[&str]| -> Result<String, Box<dyn std::error::Error>> {
        let dir = c.cgroup_path(ctrl).ok_or(format!("no {ctrl} controller"))?;
        let (name, v) = common::cgroup_value(dir, names)?;
        Ok(format!("{name} = {v}"))
    };
    println!(
        "{}",
        value("memory", &["memory.limit_in_bytes", "memory.max"])?
    );
    println!("{}", value("cpu", &["cpu.shares", "cpu.weight"])?);
    // What later commands (and `berth state`'s config) see: a fresh load of the saved state.
    let saved = Container::load(&root, "update-limits")?.resources();
    println!(
        "saved memory.limit = {:?}, cpu.shares = {:?}",
        saved.memory().as_ref().and_then(|m| m.limit()),
        saved.cpu().as_ref().and_then(|c| c.shares())
    );
    delete(&root, "update-limits", true)?;
    Ok(())
}
