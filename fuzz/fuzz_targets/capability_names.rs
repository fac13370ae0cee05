#![no_main]
//! Capability names come from config.json and from --cap-add/--cap-drop: parsing
//! must never panic, an accepted name must round-trip through its canonical
//! form, and resolve() must return sorted, unique, parseable `CAP_*` names.

use berth_container::caps::{parse_capability, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = parse_capability(s) {
        let canonical = c.to_string();
        assert!(canonical.starts_with("CAP_"), "{canonical}");
        assert_eq!(parse_capability(&canonical).unwrap(), c);
    }
    // Lines split into base / add / drop lists by a leading '+' or '-'.
    let mut base = Vec::new();
    let mut add = Vec::new();
    let mut drop = Vec::new();
    for line in s.lines() {
        if let Some(n) = line.strip_prefix('+') {
            add.push(n.to_string());
        } else if let Some(n) = line.strip_prefix('-') {
            drop.push(n.to_string());
        } else {
            base.push(line.to_string());
        }
    }
    if let Ok(out) = resolve(&base, &add, &drop) {
        for w in out.windows(2) {
            assert!(w[0] < w[1], "not sorted and unique: {out:?}");
        }
        for n in &out {
            assert!(n.starts_with("CAP_"));
            parse_capability(n).unwrap();
        }
    }
});
