// Release builds of `berth` get their hot functions (crates/berth-cli/link-order.txt,
// written by bench/link-order.sh) laid side by side at the start of the text. The
// kernel maps executable pages in 64 KiB windows around each fault, so hot code
// scattered over the binary made most of it resident: peak RSS, not speed, is why.
fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    if std::env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--symbol-ordering-file={dir}/link-order.txt");
    // The list names functions of one build; ones renamed or inlined since are skipped.
    println!("cargo:rustc-link-arg-bin=berth=-Wl,--no-warn-symbol-ordering");
    // A position-dependent executable: no relative relocations for ld.so to apply at
    // every start, which wrote (and so made resident) most of .data.rel.ro and read all
    // of .rela.dyn. The price is that berth's own image is not address-randomized.
    println!("cargo:rustc-link-arg-bin=berth=-no-pie");
}
