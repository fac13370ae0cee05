//! Seccomp: translate `linux.seccomp` to one classic-BPF program, ahead of any
//! fork-heavy work, and install it with one `seccomp(2)` call as the last step
//! before `execve`.
//!
//! An OCI profile has one action per rule, so the rules are grouped by action
//! and the groups are chained, ordered from the most to the least restrictive
//! action (the kernel's own precedence), so when rules with different actions
//! match the same call the more restrictive one wins; a call no group takes
//! gets the profile's default action. In a group, the calls matched by number
//! alone are a run of `JEQ` instructions built here (one per call, see
//! [`section`]); the calls with argument comparisons are compiled by
//! seccompiler, which has a single "match" action, with placeholder returns
//! patched to the group's action and to "on to the next group".
//!
//! Architectures: the program starts by dispatching on `seccomp_data.arch`
//! (and, on x86_64, on the x32 bit of the number) to one section per ABI the
//! profile lists, each built as above with that ABI's syscall numbers. On
//! x86_64 those are the native one and its compatibility ABIs i386 (`int
//! 0x80`, AUDIT_ARCH_I386) and x32 (AUDIT_ARCH_X86_64 with 0x40000000 in the
//! number), which docker's profile lists. seccompiler has no target for them,
//! but past its 3-instruction architecture check (which berth replaces by the
//! dispatch) its code depends only on the numbers and comparisons it is given,
//! so it compiles their argument comparisons too, which on these 32-bit ABIs
//! are, as libseccomp makes them, of an argument's low 32 bits with the value
//! cut to 32 bits. Their numbers are `syscalls_x86_compat`, generated from the
//! kernel's headers by scripts/gen-syscalls.sh. A name an ABI does not have is
//! skipped in that section, as libseccomp skips it. Calls through an ABI the
//! profile does not list (or that berth has no section for, such as arm on
//! aarch64) kill the process, as a libseccomp filter does for an architecture
//! it was not told about. As libseccomp does, an i386 rule on a socket or SysV
//! IPC call also applies to the `socketcall` or `ipc` multiplexer with that
//! call's number as its first argument.

mod docker;
mod profile;
mod syscalls;
#[cfg(target_arch = "x86_64")]
mod syscalls_x86_compat;

use std::collections::{BTreeMap, HashMap};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op, LinuxSyscall,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::{invalid, Error, Result};

pub use docker::parse_profile;
pub use profile::{default_profile, profile_for_caps};

// Classic BPF opcodes (linux/filter.h).
/// BPF_LD | BPF_W | BPF_ABS (0x00 | 0x00 | 0x20).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_JMP_JGT_K: u16 = 0x05 | 0x20;
const BPF_RET_K: u16 = 0x06;
/// Longest program the kernel accepts (BPF_MAXINSNS).
const BPF_MAXINSNS: usize = 4096;

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

/// Placeholder returns given to seccompiler and patched afterwards. seccompiler
/// emits `RET` only with these two values once its architecture check (which we
/// replace) is removed.
const PLACEHOLDER_MATCH: SeccompAction = SeccompAction::Allow;
const PLACEHOLDER_MISMATCH: SeccompAction = SeccompAction::Trap;
const RET_ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const RET_TRAP: u32 = libc::SECCOMP_RET_TRAP;

const EPERM: u32 = libc::EPERM as u32;

