#![no_main]
//! parse_memory_size takes whatever a person types after --memory: it must never panic, and any
//! value it accepts must be -1 or a non-negative byte count.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        match berth_cgroups::parse_memory_size(s) {
            Ok(v) => assert!(v >= -1, "{s:?} parsed to {v}"),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
