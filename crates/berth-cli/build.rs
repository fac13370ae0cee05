// Release builds of `berth` get their hot functions (crates/berth-cli/link-order.txt,
// written by bench/link-order.sh) laid side by side at the start of the text, and
// the read-only data those functions use (link-order.ld) at the start of .rodata.
// The kernel maps a binary's pages in 64 KiB windows around each fault, so hot code
// and data scattered over the binary made most of it resident: peak RSS, not
// speed, is why.
//
// These are lld options: they are passed only where rustc links with its own lld
// by default (x86_64 Linux GNU, Rust 1.90 and later), and BERTH_LINK_ORDER=0 turns
// them off for a toolchain configured with another linker.
fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-changed=link-order.ld");
    println!("cargo:rerun-if-env-changed=BERTH_LINK_ORDER");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let wanted = std::env::var("BERTH_LINK_ORDER").as_deref() != Ok("0");
    if !release || !wanted || !links_with_rust_lld() {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--symbol-ordering-file={dir}/link-order.txt");
    // The list names functions of one build; ones renamed or inlined since are skipped.
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--no-warn-symbol-ordering");
    // The same for the read-only data they use: the compiler's constants have no
    // symbols, so a linker script names their sections (lld adds it to its own layout).
    println!("cargo:rustc-link-arg-bin=berth=-Wl,-T,{dir}/link-order.ld");
    // Relative relocations packed as DT_RELR: ld.so reads 4 KiB of bitmaps at start
    // instead of 260 KiB of RELA records. The binary then needs glibc 2.36 or later.
    println!("cargo:rustc-link-arg-bin=berth=-Wl,-z,pack-relative-relocs");
    // The binary stays position-independent: a non-PIE link saved another ~0.4 MB
    // of relocation work at start, but berth runs as root on untrusted input, and
    // address randomization of its own image is worth more than that.
}

/// Whether this target's default linker is rustc's bundled lld.
fn links_with_rust_lld() -> bool {
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu") {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("-vV").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let minor = text
        .lines()
        .find_map(|l| l.strip_prefix("release: 1."))
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