#[cfg(target_arch = "x86_64")]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchX86_64;
    pub const COMPAT: &[Arch] = &[Arch::ScmpArchX86, Arch::ScmpArchX32];
    pub const TARGET: Option<TargetArch> = Some(TargetArch::x86_64);
    pub const AUDIT: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    /// x32 calls share x86_64's audit arch and set this bit in the number.
    pub const X32_BIT: Option<u32> = Some(0x4000_0000);
    /// Both compatibility ABIs get a section when the profile lists them.
    pub const SECTIONS: &[Compat] = &[
        Compat {
            arch: Arch::ScmpArchX86,
            audit: 3 | 0x4000_0000, // AUDIT_ARCH_I386
            x32: false,
            table: super::syscalls_x86_compat::I386,
            muxed: &[
                ("socketcall", super::syscalls_x86_compat::I386_SOCKETCALL),
                ("ipc", super::syscalls_x86_compat::I386_IPC),
            ],
        },
        Compat {
            arch: Arch::ScmpArchX32,
            audit: AUDIT,
            x32: true,
            table: super::syscalls_x86_compat::X32,
            muxed: &[],
        },
    ];
}
#[cfg(target_arch = "aarch64")]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchAarch64;
    pub const COMPAT: &[Arch] = &[Arch::ScmpArchArm];
    pub const TARGET: Option<TargetArch> = Some(TargetArch::aarch64);
    pub const AUDIT: u32 = 183 | 0x8000_0000 | 0x4000_0000;
    pub const X32_BIT: Option<u32> = None;
    pub const SECTIONS: &[Compat] = &[];
}
#[cfg(target_arch = "riscv64")]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchRiscv64;
    pub const COMPAT: &[Arch] = &[];
    pub const TARGET: Option<TargetArch> = Some(TargetArch::riscv64);
    pub const AUDIT: u32 = 243 | 0x8000_0000 | 0x4000_0000;
    pub const X32_BIT: Option<u32> = None;
    pub const SECTIONS: &[Compat] = &[];
}
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchNative;
    pub const COMPAT: &[Arch] = &[];
    pub const TARGET: Option<TargetArch> = None;
    pub const AUDIT: u32 = 0;
    pub const X32_BIT: Option<u32> = None;
    pub const SECTIONS: &[Compat] = &[];
}

/// A compatibility ABI that gets a section of its own in the program.
#[derive(Debug, Clone, Copy)]
struct Compat {
    arch: Arch,
    /// `seccomp_data.arch` of its calls.
    audit: u32,
    /// Its calls are the native audit arch's with `native::X32_BIT` set in the number.
    x32: bool,
    /// `(name, number)` of every call it has.
    table: &'static [(&'static str, i64)],
    /// Multiplexers: `(multiplexer, [(call, its number as the multiplexer's
    /// first argument)])`. As libseccomp does, a rule on such a call applies
    /// to the multiplexer too, with its first argument compared to the call's
    /// number instead of the rule's own comparison of that argument.
    muxed: &'static [(&'static str, &'static [(&'static str, u64)])],
}

/// The OCI name of an architecture, e.g. `SCMP_ARCH_X86_64`.
fn arch_name(a: Arch) -> String {
    a.to_string()
}

/// A translated, compiled `linux.seccomp`: installing it is one system call.
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    prog: Vec<libc::sock_filter>,
    flags: libc::c_ulong,
    notify: bool,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
}

/// The BPF return value for an OCI action. `field` names the errnoRet JSON field for errors.
fn action_value(action: Action, errno_ret: Option<u32>, field: &str) -> Result<u32> {
    let data = |default: u32| -> Result<u32> {
        let v = errno_ret.unwrap_or(default);
        if v > libc::SECCOMP_RET_DATA {
            return invalid!(field, v, "out of range (0..=65535)");
        }
        Ok(v)
    };
    if let Some(v) =
        errno_ret.filter(|_| !matches!(action, Action::ScmpActErrno | Action::ScmpActTrace))
    {
        return invalid!(
            field,
            v,
            "errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}"
        );
    }
    Ok(match action {
        Action::ScmpActKill | Action::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        Action::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data(EPERM)?,
        Action::ScmpActNotify => libc::SECCOMP_RET_USER_NOTIF,
        Action::ScmpActTrace => libc::SECCOMP_RET_TRACE | data(EPERM)?,
        Action::ScmpActLog => libc::SECCOMP_RET_LOG,
        Action::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
    })
}

/// Every OCI seccomp action. `covers_every_action` turns a variant added to
/// oci-spec into a compile error here, so the list cannot fall behind.
const ACTIONS: [Action; 9] = [
    Action::ScmpActKill,
    Action::ScmpActKillThread,
    Action::ScmpActKillProcess,
    Action::ScmpActTrap,
    Action::ScmpActErrno,
    Action::ScmpActNotify,
    Action::ScmpActTrace,
    Action::ScmpActLog,
    Action::ScmpActAllow,
];

