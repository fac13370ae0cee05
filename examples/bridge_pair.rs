//! Two containers on a custom-subnet bridge: the second pings the first.
//! `cargo run --example bridge_pair` (root; `scripts/make-rootfs.sh` first).

#[path = "common/mod.rs"]
mod common;

use berth::container::{create, delete, start, CreateOptions, Root};
use berth::net::{Mode, NetworkConfig};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Root::new("/run/berth-examples");
    let net = NetworkConfig {
        mode: Mode::Bridge,
        bridge: "berth-ex0".into(),
        subnet: Some(berth::net::parse_cidr("10.213.7.0/24")?),
        ..Default::default()
    };
    let annotations = serde_json::to_value(net.to_annotations())?;
    let server = common::bundle("pair-a", &["sleep", "30"], json!({}), annotations.clone());
    create(
        &root,
        &CreateOptions {
            id: "pair-a".into(),
            bundle: server,
            ..Default::default()
        },
    )?;
    start(&root, "pair-a")?;
    let client = common::bundle(
        "pair-b",
        &[
            "sh",
            "-c",
            "ip -4 addr show eth0 | grep inet; ping -c 1 -W 2 10.213.7.2",
        ],
        json!({}),
        annotations,
    );
    let c = create(
        &root,
        &CreateOptions {
            id: "pair-b".into(),
            bundle: client,
            ..Default::default()
        },
    )?;
    start(&root, "pair-b")?;
    let code = common::wait_exit(c.saved.pid());
    println!("ping from pair-b to pair-a exited with {code}");
    delete(&root, "pair-b", true)?;
    delete(&root, "pair-a", true)?;
    // The bridge outlives its containers until asked to go.
    berth::net::remove_bridge(root.path(), "berth-ex0")?;
    Ok(())
}
