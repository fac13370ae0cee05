//! `berth spec --security-opt seccomp=FILE` reads an OCI or docker-format
//! profile file: translation must never panic; an accepted profile compiles,
//! keeps at most the rules the file has, and is a fixed point (written out as
//! OCI JSON, it translates to itself).
//!
//! Input: the profile JSON; when it does not start with `{`, its first line
//! is the container's capabilities, comma-separated (else docker's default set).
#![no_main]

use berth_container::caps::docker_default;
use berth_container::seccomp::{parse_profile, SeccompPlan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (caps, json) = if text.starts_with('{') {
        (docker_default(), text)
    } else {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        (first.split(',').map(str::to_string).collect(), rest)
    };
    let Ok(profile) = parse_profile(json, &caps) else {
        return;
    };
    SeccompPlan::new(&profile).expect("an accepted profile compiles");
    let given = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| v.get("syscalls").and_then(|s| s.as_array()).map(Vec::len))
        .unwrap_or(0);
    let kept = profile.syscalls().as_ref().map_or(0, Vec::len);
    assert!(kept <= given, "{kept} rules out of {given}");
    let written = serde_json::to_string(&profile).expect("a profile serialises");
    let again = parse_profile(&written, &caps).expect("a written profile parses");
    assert_eq!(again, profile, "translation is not a fixed point");
});
