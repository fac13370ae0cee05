#![no_main]
//! Mount options come from config.json: the parser must never panic, and
//! whatever it accepts must be safe to hand to mount(2): the data string is
//! made only of options that were given, with no NUL and no smuggled commas,
//! and set/clear attribute masks never overlap.
//!
//! Input: first line is the mount type ("" for none), the rest one option per line.

use berth_container::rootfs::mount_options::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let typ = lines.next().filter(|t| !t.is_empty());
    let opts: Vec<String> = lines.map(str::to_string).collect();
    let Ok(m) = parse(typ, &opts) else { return };
    assert!(!m.data.contains('\0'));
    if !m.data.is_empty() {
        for d in m.data.split(',') {
            assert!(opts.iter().any(|o| o == d), "data option {d:?} was not given");
        }
    }
    assert_eq!(m.attr_set & m.attr_clr & !libc_atime_mask(), 0);
    assert_eq!(m.rec_attr_set & m.rec_attr_clr & !libc_atime_mask(), 0);
    if m.recursive {
        assert!(m.bind);
    }
    // Parsing is deterministic.
    assert_eq!(parse(typ, &opts), Ok(m));
});

/// MOUNT_ATTR__ATIME: an atime mode is set by clearing the mask and setting one value.
fn libc_atime_mask() -> u64 {
    0x70
}
