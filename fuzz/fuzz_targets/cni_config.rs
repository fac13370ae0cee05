//! Fuzzes the CNI stdin config parser (and the CNI_ARGS `IP=` it combines
//! with): never panics, errors carry a CNI error code, and every accepted
//! config is a valid bridge-mode berth network config.
#![no_main]

use berth_net::cni::{code, parse_config, SUPPORTED_VERSIONS};
use berth_net::Mode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first line, when short, doubles as CNI_ARGS' IP= value.
    let (ip, config) = match data.iter().position(|b| *b == b'\n') {
        Some(i) if i < 40 => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        _ => (None, data),
    };
    match parse_config(config, ip) {
        Ok(c) => {
            assert!(SUPPORTED_VERSIONS.contains(&c.cni_version.as_str()));
            assert!(!c.name.is_empty());
            assert_eq!(c.network.mode, Mode::Bridge);
            c.network.validate().expect("accepted config must validate");
            assert!(c.state_root.is_absolute());
        }
        Err(e) => {
            assert!(
                matches!(
                    e.code,
                    code::INCOMPATIBLE_VERSION
                        | code::UNSUPPORTED_FIELD
                        | code::DECODE
                        | code::INVALID_CONFIG
                        | code::EXHAUSTED
                        | code::IO_FAILURE
                        | code::SETUP_FAILED
                ),
                "unexpected code {}",
                e.code
            );
            assert!(!e.msg.is_empty());
        }
    }
});
