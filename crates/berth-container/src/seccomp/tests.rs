//! Translation tests: the compiled program is run by a small classic-BPF
//! interpreter against synthetic `seccomp_data`, so every operator and the
//! chaining of action groups are checked without the kernel.

use super::*;
use std::os::fd::FromRawFd;

/// Run `prog` on (arch, nr, args) the way the kernel's seccomp does.
fn run(prog: &[libc::sock_filter], arch: u32, nr: i64, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&(nr as i32).to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "program loops");
        let ins = prog[pc];
        match ins.code {
            BPF_LD_W_ABS => {
                let o = ins.k as usize;
                acc = u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
                pc += 1;
            }
            0x54 => {
                // BPF_ALU | BPF_AND | BPF_K
                acc &= ins.k;
                pc += 1;
            }
            BPF_JMP_JA => pc += 1 + ins.k as usize,
            BPF_JMP_JEQ_K | 0x25 | BPF_JMP_JGE_K => {
                let t = match ins.code {
                    BPF_JMP_JEQ_K => acc == ins.k,
                    0x25 => acc > ins.k,
                    _ => acc >= ins.k,
                };
                pc += 1 + if t { ins.jt as usize } else { ins.jf as usize };
            }
            BPF_RET_K => return ins.k,
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
    }
}

fn nr(name: &str) -> i64 {
    syscalls::number(name).unwrap()
}

fn plan(json: &str) -> Result<SeccompPlan> {
    let s: LinuxSeccomp = serde_json::from_str(json).expect("test JSON parses");
    SeccompPlan::new(&s)
}

fn call(p: &SeccompPlan, name: &str, args: [u64; 6]) -> u32 {
    run(p.program(), native::AUDIT, nr(name), args)
}

const ERRNO: u32 = libc::SECCOMP_RET_ERRNO;
const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

#[test]
fn default_and_errno_rules() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38},
            {"names":["rmdir"],"action":"SCMP_ACT_ERRNO"},
            {"names":["no_such_syscall_at_all"],"action":"SCMP_ACT_KILL"}]}"#,
    )
    .unwrap();
    assert_eq!(call(&p, "mkdirat", [0; 6]), ERRNO | 38);
    assert_eq!(call(&p, "rmdir", [0; 6]), ERRNO | 1);
    assert_eq!(call(&p, "getpid", [0; 6]), ALLOW);
    assert!(!p.needs_notify());
    assert_eq!(p.flags(), libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
}

#[test]
fn syscalls_newer_than_berth_knows_get_enosys() {
    let newest = syscalls::entries().map(|(_, n)| n).max().unwrap();
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#)
        .unwrap();
    let enosys = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
    assert_eq!(run(p.program(), native::AUDIT, newest + 1, [0; 6]), enosys);
    assert_eq!(
        run(p.program(), native::AUDIT, newest + 100, [0; 6]),
        enosys
    );
    // A known syscall outside the profile still gets the default action.
    assert_eq!(
        call(&p, "write", [0; 6]),
        libc::SECCOMP_RET_ERRNO | libc::EPERM as u32
    );
    assert_eq!(call(&p, "read", [0; 6]), libc::SECCOMP_RET_ALLOW);
    // With an allowing default, nothing changes for them.
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["write"],"action":"SCMP_ACT_ERRNO"}]}"#)
        .unwrap();
    assert_eq!(
        run(p.program(), native::AUDIT, newest + 1, [0; 6]),
        libc::SECCOMP_RET_ALLOW
    );
}

