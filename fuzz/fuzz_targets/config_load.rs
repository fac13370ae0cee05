//! config.json parsing and validation must never panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(spec) = berth_container::config::parse(data) {
        // A spec that validated must survive a round trip unchanged in meaning.
        let again = serde_json::to_vec(&spec).expect("a parsed spec serialises");
        assert!(berth_container::config::parse(&again).is_ok(), "validated spec failed to re-validate");
    }
});
