//! Runs a busybox container with a 64 MiB memory limit and 512 CPU shares,
//! prints what it reports about its own limits, and deletes it.
//! `cargo run --example run_busybox` (root; `scripts/make-rootfs.sh` first).

#[path = "common/mod.rs"]
mod common;

use berth::container::{create, delete, start, Container, CreateOptions, Root};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Root::new("/run/berth-examples");
    let bundle = common::bundle(
        "run-busybox",
        &[
            "sh",
            "-c",
            "echo hello from $(hostname); cat /proc/self/cgroup",
        ],
        json!({ "memory": { "limit": 64 * 1024 * 1024 }, "cpu": { "shares": 512 } }),
        json!({}),
    );
    let id = "run-busybox";
    let created = create(
        &root,
        &CreateOptions {
            id: id.into(),
            bundle,
            ..Default::default()
        },
    )?;
    let cg = Container::load(&root, id)?
        .cgroup_path("memory")
        .ok_or("no memory controller")?
        .to_path_buf();
    let (name, limit) = common::cgroup_value(&cg, &["memory.limit_in_bytes", "memory.max"])?;
    println!("{name} = {limit}");
    start(&root, id)?;
    let code = common::wait_exit(created.saved.pid());
    println!("container exited with {code}");
    delete(&root, id, true)?;
    Ok(())
}
