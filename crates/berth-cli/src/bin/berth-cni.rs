//! berth-cni: the CNI plugin entry point (ADD, DEL, CHECK, VERSION).
//! A runtime runs it with the CNI_* environment and the network
//! configuration on stdin; everything else is in `berth_net::cni`.

use std::io::{Read, Write};

fn main() {
    let mut stdin = Vec::new();
    // An unreadable stdin is treated as empty: the config parser reports it.
    let _ = std::io::stdin().read_to_end(&mut stdin);
    let out = berth_net::cni::run(|k| std::env::var(k).ok(), &stdin);
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.stdout.as_bytes());
    if !out.stdout.is_empty() {
        let _ = so.write_all(b"\n");
    }
    let _ = so.flush();
    std::process::exit(out.exit_code);
}