#[allow(dead_code)]
fn covers_every_action(a: Action) {
    match a {
        Action::ScmpActKill
        | Action::ScmpActKillThread
        | Action::ScmpActKillProcess
        | Action::ScmpActTrap
        | Action::ScmpActErrno
        | Action::ScmpActNotify
        | Action::ScmpActTrace
        | Action::ScmpActLog
        | Action::ScmpActAllow => {}
    }
}

/// The actions a profile may use: those `action_value` translates.
pub fn supported_actions() -> Vec<String> {
    ACTIONS
        .iter()
        .filter(|a| action_value(**a, None, "features").is_ok())
        .map(|a| a.to_string())
        .collect()
}

/// The argument operators `translate_args` handles (its match is exhaustive over oci-spec's).
pub fn supported_operators() -> Vec<String> {
    [
        Op::ScmpCmpNe,
        Op::ScmpCmpLt,
        Op::ScmpCmpLe,
        Op::ScmpCmpEq,
        Op::ScmpCmpGe,
        Op::ScmpCmpGt,
        Op::ScmpCmpMaskedEq,
    ]
    .iter()
    .map(|o| o.to_string())
    .collect()
}

/// The `linux.seccomp.flags` berth takes (TSYNC is taken and left out, as runc does).
pub fn supported_flags() -> Vec<&'static str> {
    vec![
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]
}

/// The architectures a profile may list: the native one and its compatibility
/// ABIs (on x86_64 each gets a section of its own; elsewhere their calls are killed).
pub fn supported_archs() -> Vec<String> {
    std::iter::once(native::ARCH)
        .chain(native::COMPAT.iter().copied())
        .map(arch_name)
        .collect()
}

/// Kernel precedence: lower (as signed) is more restrictive.
fn precedence(ret: u32) -> i32 {
    ret as i32
}

/// Parse an action name as it appears in JSON (`"SCMP_ACT_ERRNO"`). Unknown -> Invalid.
pub fn parse_action(name: &str) -> Result<Action> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| Error::invalid("seccomp action", name, "unknown seccomp action"))
}

/// Ask the kernel whether it implements a return action.
fn action_available(ret: u32) -> bool {
    let action: u32 = ret & libc::SECCOMP_RET_ACTION_FULL;
    crate::sys::seccomp_action_available(action)
}

/// One syscall's rules inside an action group. `None`: matches unconditionally.
type Rules = Option<Vec<SeccompRule>>;

