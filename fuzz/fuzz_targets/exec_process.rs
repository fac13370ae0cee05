//! `berth exec -p process.json` reads an untrusted process: parsing must never
//! panic; an accepted process names a program, has an absolute cwd and
//! KEY=value environment, survives a round trip through JSON, and its
//! capabilities either plan or fail with an error, never a panic.
#![no_main]

use berth_container::caps::CapPlan;
use berth_container::config::parse_process;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = match parse_process(data) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let args = p.args().as_ref().expect("accepted process has args");
    assert!(!args.is_empty() && !args[0].is_empty());
    assert!(p.cwd().is_absolute());
    assert!(p.env().iter().flatten().all(|e| e.contains('=')));
    let json = serde_json::to_vec(&p).expect("a process serialises");
    let again = parse_process(&json).expect("a written process parses");
    assert_eq!(again, p, "process did not round-trip");
    let _ = CapPlan::new(p.capabilities().as_ref());
});
