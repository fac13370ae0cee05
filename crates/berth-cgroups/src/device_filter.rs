//! Device access rules: v1 devices.allow/deny lines, and for cgroup v2 an eBPF
//! BPF_PROG_TYPE_CGROUP_DEVICE program with the same "last matching rule wins, default deny"
//! meaning, loaded and attached with the bpf(2) syscall (no loader crate needed for ~20 insns).

use crate::error::{invalid, Error, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// Checks every rule before anything is written.
pub(crate) fn validate(rules: &[LinuxDeviceCgroup]) -> Result<()> {
    for (i, r) in rules.iter().enumerate() {
        let field = format!("linux.resources.devices[{i}]");
        if let Some(a) = r.access() {
            // As runc: letters other than r, w, m mean nothing and are left out.
            if access(r).is_empty() {
                return Err(invalid(
                    format!("{field}.access"),
                    a,
                    "must hold at least one of r, w, m",
                ));
            }
            if access(r).len() != a.len() {
                log::debug!("{field}.access {a:?}: letters other than r, w, m ignored");
            }
        }
        for (name, v) in [("major", r.major()), ("minor", r.minor())] {
            if let Some(v) = v {
                if !(0..=u32::MAX as i64).contains(&v) {
                    return Err(invalid(
                        format!("{field}.{name}"),
                        v,
                        "must be between 0 and 4294967295 (omit for any)",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The rule's r, w, m letters (all three when access is not given).
fn access(r: &LinuxDeviceCgroup) -> String {
    r.access()
        .as_deref()
        .unwrap_or("rwm")
        .chars()
        .filter(|c| matches!(c, 'r' | 'w' | 'm'))
        .collect()
}

/// The v1 line for one rule, e.g. "c 1:3 rwm" or "a *:* rwm".
pub(crate) fn v1_line(r: &LinuxDeviceCgroup) -> String {
    let typ = r.typ().unwrap_or(LinuxDeviceType::A);
    let num = |v: Option<i64>| v.map_or("*".to_owned(), |v| v.to_string());
    format!(
        "{} {}:{} {}",
        typ.as_str(),
        num(r.major()),
        num(r.minor()),
        access(r)
    )
}

/// One eBPF instruction, laid out as the kernel's struct bpf_insn.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub regs: u8, // dst in the low nibble, src in the high nibble
    pub off: i16,
    pub imm: i32,
}

const LDX_W: u8 = 0x61; // dst = *(u32 *)(src + off)
const MOV32_K: u8 = 0xb4;
const MOV32_X: u8 = 0xbc;
const AND32_K: u8 = 0x54;
const RSH32_K: u8 = 0x74;
const JNE_K: u8 = 0x55;
const EXIT: u8 = 0x95;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
pub(crate) const DEV_BLOCK: i32 = 1;
pub(crate) const DEV_CHAR: i32 = 2;
pub(crate) const ACC_MKNOD: i32 = 1;
pub(crate) const ACC_READ: i32 = 2;
pub(crate) const ACC_WRITE: i32 = 4;

fn access_bits(s: &str) -> i32 {
    s.chars().fold(0, |b, c| {
        b | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// Builds the program. Rules are emitted last-first so the first block that matches is the
/// rule that wins in v1 semantics; falling off the end denies.
/// Registers: r2 = type, r3 = access, r4 = major, r5 = minor, r1 scratch.
pub(crate) fn program(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
    let mut p = vec![
        ins(LDX_W, 2, 1, 0, 0),
        ins(AND32_K, 2, 0, 0, 0xffff),
        ins(LDX_W, 3, 1, 0, 0),
        ins(RSH32_K, 3, 0, 0, 16),
        ins(LDX_W, 4, 1, 4, 0),
        ins(LDX_W, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        let typ = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some(DEV_BLOCK),
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
            // The device hook is never asked about FIFOs, so such a rule can never match.
            LinuxDeviceType::P => {
                log::debug!(
                    "cgroup v2 device program: skipping fifo rule {}",
                    v1_line(r)
                );
                continue;
            }
        };
        // Each condition is a list of insns ending in a JNE whose offset is patched below.
        let mut conds: Vec<Vec<Insn>> = Vec::new();
        if let Some(t) = typ {
            conds.push(vec![ins(JNE_K, 2, 0, 0, t)]);
        }
        let acc = access_bits(&access(r));
        if acc != ACC_READ | ACC_WRITE | ACC_MKNOD {
            // Requested access must be a subset of the rule's access.
            conds.push(vec![
                ins(MOV32_X, 1, 3, 0, 0),
                ins(AND32_K, 1, 0, 0, !acc & 7),
                ins(JNE_K, 1, 0, 0, 0),
            ]);
        }
        if let Some(m) = r.major() {
            conds.push(vec![ins(JNE_K, 4, 0, 0, m as u32 as i32)]);
        }
        if let Some(m) = r.minor() {
            conds.push(vec![ins(JNE_K, 5, 0, 0, m as u32 as i32)]);
        }
        let total: usize = conds.iter().map(Vec::len).sum::<usize>() + 2;
        let mut emitted = 0;
        for mut c in conds {
            emitted += c.len();
            let last = c.len() - 1;
            c[last].off = (total - emitted) as i16; // jump past the rest of this block
            p.extend(c);
        }
        p.push(ins(MOV32_K, 0, 0, 0, r.allow() as i32));
        p.push(ins(EXIT, 0, 0, 0, 0));
        // An unconditional rule shadows everything emitted after it.
        if typ.is_none() && r.major().is_none() && r.minor().is_none() && acc == 7 {
            return p;
        }
    }
    p.push(ins(MOV32_K, 0, 0, 0, 0));
    p.push(ins(EXIT, 0, 0, 0, 0));
    p
}

fn bpf(cmd: libc::c_long, attr: &mut [u64; 16]) -> std::io::Result<i64> {
    // SAFETY: attr is a zeroed, large-enough union bpf_attr buffer that outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u64 = 15;
const BPF_CGROUP_DEVICE: u64 = 6;
const BPF_F_ALLOW_MULTI: u64 = 2;

/// Loads the program into the kernel (the verifier checks it) and returns its fd.
pub(crate) fn load(insns: &[Insn], dir: &Path) -> Result<OwnedFd> {
    static LICENSE: &[u8] = b"Apache-2.0\0";
    let mut attr = [0u64; 16];
    // prog_type u32 | insn_cnt u32, then insns ptr, then license ptr.
    attr[0] = BPF_PROG_TYPE_CGROUP_DEVICE | ((insns.len() as u64) << 32);
    attr[1] = insns.as_ptr() as u64;
    attr[2] = LICENSE.as_ptr() as u64;
    let fd = bpf(BPF_PROG_LOAD, &mut attr).map_err(|source| Error::Bpf {
        op: "prog load",
        path: dir.to_owned(),
        source,
    })?;
    // SAFETY: the kernel returned a new fd that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches the device program to the cgroup directory. ALLOW_MULTI keeps nested runtimes able
/// to attach their own programs below ours (all attached programs must allow an access).
pub(crate) fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let insns = program(rules);
    let prog = load(&insns, dir)?;
    let cg = std::fs::File::open(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut attr = [0u64; 16];
    // target_fd u32 | attach_bpf_fd u32, then attach_type u32 | attach_flags u32.
    attr[0] = (cg.as_raw_fd() as u32 as u64) | ((prog.as_raw_fd() as u32 as u64) << 32);
    attr[1] = BPF_CGROUP_DEVICE | (BPF_F_ALLOW_MULTI << 32);
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|source| Error::Bpf {
        op: "prog attach",
        path: dir.to_owned(),
        source,
    })?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny interpreter for exactly the instructions `program` emits, so tests check what the
    /// program decides rather than its bytes.
    pub(crate) fn run(p: &[Insn], typ: i32, acc: i32, major: u32, minor: u32) -> u64 {
        let ctx = [((acc as u32) << 16) | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (d, s) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_W => {
                    assert_eq!(s, 1);
                    r[d] = ctx[i.off as usize / 4] as u64
                }
                MOV32_K => r[d] = i.imm as u32 as u64,
                MOV32_X => r[d] = r[s] as u32 as u64,
                AND32_K => r[d] = (r[d] as u32 & i.imm as u32) as u64,
                RSH32_K => r[d] = ((r[d] as u32) >> i.imm) as u64,
                JNE_K => {
                    if r[d] != i.imm as u32 as u64 {
                        pc = (pc as i64 + i.off as i64) as usize
                    }
                }
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    pub(crate) fn rule(
        allow: bool,
        typ: LinuxDeviceType,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut r = LinuxDeviceCgroup::default();
        r.set_allow(allow);
        r.set_typ(Some(typ));
        r.set_major(major);
        r.set_minor(minor);
        r.set_access(Some(access.to_owned()));
        r
    }

    #[test]
    fn docker_like_rules() {
        let rules = vec![
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"), // /dev/null
            rule(true, LinuxDeviceType::C, Some(1), Some(5), "r"),   // /dev/zero read-only
            rule(true, LinuxDeviceType::C, None, None, "m"),         // mknod any char
            rule(false, LinuxDeviceType::C, Some(1), Some(3), "w"),  // later deny wins for writes
        ];
        let p = program(&rules);
        let rd = ACC_READ;
        assert_eq!(run(&p, DEV_CHAR, rd, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, ACC_WRITE, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, rd, 1, 5), 1);
        assert_eq!(run(&p, DEV_CHAR, rd | ACC_WRITE, 1, 5), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_MKNOD, 8, 0), 1);
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 0);
        assert_eq!(run(&p, DEV_BLOCK, rd, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, rd, 1, 4), 0);
    }

    #[test]
    fn allow_all_shadows_earlier_rules_and_empty_denies() {
        let p = program(&[
            rule(false, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
            rule(true, LinuxDeviceType::A, None, None, "rwm"),
        ]);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 1);
        assert_eq!(
            p.len(),
            6 + 2,
            "rules after an unconditional one are dropped"
        );
        assert_eq!(run(&program(&[]), DEV_CHAR, ACC_READ, 1, 3), 0);
    }

    #[test]
    fn v1_lines_and_validation() {
        assert_eq!(
            v1_line(&rule(true, LinuxDeviceType::C, Some(1), Some(3), "rw")),
            "c 1:3 rw"
        );
        assert_eq!(
            v1_line(&rule(false, LinuxDeviceType::A, None, None, "rwm")),
            "a *:* rwm"
        );
        let e = validate(&[rule(true, LinuxDeviceType::C, Some(-2), None, "r")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("devices[0].major") && e.contains("-2"), "{e}");
        // Other letters are left out (runc's "rwa" is "rw"); none of r, w, m is refused.
        let rwa = rule(false, LinuxDeviceType::C, Some(1), Some(11), "rwa");
        validate(std::slice::from_ref(&rwa)).unwrap();
        assert_eq!(v1_line(&rwa), "c 1:11 rw");
        let e = validate(&[rule(true, LinuxDeviceType::C, None, None, "xa")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"xa\""), "{e}");
    }

    /// The kernel verifier accepts what we generate (needs root and CONFIG_CGROUP_BPF).
    #[test]
    fn kernel_verifier_accepts_program() {
        if unsafe { libc::geteuid() } != 0 {
            berth_testkit::skip("loading a bpf program needs root");
            return;
        }
        let rules = vec![
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rw"),
            rule(true, LinuxDeviceType::B, None, Some(0), "m"),
        ];
        load(&program(&rules), Path::new("/")).expect("verifier rejected the device program");
    }

    /// Attaches a program on this host's cgroup2 hierarchy (device programs are enforced there
    /// even on hybrid hosts) and checks that the kernel applies it to a process inside.
    #[test]
    fn attached_program_is_enforced_by_the_kernel() {
        use std::io::Write as _;
        // The cgroup2 mount: /sys/fs/cgroup/unified on hybrid hosts, /sys/fs/cgroup on pure v2.
        let unified = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
            .map(Path::new)
            .into_iter()
            .find(|p| p.join("cgroup.controllers").exists());
        let Some(unified) = unified.filter(|_| unsafe { libc::geteuid() } == 0) else {
            berth_testkit::skip("needs root and a cgroup2 mount");
            return;
        };
        let dir = unified.join(format!("berth-bpf-test-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let rules = vec![
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rw"), // /dev/null
        ];
        let result = (|| {
            attach(&dir, &rules)?;
            let mut c = std::process::Command::new("sh")
                .arg("-c")
                .arg("read go; echo x > /dev/null && echo null-ok; head -c1 /dev/zero > /dev/null 2>&1 || echo zero-denied")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::fs::write(dir.join("cgroup.procs"), c.id().to_string()).unwrap();
            c.stdin.take().unwrap().write_all(b"go\n").unwrap();
            Ok::<_, Error>(c.wait_with_output().unwrap())
        })();
        let _ = std::fs::remove_dir(&dir);
        let out = String::from_utf8(result.unwrap().stdout).unwrap();
        assert_eq!(out, "null-ok\nzero-denied\n");
    }
}