/// Translate one `args` list into seccompiler rules (OR of the returned rules).
/// As runc does, when one argument index is compared more than once the
/// comparisons are alternatives; otherwise all of them must hold. A masked
/// comparison that can never hold (valueTwo has bits outside the mask) removes
/// its rule. Returns Ok(None) for "no args" (unconditional). `width` is
/// `Dword` for a 32-bit ABI: as libseccomp, only the argument's low 32 bits
/// are compared, with the values cut to 32 bits. `also`, when given, is a
/// condition every returned rule has as well (then there is always a rule).
fn translate_args(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    field: &str,
    width: SeccompCmpArgLen,
    also: Option<SeccompCondition>,
) -> Result<Option<Vec<SeccompRule>>> {
    if args.is_empty() {
        return match also {
            None => Ok(None),
            Some(c) => Ok(Some(vec![SeccompRule::new(vec![c]).map_err(|e| {
                Error::invalid(format!("{field}.args"), "", e.to_string())
            })?])),
        };
    }
    let narrow = |v: u64| match width {
        SeccompCmpArgLen::Qword => v,
        SeccompCmpArgLen::Dword => v & 0xffff_ffff,
    };
    let mut conds: Vec<Option<SeccompCondition>> = Vec::with_capacity(args.len());
    let mut per_index = [0usize; 6];
    for (j, a) in args.iter().enumerate() {
        let index = a.index();
        if index > 5 {
            return invalid!(
                format!("{field}.args[{j}].index"),
                index,
                "out of range (0..=5)"
            );
        }
        per_index[index] += 1;
        let value = narrow(a.value());
        let (op, value) = match a.op() {
            Op::ScmpCmpNe => (SeccompCmpOp::Ne, value),
            Op::ScmpCmpLt => (SeccompCmpOp::Lt, value),
            Op::ScmpCmpLe => (SeccompCmpOp::Le, value),
            Op::ScmpCmpEq => (SeccompCmpOp::Eq, value),
            Op::ScmpCmpGe => (SeccompCmpOp::Ge, value),
            Op::ScmpCmpGt => (SeccompCmpOp::Gt, value),
            Op::ScmpCmpMaskedEq => {
                let mask = value;
                let want = narrow(a.value_two().unwrap_or(0));
                if want & !mask != 0 {
                    log::debug!("{field}.args[{j}]: masked value {want:#x} outside mask {mask:#x} never matches");
                    conds.push(None);
                    continue;
                }
                (SeccompCmpOp::MaskedEq(mask), want)
            }
        };
        let c = SeccompCondition::new(index as u8, width.clone(), op, value)
            .map_err(|e| Error::invalid(format!("{field}.args[{j}]"), "", e.to_string()))?;
        conds.push(Some(c));
    }
    let mk = |cs: Vec<SeccompCondition>| {
        let cs = also.iter().cloned().chain(cs).collect();
        SeccompRule::new(cs).map_err(|e| Error::invalid(format!("{field}.args"), "", e.to_string()))
    };
    let mut rules = Vec::new();
    if per_index.iter().any(|&n| n > 1) {
        for c in conds.into_iter().flatten() {
            rules.push(mk(vec![c])?);
        }
    } else if conds.iter().all(Option::is_some) {
        rules.push(mk(conds.into_iter().flatten().collect())?);
    }
    Ok(Some(rules))
}

/// One section's rules: return value (by precedence) -> syscall number -> rules.
type Groups = BTreeMap<(i32, u32), BTreeMap<i64, Rules>>;

/// Group the profile's rules by return value for one ABI: `table` names its
/// syscalls (a name it lacks is skipped), `width` is its argument width,
/// `muxed` its multiplexers (see [`Compat`]). `rets` holds each rule's return value.
fn groups(
    calls: &[LinuxSyscall],
    rets: &[u32],
    table: &HashMap<&str, i64>,
    width: SeccompCmpArgLen,
    muxed: &[(&str, &[(&str, u64)])],
) -> Result<Groups> {
    let mut groups = Groups::new();
    for (i, (sc, &ret)) in calls.iter().zip(rets).enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let args = sc.args().as_deref().unwrap_or(&[]);
        let group = groups.entry((precedence(ret), ret)).or_default();
        let mut add = |nr: i64, rules: &Rules| match (group.get_mut(&nr), rules) {
            (Some(None), _) => {}
            (Some(slot), None) => *slot = None,
            (Some(Some(existing)), Some(new)) => existing.extend(new.iter().cloned()),
            (None, r) => {
                group.insert(nr, r.clone());
            }
        };
        let rules = translate_args(args, &field, width.clone(), None)?;
        for name in sc.names() {
            for &(mux, subcalls) in muxed {
                let Some(&(_, sub)) = subcalls.iter().find(|(n, _)| n == name) else {
                    continue;
                };
                let Some(&nr) = table.get(mux) else { continue };
                let first = SeccompCondition::new(0, width.clone(), SeccompCmpOp::Eq, sub)
                    .map_err(|e| Error::invalid(field.as_str(), "", e.to_string()))?;
                let rest: Vec<_> = args.iter().filter(|a| a.index() != 0).cloned().collect();
                let rules = translate_args(&rest, &field, width.clone(), Some(first))?;
                if rules.as_ref().is_some_and(Vec::is_empty) {
                    continue; // no argument comparison can match
                }
                add(nr, &rules);
            }
            if rules.as_ref().is_some_and(Vec::is_empty) {
                log::debug!("{field}: no argument comparison can match; rule skipped");
                continue;
            }
            let Some(&nr) = table.get(name.as_str()) else {
                log::debug!("{field}: unknown syscall {name:?} on this architecture; skipped");
                continue;
            };
            add(nr, &rules);
        }
    }
    groups.retain(|_, calls| !calls.is_empty());
    Ok(groups)
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

