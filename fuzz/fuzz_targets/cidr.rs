//! Fuzzes IPv4 CIDR parsing (subnet and `--bip` forms): never panics, accepted
//! values round-trip, and the derived addresses are consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(c) = berth_net::parse_cidr(s) else { return };
    assert!(c.prefix() <= 32);
    assert_eq!(berth_net::parse_cidr(&c.to_string()).expect("printed CIDR must parse"), c);
    assert!(c.contains(c.addr()));
    assert!(c.contains(c.network()) && c.contains(c.broadcast()));
    assert!(u32::from(c.network()) <= u32::from(c.broadcast()));
    assert!(c.subnet().overlaps(&c));
    if c.check_bridge_subnet().is_ok() {
        let gw = c.gateway();
        assert!(c.contains(gw) && gw != c.network() && gw != c.broadcast());
        if let Some(first) = c.leasable().next() {
            assert!(c.unleasable_reason(first).is_none());
        }
    }
});