#[test]
fn foreign_arch_and_x32_are_killed() {
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    assert_eq!(call(&p, "getpid", [0; 6]), ALLOW);
    assert_eq!(
        run(p.program(), 0x4000_0003, 20, [0; 6]),
        libc::SECCOMP_RET_KILL_PROCESS
    );
    if let Some(bit) = native::X32_BIT {
        let x32 = nr("getpid") | i64::from(bit);
        assert_eq!(
            run(p.program(), native::AUDIT, x32, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }
}

#[test]
fn every_operator() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":10,"args":[{"index":0,"value":5,"op":"SCMP_CMP_NE"}]},
            {"names":["write"],"action":"SCMP_ACT_ERRNO","errnoRet":11,"args":[{"index":1,"value":5,"op":"SCMP_CMP_LT"}]},
            {"names":["close"],"action":"SCMP_ACT_ERRNO","errnoRet":12,"args":[{"index":2,"value":5,"op":"SCMP_CMP_LE"}]},
            {"names":["dup"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":3,"value":5,"op":"SCMP_CMP_EQ"}]},
            {"names":["dup2"],"action":"SCMP_ACT_ERRNO","errnoRet":14,"args":[{"index":4,"value":5,"op":"SCMP_CMP_GE"}]},
            {"names":["dup3"],"action":"SCMP_ACT_ERRNO","errnoRet":15,"args":[{"index":5,"value":5,"op":"SCMP_CMP_GT"}]},
            {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":16,"args":[{"index":1,"value":240,"valueTwo":48,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    )
    .unwrap();
    let with = |i: usize, v: u64| {
        let mut a = [0u64; 6];
        a[i] = v;
        a
    };
    assert_eq!(call(&p, "read", with(0, 5)), ALLOW);
    assert_eq!(call(&p, "read", with(0, 4)), ERRNO | 10);
    assert_eq!(
        call(&p, "read", with(0, 5 | 1 << 32)),
        ERRNO | 10,
        "64-bit compare"
    );
    assert_eq!(call(&p, "write", with(1, 4)), ERRNO | 11);
    assert_eq!(call(&p, "write", with(1, 5)), ALLOW);
    assert_eq!(call(&p, "write", with(1, 1 << 40)), ALLOW);
    assert_eq!(call(&p, "close", with(2, 5)), ERRNO | 12);
    assert_eq!(call(&p, "close", with(2, 6)), ALLOW);
    assert_eq!(call(&p, "dup", with(3, 5)), ERRNO | 13);
    assert_eq!(call(&p, "dup", with(3, 6)), ALLOW);
    assert_eq!(call(&p, "dup", with(3, 5 | 1 << 32)), ALLOW);
    assert_eq!(call(&p, "dup2", with(4, 5)), ERRNO | 14);
    assert_eq!(call(&p, "dup2", with(4, 4)), ALLOW);
    assert_eq!(call(&p, "dup2", with(4, 1 << 33)), ERRNO | 14);
    assert_eq!(call(&p, "dup3", with(5, 5)), ALLOW);
    assert_eq!(call(&p, "dup3", with(5, 6)), ERRNO | 15);
    assert_eq!(call(&p, "kill", with(1, 0x3f)), ERRNO | 16);
    assert_eq!(call(&p, "kill", with(1, 0x30)), ERRNO | 16);
    assert_eq!(call(&p, "kill", with(1, 0x70)), ALLOW);
    assert_eq!(
        call(&p, "kill", with(1, 0x1_0030)),
        ERRNO | 16,
        "bits outside the mask are ignored"
    );
}

#[test]
fn args_are_anded_but_same_index_is_ored() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":2,"op":"SCMP_CMP_EQ"}]},
            {"names":["write"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    assert_eq!(call(&p, "read", [1, 2, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "read", [1, 3, 0, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "read", [0, 2, 0, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "write", [1, 0, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "write", [2, 0, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "write", [3, 0, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn groups_chain_and_more_restrictive_wins() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":99,"syscalls":[
            {"names":["getpid","personality"],"action":"SCMP_ACT_ALLOW"},
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":7,"args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["gettid"],"action":"SCMP_ACT_TRAP"},
            {"names":["getppid"],"action":"SCMP_ACT_LOG"},
            {"names":["getuid"],"action":"SCMP_ACT_KILL_PROCESS"},
            {"names":["getgid"],"action":"SCMP_ACT_KILL"},
            {"names":["geteuid"],"action":"SCMP_ACT_TRACE","errnoRet":5}]}"#,
    )
    .unwrap();
    assert_eq!(call(&p, "getpid", [0; 6]), ALLOW);
    assert_eq!(call(&p, "personality", [0; 6]), ALLOW);
    assert_eq!(call(&p, "personality", [8, 0, 0, 0, 0, 0]), ERRNO | 7);
    assert_eq!(call(&p, "gettid", [0; 6]), libc::SECCOMP_RET_TRAP);
    assert_eq!(call(&p, "getppid", [0; 6]), libc::SECCOMP_RET_LOG);
    assert_eq!(call(&p, "getuid", [0; 6]), libc::SECCOMP_RET_KILL_PROCESS);
    assert_eq!(call(&p, "getgid", [0; 6]), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(call(&p, "geteuid", [0; 6]), libc::SECCOMP_RET_TRACE | 5);
    assert_eq!(call(&p, "mkdirat", [0; 6]), ERRNO | 99);
}

#[test]
fn unconditional_rule_absorbs_conditional_ones() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["read"],"action":"SCMP_ACT_ERRNO"},
            {"names":["write"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
            {"names":["write"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"}]}]}"#,
    )
    .unwrap();
    assert_eq!(call(&p, "read", [5, 0, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "write", [1, 0, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "write", [2, 0, 0, 0, 0, 0]), ERRNO | 1);
    assert_eq!(call(&p, "write", [3, 0, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn impossible_masked_rule_is_dropped() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":15,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    )
    .unwrap();
    for v in [0u64, 15, 16, 31] {
        assert_eq!(call(&p, "read", [v, 0, 0, 0, 0, 0]), ALLOW);
    }
}

#[test]
fn flags_translate() {
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    // TSYNC is left out (one thread), as runc leaves it.
    assert_eq!(
        p.flags(),
        libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
    // No flags at all is SPEC_ALLOW; an explicit empty list is none.
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).unwrap();
    assert_eq!(p.flags(), libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":[]}"#).unwrap();
    assert_eq!(p.flags(), 0);
}

#[test]
fn notify_needs_listener_path_and_sets_new_listener() {
    let e = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("listenerPath"), "{e}");
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","flags":["SECCOMP_FILTER_FLAG_TSYNC"],
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    )
    .unwrap();
    assert!(p.needs_notify());
    assert_eq!(p.flags(), libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
    assert_eq!(p.listener_path(), Some(Path::new("/run/agent.sock")));
    assert_eq!(call(&p, "mkdir", [0; 6]), libc::SECCOMP_RET_USER_NOTIF);
    let e = plan(r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("defaultAction"), "{e}");
    let e = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","syscalls":[{"names":["write"],"action":"SCMP_ACT_NOTIFY"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("SCMP_ACT_NOTIFY cannot be used for the write syscall"),
        "{e}"
    );
}

#[test]
fn bad_input_is_invalid_naming_the_field() {
    let cases = [
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_S390X"]}"#,
            "linux.seccomp.architectures",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"]}"#,
            "linux.seccomp.architectures",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","errnoRet":70000}]}"#,
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_KILL","errnoRet":1}]}"#,
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":3}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
    ];
    for (json, want) in cases {
        let e = plan(json).unwrap_err();
        match &e {
            Error::Invalid { field, .. } => assert_eq!(field, want, "{json}: {e}"),
            // An architecture this machine cannot run is the host's limit, not bad JSON.
            Error::Unsupported { what, .. } => assert_eq!(what, want, "{json}: {e}"),
            e => panic!("{json}: {e:?}"),
        }
    }
    let e = plan(cases[0].0).unwrap_err().to_string();
    assert!(e.contains("SCMP_ARCH_S390X cannot run"), "{e}");
    let e = plan(cases[2].0).unwrap_err().to_string();
    assert!(
        e.starts_with("linux.seccomp.syscalls[0].args[0].index \"6\": out of range"),
        "{e}"
    );
    // Native arch alongside its compatibility arches is fine.
    plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]}"#)
        .unwrap();
    // Unknown actions are rejected when the JSON is parsed, and by parse_action.
    assert!(serde_json::from_str::<LinuxSeccomp>(r#"{"defaultAction":"SCMP_ACT_NOPE"}"#).is_err());
    assert!(parse_action("SCMP_ACT_NOPE")
        .unwrap_err()
        .to_string()
        .contains("SCMP_ACT_NOPE"));
    assert_eq!(
        parse_action("SCMP_ACT_ERRNO").unwrap(),
        Action::ScmpActErrno
    );
}

#[test]
fn too_large_is_invalid() {
    let names: Vec<String> = syscalls::entries()
        .map(|(n, _)| format!("\"{n}\""))
        .collect();
    let mut rules = Vec::new();
    for i in 0..30 {
        rules.push(format!(
            r#"{{"names":[{}],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}}]}}"#,
            names.join(","),
            i + 1
        ));
    }
    let json = format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        rules.join(",")
    );
    let e = plan(&json).unwrap_err().to_string();
    assert!(
        e.contains("BPF instructions") || e.contains("too many"),
        "{e}"
    );
}

#[test]
fn default_profile_behaves_like_dockers() {
    let prof = default_profile();
    let p = SeccompPlan::new(&prof).unwrap();
    let eperm = ERRNO | libc::EPERM as u32;
    for ok in [
        "read", "write", "openat", "execve", "mmap", "futex", "getpid", "socket", "chroot",
        "capset", "setuid",
    ] {
        assert_eq!(call(&p, ok, [0; 6]), ALLOW, "{ok}");
    }
    for denied in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "kexec_load",
        "init_module",
        "finit_module",
        "open_by_handle_at",
        "bpf",
        "perf_event_open",
        "keyctl",
        "add_key",
        "reboot",
        "swapon",
        "pivot_root",
        "clock_settime",
        "userfaultfd",
        "process_vm_readv",
        "io_uring_setup",
        "acct",
        "iopl",
    ] {
        assert_eq!(call(&p, denied, [0; 6]), eperm, "{denied}");
    }
    // clone without namespace flags only; clone3 -> ENOSYS so libc falls back.
    let sigchld = libc::SIGCHLD as u64;
    assert_eq!(call(&p, "clone", [sigchld, 0, 0, 0, 0, 0]), ALLOW);
    let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
    assert_eq!(call(&p, "clone", [thread, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        call(
            &p,
            "clone",
            [sigchld | libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]
        ),
        eperm
    );
    assert_eq!(
        call(&p, "clone", [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(call(&p, "clone3", [0; 6]), ERRNO | libc::ENOSYS as u32);
    // personality: only the listed values
    assert_eq!(call(&p, "personality", [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "personality", [0x8, 0, 0, 0, 0, 0]), ALLOW);
    assert_eq!(call(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]), eperm);
    // It round-trips through config.json.
    let json = serde_json::to_string(&prof).unwrap();
    assert!(
        json.contains("\"defaultAction\":\"SCMP_ACT_ERRNO\""),
        "{json}"
    );
    let back: LinuxSeccomp = serde_json::from_str(&json).unwrap();
    assert_eq!(back, prof);
}

#[test]
fn capabilities_widen_the_default_profile() {
    let mut caps = crate::caps::docker_default();
    caps.push("SYS_ADMIN".into());
    caps.push("cap_sys_ptrace".into());
    let p = SeccompPlan::new(&profile_for_caps(&caps)).unwrap();
    for ok in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "clone3",
        "process_vm_readv",
        "chroot",
    ] {
        assert_eq!(call(&p, ok, [0; 6]), ALLOW, "{ok}");
    }
    assert_eq!(
        call(&p, "clone", [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(call(&p, "kexec_load", [0; 6]), ERRNO | 1);
    let none = SeccompPlan::new(&profile_for_caps(&[])).unwrap();
    assert_eq!(call(&none, "chroot", [0; 6]), ERRNO | 1);
}

#[test]
fn listener_payload_has_the_oci_shape() {
    let p = plan(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","listenerMetadata":"meta","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#)
        .unwrap();
    let state = serde_json::json!({"ociVersion":"1.2.0","id":"c1","status":"creating","pid":42,"bundle":"/b"});
    let v: serde_json::Value = serde_json::from_slice(&p.listener_payload(42, &state)).unwrap();
    assert_eq!(v["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(v["pid"], 42);
    assert_eq!(v["metadata"], "meta");
    assert_eq!(v["ociVersion"], "1.2.0");
    assert_eq!(v["state"]["id"], "c1");
}

#[test]
fn send_listener_passes_fd_and_payload() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    let dir = std::env::temp_dir().join(format!("berth-seccomp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("agent.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let (r, mut w) = nix::unistd::pipe()
        .map(|(r, w)| (r, std::fs::File::from(w)))
        .unwrap();
    let payload = vec![b'x'; 100_000];
    let p2 = path.clone();
    let pl2 = payload.clone();
    let sender = std::thread::spawn(move || send_listener(r.as_fd(), &p2, &pl2));
    let (conn, _) = listener.accept().unwrap();
    let mut buf = vec![0u8; 200_000];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let mut got_fd = None;
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            got_fd = fds.first().copied();
        }
    }
    let mut total = msg.bytes;
    sender.join().unwrap().unwrap();
    let mut rest = Vec::new();
    (&conn).read_to_end(&mut rest).unwrap();
    total += rest.len();
    assert_eq!(total, payload.len());
    let fd = got_fd.expect("an fd arrived");
    // The received fd is the pipe's read end: what we write comes out of it.
    w.write_all(b"ping").unwrap();
    drop(w);
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "ping");
    // Nobody listening: a clear error.
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    let (r2, _w2) = nix::unistd::pipe().unwrap();
    let e = send_listener(r2.as_fd(), &path, b"{}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("agent.sock"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

use std::os::fd::AsFd;

/// Random profiles checked against a direct model of the OCI semantics: the
/// most restrictive matching rule wins, else the default action.
#[test]
fn random_profiles_match_the_model() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let calls = ["read", "write", "close", "dup", "getpid"];
    let actions = [
        ("SCMP_ACT_ALLOW", None),
        ("SCMP_ACT_ERRNO", Some(5u32)),
        ("SCMP_ACT_ERRNO", Some(9)),
        ("SCMP_ACT_TRAP", None),
        ("SCMP_ACT_LOG", None),
        ("SCMP_ACT_KILL_PROCESS", None),
    ];
    let ops = [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    let values = [0u64, 1, 2, 3, 0xffff_ffff, 1 << 32, u64::MAX];
    for _round in 0..300 {
        // (names, ret, args as (index, op, value, value_two))
        #[allow(clippy::type_complexity)]
        let mut entries: Vec<(Vec<&str>, u32, Vec<(usize, &str, u64, u64)>)> = Vec::new();
        let mut json_rules = Vec::new();
        for _ in 0..1 + rnd(5) {
            let names: Vec<&str> = calls.iter().copied().filter(|_| rnd(2) == 0).collect();
            let (act, errno) = actions[rnd(actions.len() as u64) as usize];
            let ret = action_value(parse_action(act).unwrap(), errno, "t").unwrap();
            let mut args = Vec::new();
            for _ in 0..rnd(3) {
                args.push((
                    rnd(2) as usize,
                    ops[rnd(ops.len() as u64) as usize],
                    values[rnd(values.len() as u64) as usize],
                    values[rnd(values.len() as u64) as usize],
                ));
            }
            let args_json: Vec<String> = args
                .iter()
                .map(|(i, op, v, v2)| {
                    format!(r#"{{"index":{i},"op":"{op}","value":{v},"valueTwo":{v2}}}"#)
                })
                .collect();
            json_rules.push(format!(
                r#"{{"names":{},"action":"{act}"{},"args":[{}]}}"#,
                serde_json::to_string(&names).unwrap(),
                errno
                    .map(|e| format!(r#","errnoRet":{e}"#))
                    .unwrap_or_default(),
                args_json.join(",")
            ));
            entries.push((names, ret, args));
        }
        let (dact, derr) = actions[rnd(actions.len() as u64) as usize];
        let default_ret = action_value(parse_action(dact).unwrap(), derr, "t").unwrap();
        let json = format!(
            r#"{{"defaultAction":"{dact}"{},"architectures":{},"syscalls":[{}]}}"#,
            derr.map(|e| format!(r#","defaultErrnoRet":{e}"#))
                .unwrap_or_default(),
            serde_json::to_string(&supported_archs()).unwrap(),
            json_rules.join(",")
        );
        let p = plan(&json).unwrap();
        for _ in 0..40 {
            let name = calls[rnd(calls.len() as u64) as usize];
            let a = [values[rnd(7) as usize], values[rnd(7) as usize], 0, 0, 0, 0];
            // (ABI, what the filter answers, the width of its comparisons)
            let mut abis: Vec<(&str, u32, u64)> = vec![("native", call(&p, name, a), u64::MAX)];
            #[cfg(target_arch = "x86_64")]
            {
                abis.push(("i386", x86_compat::i386(&p, name, a), 0xffff_ffff));
                abis.push(("x32", x86_compat::x32(&p, name, a), 0xffff_ffff));
            }
            for (abi, got, w) in abis {
                let holds = |&(i, op, v, v2): &(usize, &str, u64, u64)| match op {
                    "SCMP_CMP_NE" => a[i] & w != v & w,
                    "SCMP_CMP_LT" => a[i] & w < v & w,
                    "SCMP_CMP_LE" => a[i] & w <= v & w,
                    "SCMP_CMP_EQ" => a[i] & w == v & w,
                    "SCMP_CMP_GE" => a[i] & w >= v & w,
                    "SCMP_CMP_GT" => a[i] & w > v & w,
                    _ => a[i] & v & w == v2 & w,
                };
                let expected = entries
                    .iter()
                    .filter(|(names, _, args)| {
                        names.contains(&name) && {
                            let repeated = args
                                .iter()
                                .any(|x| args.iter().filter(|y| y.0 == x.0).count() > 1);
                            args.is_empty()
                                || if repeated {
                                    args.iter().any(holds)
                                } else {
                                    args.iter().all(holds)
                                }
                        }
                    })
                    .map(|(_, ret, _)| *ret)
                    .min_by_key(|&r| (r as i32, r))
                    .unwrap_or(default_ret);
                assert_eq!(got, expected, "{abi} {name}({a:?}) under {json}");
            }
        }
    }
}

/// Every jump lands inside the program and every path ends in a return: what
/// the kernel's checker demands (classic BPF only jumps forward).
fn assert_well_formed(prog: &[libc::sock_filter]) {
    assert!(
        !prog.is_empty() && prog.len() <= BPF_MAXINSNS,
        "length {}",
        prog.len()
    );
    for (pc, ins) in prog.iter().enumerate() {
        if ins.code & 0x07 == 0x05 {
            let targets = if ins.code == BPF_JMP_JA {
                vec![ins.k as usize]
            } else {
                vec![ins.jt as usize, ins.jf as usize]
            };
            for t in targets {
                assert!(pc + 1 + t < prog.len(), "jump out of the program at {pc}");
            }
        }
    }
    assert_eq!(prog[prog.len() - 1].code, BPF_RET_K, "falls off the end");
}

#[cfg(target_arch = "x86_64")]
mod x86_compat {
    use super::*;
    use crate::seccomp::syscalls_x86_compat::{I386, X32};
    use std::collections::BTreeSet;

    pub(super) const AUDIT_I386: u32 = 0x4000_0003;
    const X32_BIT: i64 = 0x4000_0000;

    /// A call's number in one of the generated tables.
    pub(super) fn nr_in(table: &[(&str, i64)], name: &str) -> i64 {
        table
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no {name} in the table"))
            .1
    }

    pub(super) fn i386(p: &SeccompPlan, name: &str, args: [u64; 6]) -> u32 {
        run(p.program(), AUDIT_I386, nr_in(I386, name), args)
    }

    pub(super) fn x32(p: &SeccompPlan, name: &str, args: [u64; 6]) -> u32 {
        run(p.program(), native::AUDIT, nr_in(X32, name), args)
    }

    const ALL: &str = r#""architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]"#;

    #[test]
    fn the_tables_are_the_kernels() {
        // A few numbers every i386 and x32 binary depends on.
        assert_eq!(nr_in(I386, "exit"), 1);
        assert_eq!(nr_in(I386, "write"), 4);
        assert_eq!(nr_in(I386, "getpid"), 20);
        assert_eq!(nr_in(I386, "socketcall"), 102);
        assert_eq!(nr_in(I386, "mmap2"), 192);
        assert_eq!(nr_in(X32, "write"), X32_BIT | 1);
        assert_eq!(nr_in(X32, "getpid"), X32_BIT | 39);
        // x32's own entry points sit at 512 and up.
        assert_eq!(nr_in(X32, "rt_sigaction"), X32_BIT | 512);
        assert!(I386.len() > 400 && X32.len() > 340);
        assert!(X32.iter().all(|&(_, n)| n & X32_BIT != 0));
    }

    #[test]
    fn compat_sections_apply_the_profile_with_their_own_numbers() {
        let p = plan(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":99,{ALL},"syscalls":[
                {{"names":["write","getpid","waitpid","newfstatat","kill"],"action":"SCMP_ACT_ALLOW"}},
                {{"names":["mkdir","no_such_call"],"action":"SCMP_ACT_ERRNO","errnoRet":13}},
                {{"names":["gettid"],"action":"SCMP_ACT_TRAP"}},
                {{"names":["getppid"],"action":"SCMP_ACT_LOG"}},
                {{"names":["getuid"],"action":"SCMP_ACT_KILL_PROCESS"}},
                {{"names":["getgid"],"action":"SCMP_ACT_KILL"}},
                {{"names":["geteuid"],"action":"SCMP_ACT_TRACE","errnoRet":5}},
                {{"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":16,"args":[{{"index":1,"value":4294967305,"op":"SCMP_CMP_EQ"}}]}}]}}"#
        ))
        .unwrap();
        assert_well_formed(p.program());
        for (abi, call) in [
            ("i386", i386 as fn(&SeccompPlan, &str, [u64; 6]) -> u32),
            ("x32", x32),
        ] {
            assert_eq!(call(&p, "write", [0; 6]), ALLOW, "{abi}");
            assert_eq!(call(&p, "getpid", [0; 6]), ALLOW, "{abi}");
            assert_eq!(call(&p, "mkdir", [0; 6]), ERRNO | 13, "{abi}");
            assert_eq!(call(&p, "gettid", [0; 6]), libc::SECCOMP_RET_TRAP, "{abi}");
            assert_eq!(call(&p, "getppid", [0; 6]), libc::SECCOMP_RET_LOG, "{abi}");
            assert_eq!(
                call(&p, "getuid", [0; 6]),
                libc::SECCOMP_RET_KILL_PROCESS,
                "{abi}"
            );
            assert_eq!(
                call(&p, "getgid", [0; 6]),
                libc::SECCOMP_RET_KILL_THREAD,
                "{abi}"
            );
            assert_eq!(
                call(&p, "geteuid", [0; 6]),
                libc::SECCOMP_RET_TRACE | 5,
                "{abi}"
            );
            assert_eq!(
                call(&p, "chdir", [0; 6]),
                ERRNO | 99,
                "{abi}: default action"
            );
            // 32-bit ABIs compare an argument's low 32 bits with the value cut
            // to 32 bits, as libseccomp does: 0x1_0000_0009 is 9 there.
            assert_eq!(call(&p, "kill", [1, 9, 0, 0, 0, 0]), ERRNO | 16, "{abi}");
            assert_eq!(
                call(&p, "kill", [1, 0x7_0000_0009, 0, 0, 0, 0]),
                ERRNO | 16,
                "{abi}"
            );
            assert_eq!(call(&p, "kill", [1, 15, 0, 0, 0, 0]), ALLOW, "{abi}");
        }
        // Natively the comparison is on 64 bits.
        assert_eq!(call(&p, "kill", [1, 9, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&p, "kill", [1, 0x1_0000_0009, 0, 0, 0, 0]), ERRNO | 16);
        // A name only one ABI has applies there and is skipped elsewhere.
        assert_eq!(i386(&p, "waitpid", [0; 6]), ALLOW);
        assert_eq!(x32(&p, "newfstatat", [0; 6]), ALLOW);
        assert_eq!(call(&p, "newfstatat", [0; 6]), ALLOW);
        assert_eq!(i386(&p, "fstatat64", [0; 6]), ERRNO | 99);
        // The same number means different calls: i386's 39 is mkdir, x86_64's getpid.
        assert_eq!(run(p.program(), AUDIT_I386, 39, [0; 6]), ERRNO | 13);
        assert_eq!(run(p.program(), native::AUDIT, 39, [0; 6]), ALLOW);
        // Numbers past each table's newest are ENOSYS, as natively.
        let enosys = ERRNO | libc::ENOSYS as u32;
        let newest = |t: &[(&str, i64)]| t.iter().map(|&(_, n)| n).max().unwrap();
        assert_eq!(
            run(p.program(), AUDIT_I386, newest(I386) + 1, [0; 6]),
            enosys
        );
        assert_eq!(
            run(p.program(), native::AUDIT, newest(X32) + 1, [0; 6]),
            enosys
        );
        // Any other arch is still killed.
        assert_eq!(
            run(p.program(), 0x4000_0028, 4, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS,
            "AUDIT_ARCH_ARM"
        );
    }

    /// As libseccomp: an i386 rule on a socket or SysV IPC call also holds for
    /// socketcall(2)/ipc(2) with that call's number as the first argument (in
    /// place of the rule's own first-argument comparison; the others stay).
    #[test]
    fn i386_rules_on_multiplexed_calls_cover_the_multiplexer() {
        let p = plan(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW",{ALL},"syscalls":[
                {{"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{{"index":0,"value":40,"op":"SCMP_CMP_EQ"}}]}},
                {{"names":["bind","recv"],"action":"SCMP_ACT_ERRNO","errnoRet":14}},
                {{"names":["shmget"],"action":"SCMP_ACT_ERRNO","errnoRet":15,"args":[{{"index":1,"value":4096,"op":"SCMP_CMP_EQ"}}]}},
                {{"names":["msgget"],"action":"SCMP_ACT_ERRNO","errnoRet":16,"args":[{{"index":1,"value":15,"valueTwo":16,"op":"SCMP_CMP_MASKED_EQ"}}]}}]}}"#
        ))
        .unwrap();
        assert_well_formed(p.program());
        let socketcall = |call: u64, a1: u64| i386(&p, "socketcall", [call, a1, 0, 0, 0, 0]);
        assert_eq!(socketcall(1, 0), ERRNO | 13, "socketcall(SYS_SOCKET, ...)");
        assert_eq!(socketcall(2, 0), ERRNO | 14, "socketcall(SYS_BIND, ...)");
        assert_eq!(
            socketcall(10, 0),
            ERRNO | 14,
            "socketcall(SYS_RECV, ...): recv is only muxed"
        );
        assert_eq!(socketcall(3, 0), ALLOW, "socketcall(SYS_CONNECT, ...)");
        // The direct calls keep their own comparisons.
        assert_eq!(i386(&p, "socket", [40, 0, 0, 0, 0, 0]), ERRNO | 13);
        assert_eq!(i386(&p, "socket", [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(i386(&p, "bind", [0; 6]), ERRNO | 14);
        let ipc = |call: u64, a1: u64| i386(&p, "ipc", [call, a1, 0, 0, 0, 0]);
        assert_eq!(ipc(23, 4096), ERRNO | 15, "ipc(SHMGET, 4096)");
        assert_eq!(ipc(23, 1), ALLOW);
        assert_eq!(ipc(21, 4096), ALLOW, "ipc(SHMAT, ...)");
        // A comparison that can never hold leaves the muxed rule out as well.
        assert_eq!(ipc(13, 15), ALLOW);
        // Nothing of this reaches the other ABIs.
        assert_eq!(call(&p, "socket", [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&p, "socket", [40, 0, 0, 0, 0, 0]), ERRNO | 13);
        assert_eq!(x32(&p, "socket", [2, 0, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn an_abi_the_profile_does_not_list_is_killed() {
        let kill = libc::SECCOMP_RET_KILL_PROCESS;
        let allow_write = |arches: &str| {
            plan(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","architectures":{arches},"syscalls":[{{"names":["write"],"action":"SCMP_ACT_ALLOW"}}]}}"#
            ))
            .unwrap()
        };
        let p = allow_write(r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X86"]"#);
        assert_eq!(i386(&p, "write", [0; 6]), ALLOW);
        assert_eq!(x32(&p, "write", [0; 6]), kill);
        let p = allow_write(r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X32"]"#);
        assert_eq!(i386(&p, "write", [0; 6]), kill);
        assert_eq!(x32(&p, "write", [0; 6]), ALLOW);
        for none in [r#"["SCMP_ARCH_X86_64"]"#, r#"["SCMP_ARCH_NATIVE"]"#, "[]"] {
            let p = allow_write(none);
            assert_eq!(call(&p, "write", [0; 6]), ALLOW, "{none}");
            assert_eq!(i386(&p, "write", [0; 6]), kill, "{none}");
            assert_eq!(x32(&p, "write", [0; 6]), kill, "{none}");
        }
    }

    #[test]
    fn dockers_profile_fits_three_times_and_runs_i386_programs() {
        let eperm = ERRNO | libc::EPERM as u32;
        let mut every_cap = crate::caps::docker_default();
        every_cap.extend(
            [
                "SYS_ADMIN",
                "SYS_PTRACE",
                "SYS_TIME",
                "SYS_NICE",
                "SYS_RAWIO",
                "SYS_MODULE",
            ]
            .map(String::from),
        );
        for caps in [crate::caps::docker_default(), every_cap] {
            let p = SeccompPlan::new(&profile_for_caps(&caps)).unwrap();
            assert_well_formed(p.program());
            // What a static i386 busybox needs to start and print.
            for ok in [
                "execve",
                "brk",
                "mmap2",
                "set_thread_area",
                "write",
                "getpid",
                "socketcall",
                "fstat64",
                "_llseek",
                "rt_sigaction",
                "exit_group",
            ] {
                assert_eq!(i386(&p, ok, [0; 6]), ALLOW, "i386 {ok}");
            }
            for ok in ["write", "getpid", "mmap", "rt_sigaction"] {
                assert_eq!(x32(&p, ok, [0; 6]), ALLOW, "x32 {ok}");
            }
            assert_eq!(i386(&p, "kexec_load", [0; 6]), eperm);
        }
        let p = SeccompPlan::new(&default_profile()).unwrap();
        for denied in ["mount", "unshare", "setns", "umount", "stime"] {
            assert_eq!(i386(&p, denied, [0; 6]), eperm, "{denied}");
        }
        let newuser = libc::CLONE_NEWUSER as u64;
        assert_eq!(i386(&p, "clone", [newuser, 0, 0, 0, 0, 0]), eperm);
        assert_eq!(
            i386(&p, "clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(i386(&p, "clone3", [0; 6]), ERRNO | libc::ENOSYS as u32);
    }

    /// `int $0x80` from this 64-bit process: the kernel takes it as an i386
    /// call (i386 numbers, AUDIT_ARCH_I386). Pointers must lie below 4 GiB.
    unsafe fn int80(nr: u32, a: u32, b: u32, c: u32) -> i32 {
        let ret: i32;
        // rbx is LLVM's and cannot be an operand: swap the argument in and out.
        std::arch::asm!(
            "xchg {a:r}, rbx",
            "int 0x80",
            "xchg {a:r}, rbx",
            a = inout(reg) u64::from(a) => _,
            inlateout("eax") nr as i32 => ret,
            inout("ecx") b => _,
            inout("edx") c => _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            options(nostack)
        );
        ret
    }

    /// An x32 call: `syscall` with the x32 bit in the number.
    unsafe fn x32_syscall(nr: i64, a: u64, b: u64) -> i64 {
        let ret: i64;
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a,
            in("rsi") b,
            out("rcx") _, out("r11") _,
            options(nostack)
        );
        ret
    }

    /// Forks a child that installs `p` (with no_new_privs, as an unprivileged
    /// process must) and runs `probe`, which may only make raw system calls:
    /// returns what it wrote to the pipe it is given and how it ended.
    fn in_filtered_child(p: &SeccompPlan, probe: fn(i32) -> i32) -> (Vec<u8>, i32) {
        use std::io::Read;
        let (r, w) = nix::unistd::pipe().unwrap();
        let fprog = libc::sock_fprog {
            len: p.len() as libc::c_ushort,
            filter: p.program().as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: the child makes only raw system calls (no allocation, no
        // locks) between fork and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &fprog)
                        != 0
                {
                    libc::_exit(100);
                }
                libc::_exit(probe(w.as_raw_fd()));
            }
        }
        drop(w);
        let mut out = Vec::new();
        std::fs::File::from(r).read_to_end(&mut out).unwrap();
        let mut status = 0;
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        (out, status)
    }

    /// A page below 4 GiB holding `text`, for i386 calls' pointers.
    fn low_page(text: &[u8]) -> u32 {
        // SAFETY: a fresh anonymous mapping, written within its length.
        unsafe {
            let m = libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                -1,
                0,
            );
            assert_ne!(m, libc::MAP_FAILED);
            std::ptr::copy_nonoverlapping(text.as_ptr(), m as *mut u8, text.len());
            m as usize as u32
        }
    }

    static LOW: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

    /// Each call the probe makes, in the order it reports them.
    const PROBES: [&str; 7] = [
        "i386 write",
        "i386 getpid == getpid",
        "i386 mkdir",
        "i386 kill(self, 0)",
        "x86_64 kill(self, 0)",
        "x32 getpid",
        "x32 mkdir",
    ];

    fn probe(fd: i32) -> i32 {
        let low = *LOW.get().unwrap();
        // SAFETY: raw system calls on this process's own fd, pid and low page.
        unsafe {
            let me = libc::getpid();
            let i386 = |name: &str| nr_in(I386, name) as u32;
            let results: [i64; 7] = [
                int80(i386("write"), fd as u32, low, 5).into(),
                (int80(i386("getpid"), 0, 0, 0) == me).into(),
                int80(i386("mkdir"), low, 0o755, 0).into(),
                int80(i386("kill"), me as u32, 0, 0).into(),
                libc::syscall(libc::SYS_kill, me, 0),
                x32_syscall(nr_in(X32, "getpid"), 0, 0),
                x32_syscall(nr_in(X32, "mkdir"), u64::from(low), 0o755),
            ];
            libc::write(fd, results.as_ptr().cast(), std::mem::size_of_val(&results));
        }
        0
    }

    /// The compat sections loaded for real: the kernel runs the program on
    /// `int $0x80` (i386) and x32-numbered calls made from this process.
    #[test]
    fn the_kernel_applies_the_compat_sections() {
        LOW.get_or_init(|| low_page(b"i386\n/tmp/berth-never-made\0"));
        let profile = |arches: &str| {
            plan(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":{arches},"syscalls":[
                    {{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}},
                    {{"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":16,"args":[{{"index":1,"value":4294967296,"op":"SCMP_CMP_EQ"}}]}}]}}"#
            ))
            .unwrap()
        };
        let (out, status) = in_filtered_child(
            &profile(r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]"#),
            probe,
        );
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the probe ended with status {status:#x} (100: the filter was refused)"
        );
        assert_eq!(&out[..5], b"i386\n", "the i386 write reached the pipe");
        let got: Vec<i64> = out[5..]
            .chunks(8)
            .map(|c| i64::from_ne_bytes(c.try_into().unwrap()))
            .collect();
        let got: Vec<(&str, i64)> = PROBES.iter().copied().zip(got).collect();
        // x32's own getpid: allowed by the filter, then answered by the kernel,
        // which refuses x32 calls with ENOSYS unless it was built with x32 and
        // booted with it (Debian's kernels: syscall.x32=y); seccomp runs first.
        let x32_getpid = got[5].1;
        assert!(
            x32_getpid == -i64::from(libc::ENOSYS) || x32_getpid > 0,
            "{got:?}"
        );
        assert_eq!(
            got,
            vec![
                ("i386 write", 5),
                ("i386 getpid == getpid", 1),
                // Denied by the profile, with i386's number for mkdir (39).
                ("i386 mkdir", -13),
                // 1 << 32 compared on 32 bits is 0: kill(self, 0) is denied on i386 ...
                ("i386 kill(self, 0)", -16),
                // ... and allowed natively, where all 64 bits count.
                ("x86_64 kill(self, 0)", 0),
                ("x32 getpid", x32_getpid),
                ("x32 mkdir", -13),
            ]
        );

        // Without SCMP_ARCH_X86 / SCMP_ARCH_X32 the first such call kills.
        // What reached the pipe shows where: i386's write is the first call.
        for (arches, what, before) in [
            (
                r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X32"]"#,
                "an i386 call",
                &b""[..],
            ),
            (
                r#"["SCMP_ARCH_X86_64","SCMP_ARCH_X86"]"#,
                "an x32 call",
                b"i386\n",
            ),
        ] {
            let (out, status) = in_filtered_child(&profile(arches), probe);
            assert!(
                libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
                "{what} under {arches}: status {status:#x}"
            );
            assert_eq!(out, before, "{what} under {arches}");
        }
    }

    /// Every name of every table in one rule: the unconditional runs pass 255
    /// entries, so they are split, and every call still reaches its return.
    #[test]
    fn long_runs_are_split_within_the_jump_range() {
        let names: BTreeSet<&str> = I386
            .iter()
            .chain(X32)
            .map(|&(n, _)| n)
            .chain(syscalls::entries().map(|(n, _)| n))
            .collect();
        let p = plan(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":7,{ALL},"syscalls":[{{"names":{},"action":"SCMP_ACT_LOG"}}]}}"#,
            serde_json::to_string(&names).unwrap()
        ))
        .unwrap();
        assert_well_formed(p.program());
        for &(_, n) in I386 {
            assert_eq!(
                run(p.program(), AUDIT_I386, n, [0; 6]),
                libc::SECCOMP_RET_LOG
            );
        }
        for &(_, n) in X32 {
            assert_eq!(
                run(p.program(), native::AUDIT, n, [0; 6]),
                libc::SECCOMP_RET_LOG
            );
        }
        for (_, n) in syscalls::entries() {
            assert_eq!(
                run(p.program(), native::AUDIT, n, [0; 6]),
                libc::SECCOMP_RET_LOG
            );
        }
        // Holes in a table get the default.
        assert_eq!(
            run(p.program(), native::AUDIT, X32_BIT | 13, [0; 6]),
            ERRNO | 7
        );
    }
}