impl SeccompPlan {
    /// Translate and compile `linux.seccomp`. See the module documentation.
    pub fn new(s: &LinuxSeccomp) -> Result<SeccompPlan> {
        let Some(target) = native::TARGET else {
            return Err(Error::unsupported(
                "linux.seccomp",
                "seccomp filters are not supported on this architecture",
            ));
        };

        // defaultAction / defaultErrnoRet
        let default_action = s.default_action();
        if default_action == Action::ScmpActNotify {
            return invalid!(
                "linux.seccomp.defaultAction",
                default_action,
                "SCMP_ACT_NOTIFY cannot be the default action"
            );
        }
        let default_ret = action_value(
            default_action,
            s.default_errno_ret(),
            "linux.seccomp.defaultErrnoRet",
        )?;

        // architectures, and the compatibility ABIs that get a section
        let mut compat: Vec<Compat> = Vec::new();
        if let Some(arches) = s.architectures() {
            compat.extend(native::SECTIONS.iter().filter(|c| arches.contains(&c.arch)));
            let mut has_native = arches.is_empty();
            for &a in arches {
                if a == native::ARCH || a == Arch::ScmpArchNative {
                    has_native = true;
                } else if !native::COMPAT.contains(&a) {
                    return Err(Error::unsupported(
                        "linux.seccomp.architectures",
                        format!(
                            "{} cannot run on this machine ({})",
                            arch_name(a),
                            arch_name(native::ARCH)
                        ),
                    ));
                }
            }
            if !has_native {
                return invalid!(
                    "linux.seccomp.architectures",
                    arches
                        .iter()
                        .map(|&a| arch_name(a))
                        .collect::<Vec<_>>()
                        .join(","),
                    "does not include this machine's architecture {}",
                    arch_name(native::ARCH)
                );
            }
        }

        // Each rule's return value, checked once for all sections.
        let calls: &[LinuxSyscall] = s.syscalls().as_deref().unwrap_or(&[]);
        let mut rets = Vec::with_capacity(calls.len());
        let mut notify = false;
        for (i, sc) in calls.iter().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            rets.push(action_value(
                sc.action(),
                sc.errno_ret(),
                &format!("{field}.errnoRet"),
            )?);
            if sc.action() == Action::ScmpActNotify {
                // The agent could never be told: the container's own writes
                // (to the sync channel, to stderr) would wait for it.
                if sc.names().iter().any(|n| n == "write") {
                    return invalid!(
                        format!("{field}.action"),
                        sc.action(),
                        "SCMP_ACT_NOTIFY cannot be used for the write syscall"
                    );
                }
                notify = true;
            }
        }
        let native_groups = groups(
            calls,
            &rets,
            &syscalls::entries().collect(),
            SeccompCmpArgLen::Qword,
            &[],
        )?;
        let mut compat_groups = Vec::with_capacity(compat.len());
        for c in compat {
            let table = c.table.iter().copied().collect();
            let g = groups(calls, &rets, &table, SeccompCmpArgLen::Dword, c.muxed)?;
            compat_groups.push((c, g));
        }
        let used = std::iter::once(&native_groups).chain(compat_groups.iter().map(|(_, g)| g));
        for &(_, ret) in used.flat_map(BTreeMap::keys) {
            if ret != RET_ALLOW && !action_available(ret) {
                return Err(Error::unsupported(
                    "linux.seccomp.syscalls",
                    format!(
                        "the kernel does not support the action for return value {ret:#x}{}",
                        if ret == libc::SECCOMP_RET_USER_NOTIF {
                            " (SCMP_ACT_NOTIFY)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        if default_ret != RET_ALLOW && !action_available(default_ret) {
            return Err(Error::unsupported(
                "linux.seccomp.defaultAction",
                format!("this kernel does not support {default_action}"),
            ));
        }

        // flags. As runc: none given is SPEC_ALLOW (an explicit [] is none);
        // TSYNC means nothing for a process with one thread, and is left out.
        let mut flags: libc::c_ulong = 0;
        if s.flags().is_none() {
            flags |= libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        }
        for f in s.flags().iter().flatten() {
            flags |= match f {
                Flag::SeccompFilterFlagTsync => 0,
                Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
                Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                Flag::SeccompFilterFlagWaitKillableRecv => {
                    if notify {
                        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                    } else {
                        log::debug!("linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored without SCMP_ACT_NOTIFY");
                        0
                    }
                }
            };
        }
        if notify {
            if s.listener_path().is_none() {
                return Err(Error::missing(
                    "linux.seccomp.listenerPath",
                    "SCMP_ACT_NOTIFY is used",
                ));
            }
            flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        }
        // The words runc logs, which its tests read back.
        log::debug!("seccomp filter flags: {flags}");

        let prog = assemble(target, native_groups, compat_groups, default_ret)?;
        Ok(SeccompPlan {
            prog,
            flags,
            notify,
            listener_path: s.listener_path().clone(),
            listener_metadata: s.listener_metadata().clone(),
        })
    }

    /// True if some rule uses SCMP_ACT_NOTIFY: [`install`](Self::install) then
    /// returns a listener fd to hand to [`send_listener`].
    pub fn needs_notify(&self) -> bool {
        self.notify
    }

    /// `linux.seccomp.listenerPath`.
    pub fn listener_path(&self) -> Option<&Path> {
        self.listener_path.as_deref()
    }

    /// The compiled program's length in instructions.
    pub fn len(&self) -> usize {
        self.prog.len()
    }

    /// Never true: a plan always has at least the architecture check and a return.
    pub fn is_empty(&self) -> bool {
        self.prog.is_empty()
    }

    /// The compiled program (for inspection and tests).
    pub fn program(&self) -> &[libc::sock_filter] {
        &self.prog
    }

    /// The `seccomp(2)` flags that [`install`](Self::install) passes.
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// Install the filter on the calling thread (all threads with TSYNC): one
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` call. The caller must have set
    /// no_new_privs or still hold CAP_SYS_ADMIN. Returns the notification
    /// listener fd when [`needs_notify`](Self::needs_notify).
    pub fn install(&self) -> Result<Option<OwnedFd>> {
        let fprog = libc::sock_fprog {
            len: self.prog.len() as libc::c_ushort,
            filter: self.prog.as_ptr() as *mut libc::sock_filter,
        };
        use crate::sys::FilterInstalled;
        match crate::sys::seccomp_set_filter(self.flags, &fprog, self.notify) {
            Err(e) => {
                let why = if e == nix::Error::EACCES {
                    " (needs no_new_privs or CAP_SYS_ADMIN)"
                } else {
                    ""
                };
                Err(Error::sys(format!("install seccomp filter{why}"), e))
            }
            Ok(FilterInstalled::Listener(fd)) => Ok(Some(fd)),
            Ok(FilterInstalled::Done) => Ok(None),
            Ok(FilterInstalled::UnsyncedThread(tid)) => Err(Error::Sys {
                op: format!(
                    "install seccomp filter: thread {tid} could not be synchronized (TSYNC)"
                ),
                source: nix::Error::EAGAIN,
            }),
        }
    }

    /// The payload the OCI spec asks to send with the listener fd
    /// (`containerProcessState`): `state` is the container's state JSON object.
    pub fn listener_payload(&self, pid: i32, state: &serde_json::Value) -> Vec<u8> {
        let v = serde_json::json!({
            "ociVersion": state.get("ociVersion").cloned().unwrap_or(serde_json::Value::String("1.0.2".into())),
            "fds": ["seccompFd"],
            "pid": pid,
            "metadata": self.listener_metadata.clone().unwrap_or_default(),
            "state": state,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

/// The whole program: the dispatch on `seccomp_data.arch` (and the x32 bit),
/// then the native section, then one section per listed compatibility ABI.
/// Sections are self-contained (each ends in returns), so the dispatch reaches
/// them with `JA`, whose 32-bit offset has no 255 limit.
fn assemble(
    target: TargetArch,
    native_groups: Groups,
    compat: Vec<(Compat, Groups)>,
    default_ret: u32,
) -> Result<Vec<libc::sock_filter>> {
    let native_newest = syscalls::entries().map(|(_, nr)| nr).max();
    let native_section = section(target, native_groups, default_ret, native_newest)?;
    let mut compat_sections = Vec::with_capacity(compat.len());
    for (c, g) in compat {
        let newest = c.table.iter().map(|&(_, nr)| nr).max();
        compat_sections.push((c, section(target, g, default_ret, newest)?));
    }
    let kill = stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS);
    let by_arch: Vec<usize> = (0..compat_sections.len())
        .filter(|&i| !compat_sections[i].0.x32)
        .collect();
    let x32 = compat_sections.iter().position(|(c, _)| c.x32);

    // Where each section starts: the dispatch's length is known up front.
    let dispatch_len = 3 + 2 * by_arch.len() + if native::X32_BIT.is_some() { 3 } else { 0 };
    let mut starts = Vec::with_capacity(compat_sections.len());
    let mut at = dispatch_len + native_section.len();
    for (_, sec) in &compat_sections {
        starts.push(at);
        at += sec.len();
    }
    let mut prog = Vec::with_capacity(at);
    // A jump from the instruction about to be pushed to the start of section i.
    let ja = |prog: &Vec<libc::sock_filter>, i: usize| -> libc::sock_filter {
        stmt(BPF_JMP_JA, (starts[i] - prog.len() - 1) as u32)
    };
    prog.push(stmt(BPF_LD_W_ABS, DATA_ARCH));
    // Native calls skip the other arches' tests and the kill.
    prog.push(jump(
        BPF_JMP_JEQ_K,
        native::AUDIT,
        (2 * by_arch.len() + 1) as u8,
        0,
    ));
    for &i in &by_arch {
        prog.push(jump(BPF_JMP_JEQ_K, compat_sections[i].0.audit, 0, 1));
        prog.push(ja(&prog, i));
    }
    prog.push(kill);
    if let Some(bit) = native::X32_BIT {
        prog.push(stmt(BPF_LD_W_ABS, DATA_NR));
        prog.push(jump(BPF_JMP_JGE_K, bit, 0, 1));
        prog.push(match x32 {
            Some(i) => ja(&prog, i),
            None => kill,
        });
    }
    debug_assert_eq!(prog.len(), dispatch_len);
    prog.extend(native_section);
    for (_, sec) in compat_sections {
        prog.extend(sec);
    }
    if prog.len() > BPF_MAXINSNS {
        return invalid!(
            "linux.seccomp.syscalls",
            "",
            "the filter needs {} BPF instructions, more than the kernel's limit of {BPF_MAXINSNS}",
            prog.len()
        );
    }
    Ok(prog)
}

/// One ABI's section: the action groups in precedence order, then the default
/// action. `newest` is the highest number the ABI's table has.
///
/// A group's unconditional calls are a run of `JEQ nr` jumping forward to the
/// group's return, in chunks of at most 255 (a conditional jump's offset is a
/// u8), each chunk ending in `JA 1; RET ret`: one instruction per call, so
/// docker's ~350 names fit three times (native, i386, x32) in the kernel's
/// 4096. Calls with argument comparisons are compiled by seccompiler with
/// placeholder returns: its "matched" return becomes the group's, its
/// "no rule matched" a jump to the end of its code, i.e. to the next group.
fn section(
    target: TargetArch,
    groups: Groups,
    default_ret: u32,
    newest: Option<i64>,
) -> Result<Vec<libc::sock_filter>> {
    let mut prog = Vec::new();
    // A syscall newer than any berth knows cannot be in the profile: ENOSYS,
    // not the default errno, so programs fall back to the older call (glibc
    // does so for clone3), as runc's filters answer. Not when the default allows.
    if !matches!(default_ret, RET_ALLOW | libc::SECCOMP_RET_LOG) {
        if let Some(newest) = newest {
            prog.push(stmt(BPF_LD_W_ABS, DATA_NR));
            prog.push(jump(BPF_JMP_JGT_K, newest as u32, 0, 1));
            prog.push(stmt(
                BPF_RET_K,
                libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
            ));
        }
    }
    for ((_, ret), calls) in groups {
        let mut unconditional = Vec::new();
        let mut conditional = BTreeMap::new();
        for (nr, rules) in calls {
            match rules {
                None => unconditional.push(nr),
                Some(r) => {
                    conditional.insert(nr, r);
                }
            }
        }
        if !unconditional.is_empty() {
            // seccompiler's code leaves an argument in the accumulator.
            prog.push(stmt(BPF_LD_W_ABS, DATA_NR));
        }
        for chunk in unconditional.chunks(u8::MAX as usize) {
            let m = chunk.len();
            for (i, &nr) in chunk.iter().enumerate() {
                prog.push(jump(BPF_JMP_JEQ_K, nr as u32, (m - i) as u8, 0));
            }
            prog.push(stmt(BPF_JMP_JA, 1));
            prog.push(stmt(BPF_RET_K, ret));
        }
        if !conditional.is_empty() {
            prog.extend(compile_conditional(target, conditional, ret)?);
        }
    }
    prog.push(stmt(BPF_RET_K, default_ret));
    Ok(prog)
}

/// seccompiler's code for calls with argument comparisons: `ret` when a rule
/// matches, else on to the instruction after this code.
fn compile_conditional(
    target: TargetArch,
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    ret: u32,
) -> Result<Vec<libc::sock_filter>> {
    let compiler = |e: &dyn std::fmt::Display| Error::invalid("linux.seccomp", "", e.to_string());
    let filter = SeccompFilter::new(rules, PLACEHOLDER_MISMATCH, PLACEHOLDER_MATCH, target)
        .map_err(|e| compiler(&e))?;
    let compiled: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| compiler(&e))?;
    // seccompiler starts with its own 3-instruction architecture check.
    if compiled.len() < 4 || compiled[0].code != BPF_LD_W_ABS || compiled[0].k != DATA_ARCH {
        return Err(compiler(
            &"unexpected program layout from the filter compiler",
        ));
    }
    let body = &compiled[3..];
    let len = body.len();
    let mut out = Vec::with_capacity(len);
    for (idx, ins) in body.iter().enumerate() {
        out.push(match (ins.code, ins.k) {
            (BPF_RET_K, RET_ALLOW) => stmt(BPF_RET_K, ret),
            (BPF_RET_K, RET_TRAP) => stmt(BPF_JMP_JA, (len - idx - 1) as u32),
            (BPF_RET_K, k) => {
                return Err(compiler(&format_args!(
                    "unexpected return {k:#x} from the filter compiler"
                )))
            }
            _ => libc::sock_filter {
                code: ins.code,
                jt: ins.jt,
                jf: ins.jf,
                k: ins.k,
            },
        });
    }
    Ok(out)
}

/// Send a seccomp notification listener fd to the agent listening on
/// `listener_path` (a unix stream socket): one message with the fd as
/// SCM_RIGHTS and `state_json` (see [`SeccompPlan::listener_payload`]) as data.
pub fn send_listener(fd: BorrowedFd<'_>, listener_path: &Path, state_json: &[u8]) -> Result<()> {
    use nix::sys::socket::{
        connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
        UnixAddr,
    };
    let path_str = listener_path.display().to_string();
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| Error::sys("socket for linux.seccomp.listenerPath", e))?;
    let addr = UnixAddr::new(listener_path)
        .map_err(|e| Error::sys(format!("linux.seccomp.listenerPath {path_str}"), e))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| {
        Error::sys(
            format!("failed to connect with seccomp agent at {path_str}"),
            e,
        )
    })?;
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    // At least one byte must go with the fd.
    let first: &[u8] = if state_json.is_empty() {
        b"{}"
    } else {
        state_json
    };
    let iov = [IoSlice::new(first)];
    let mut sent = sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .map_err(|e| Error::sys(format!("send seccomp listener fd to {path_str}"), e))?;
    while sent < first.len() {
        let iov = [IoSlice::new(&first[sent..])];
        sent += sendmsg::<()>(sock.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None)
            .map_err(|e| Error::sys(format!("send container state to {path_str}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
