#![no_main]
//! linux.seccomp comes from an untrusted config.json: translation must never
//! panic, and any program it produces must be one the kernel would accept:
//! non-empty, at most 4096 instructions, every jump landing inside the program,
//! and no path able to fall off its end.

use berth_container::seccomp::SeccompPlan;
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;

const BPF_CLASS_JMP: u16 = 0x05;
const BPF_CLASS_RET: u16 = 0x06;
const BPF_JA: u16 = 0x00;
/// SECCOMP_FILTER_FLAG_NEW_LISTENER
const NEW_LISTENER: u64 = 1 << 3;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = serde_json::from_slice::<LinuxSeccomp>(data) else { return };
    let Ok(plan) = SeccompPlan::new(&s) else { return };
    let prog = plan.program();
    assert!(!prog.is_empty() && prog.len() <= 4096, "length {}", prog.len());
    for (pc, ins) in prog.iter().enumerate() {
        let class = ins.code & 0x07;
        if class == BPF_CLASS_JMP {
            if ins.code & 0xf0 == BPF_JA {
                assert!(pc + 1 + (ins.k as usize) < prog.len(), "ja out of range at {pc}");
            } else {
                assert!(pc + 1 + (ins.jt as usize) < prog.len(), "jt out of range at {pc}");
                assert!(pc + 1 + (ins.jf as usize) < prog.len(), "jf out of range at {pc}");
            }
        }
    }
    let last = prog[prog.len() - 1];
    assert_eq!(last.code & 0x07, BPF_CLASS_RET, "program does not end in a return");
    assert_eq!(plan.needs_notify(), plan.flags() & NEW_LISTENER != 0);
});
