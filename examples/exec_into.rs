//! Starts a container, then runs a second process inside it with `exec`.
//! `cargo run --example exec_into` (root; `scripts/make-rootfs.sh` first).

#[path = "common/mod.rs"]
mod common;

use berth::container::exec::{container_process, exec, ExecOptions};
use berth::container::{create, delete, start, CreateOptions, Root};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Root::new("/run/berth-examples");
    let bundle = common::bundle("exec-into", &["sleep", "30"], json!({}), json!({}));
    create(
        &root,
        &CreateOptions {
            id: "exec-into".into(),
            bundle,
            ..Default::default()
        },
    )?;
    start(&root, "exec-into")?;
    let mut process = container_process(&root, "exec-into")?;
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "echo exec sees pid 1 as $(cat /proc/1/comm); hostname".into(),
    ]));
    let e = exec(
        &root,
        &ExecOptions {
            id: "exec-into".into(),
            process,
            ..Default::default()
        },
    )?;
    println!("exec'd process exited with {}", common::wait_exit(e.pid));
    delete(&root, "exec-into", true)?;
    Ok(())
}
