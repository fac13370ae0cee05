//! Fuzzes docker `-p`/`--expose` spec parsing: never panics, errors are one
//! line naming the input, and every accepted spec prints back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    match berth_net::parse_publish(s) {
        Ok(spec) => {
            assert!(spec.container_port != 0);
            assert!(spec.host_port != Some(0));
            let again = berth_net::parse_publish(&spec.to_string()).expect("printed spec must parse");
            assert_eq!(again, spec);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n') || s.contains('\n'), "multi-line error: {msg}");
        }
    }
    if let Ok((port, _)) = berth_net::parse_expose(s) {
        assert!(port != 0);
    }
});
