//! Seccomp: translate `linux.seccomp` to one classic-BPF program with
//! seccompiler, ahead of any fork-heavy work, and install it with one
//! `seccomp(2)` call as the last step before `execve`.
//!
//! seccompiler compiles a filter with a single "match" action; an OCI profile
//! has one action per rule. So the rules are grouped by action, each group is
//! compiled by seccompiler with placeholder returns, and the groups are chained:
//! a group's "no rule matched" return becomes a jump to the next group, the last
//! group's becomes the profile's default action. Groups are ordered from the most
//! to the least restrictive action (the kernel's own precedence), so when rules
//! with different actions match the same call, the more restrictive one wins.
//!
//! Architectures: the program is compiled for the machine's native
//! architecture. A profile may list the native architecture's compatibility
//! ABIs as well (docker lists x86_64, x86 and x32); calls made through those
//! ABIs (and through any other foreign ABI) kill the process, as a libseccomp
//! filter does for an architecture it was not told about.

mod docker;
mod profile;
mod syscalls;

use std::collections::{BTreeMap, HashMap};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
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
}
#[cfg(target_arch = "aarch64")]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchAarch64;
    pub const COMPAT: &[Arch] = &[Arch::ScmpArchArm];
    pub const TARGET: Option<TargetArch> = Some(TargetArch::aarch64);
    pub const AUDIT: u32 = 183 | 0x8000_0000 | 0x4000_0000;
    pub const X32_BIT: Option<u32> = None;
}
#[cfg(target_arch = "riscv64")]
mod native {
    use super::*;
    pub const ARCH: Arch = Arch::ScmpArchRiscv64;
    pub const COMPAT: &[Arch] = &[];
    pub const TARGET: Option<TargetArch> = Some(TargetArch::riscv64);
    pub const AUDIT: u32 = 243 | 0x8000_0000 | 0x4000_0000;
    pub const X32_BIT: Option<u32> = None;
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

/// The architectures a profile may list: the native one and its compatibility ABIs.
/// The `linux.seccomp.flags` berth takes (TSYNC is taken and left out, as runc does).
pub fn supported_flags() -> Vec<&'static str> {
    vec![
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]
}

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
/// its rule. Returns Ok(None) for "no args" (unconditional).
fn translate_args(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    field: &str,
) -> Result<Option<Vec<SeccompRule>>> {
    if args.is_empty() {
        return Ok(None);
    }
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
        let (op, value) = match a.op() {
            Op::ScmpCmpNe => (SeccompCmpOp::Ne, a.value()),
            Op::ScmpCmpLt => (SeccompCmpOp::Lt, a.value()),
            Op::ScmpCmpLe => (SeccompCmpOp::Le, a.value()),
            Op::ScmpCmpEq => (SeccompCmpOp::Eq, a.value()),
            Op::ScmpCmpGe => (SeccompCmpOp::Ge, a.value()),
            Op::ScmpCmpGt => (SeccompCmpOp::Gt, a.value()),
            Op::ScmpCmpMaskedEq => {
                let mask = a.value();
                let want = a.value_two().unwrap_or(0);
                if want & !mask != 0 {
                    log::debug!("{field}.args[{j}]: masked value {want:#x} outside mask {mask:#x} never matches");
                    conds.push(None);
                    continue;
                }
                (SeccompCmpOp::MaskedEq(mask), want)
            }
        };
        let c = SeccompCondition::new(index as u8, SeccompCmpArgLen::Qword, op, value)
            .map_err(|e| Error::invalid(format!("{field}.args[{j}]"), "", e.to_string()))?;
        conds.push(Some(c));
    }
    let mk = |cs: Vec<SeccompCondition>| {
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

        // architectures
        if let Some(arches) = s.architectures() {
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

        // syscalls, grouped by return value
        let table: HashMap<&str, i64> = syscalls::entries().collect();
        let mut groups: BTreeMap<(i32, u32), BTreeMap<i64, Rules>> = BTreeMap::new();
        let mut notify = false;
        for (i, sc) in s.syscalls().iter().flatten().enumerate() {
            let field = format!("linux.seccomp.syscalls[{i}]");
            let ret = action_value(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
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
            let rules = translate_args(sc.args().as_deref().unwrap_or(&[]), &field)?;
            if let Some(r) = &rules {
                if r.is_empty() {
                    log::debug!("{field}: no argument comparison can match; rule skipped");
                    continue;
                }
            }
            for name in sc.names() {
                let Some(&nr) = table.get(name.as_str()) else {
                    log::debug!("{field}: unknown syscall {name:?} on this architecture; skipped");
                    continue;
                };
                let group = groups.entry((precedence(ret), ret)).or_default();
                match (group.get_mut(&nr), &rules) {
                    (Some(None), _) => {}
                    (Some(slot), None) => *slot = None,
                    (Some(Some(existing)), Some(new)) => existing.extend(new.iter().cloned()),
                    (None, r) => {
                        group.insert(nr, r.clone());
                    }
                }
            }
        }
        for &(_, ret) in groups.keys() {
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

        let prog = assemble(target, groups, default_ret)?;
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

/// Chain the action groups behind the architecture check.
fn assemble(
    target: TargetArch,
    groups: BTreeMap<(i32, u32), BTreeMap<i64, Rules>>,
    default_ret: u32,
) -> Result<Vec<libc::sock_filter>> {
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jump(BPF_JMP_JEQ_K, native::AUDIT, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    if let Some(bit) = native::X32_BIT {
        prog.push(stmt(BPF_LD_W_ABS, DATA_NR));
        prog.push(jump(BPF_JMP_JGE_K, bit, 0, 1));
        prog.push(stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS));
    }
    // A syscall newer than any berth knows cannot be in the profile: ENOSYS,
    // not the default errno, so programs fall back to the older call (glibc
    // does so for clone3), as runc's filters answer. Not when the default allows.
    if !matches!(default_ret, RET_ALLOW | libc::SECCOMP_RET_LOG) {
        if let Some(newest) = syscalls::entries().map(|(_, nr)| nr).max() {
            prog.push(stmt(BPF_LD_W_ABS, DATA_NR));
            prog.push(jump(BPF_JMP_JGT_K, newest as u32, 0, 1));
            prog.push(stmt(
                BPF_RET_K,
                libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
            ));
        }
    }
    // Drop groups that end up empty.
    let groups: Vec<((i32, u32), BTreeMap<i64, Rules>)> =
        groups.into_iter().filter(|(_, m)| !m.is_empty()).collect();
    let n = groups.len();
    for (gi, ((_, ret), rules)) in groups.into_iter().enumerate() {
        let rules: BTreeMap<i64, Vec<SeccompRule>> = rules
            .into_iter()
            .map(|(nr, r)| (nr, r.unwrap_or_default()))
            .collect();
        let filter = SeccompFilter::new(rules, PLACEHOLDER_MISMATCH, PLACEHOLDER_MATCH, target)
            .map_err(|e| Error::invalid("linux.seccomp", "", e.to_string()))?;
        let compiled: BpfProgram = filter.try_into().map_err(|e: seccompiler::BackendError| {
            Error::invalid("linux.seccomp", "", e.to_string())
        })?;
        // seccompiler starts with its own 3-instruction architecture check.
        if compiled.len() < 4 || compiled[0].code != BPF_LD_W_ABS || compiled[0].k != DATA_ARCH {
            return invalid!(
                "linux.seccomp",
                "",
                "unexpected program layout from the filter compiler"
            );
        }
        let body = &compiled[3..];
        let last = gi + 1 == n;
        let len = body.len();
        for (idx, ins) in body.iter().enumerate() {
            let mut out = libc::sock_filter {
                code: ins.code,
                jt: ins.jt,
                jf: ins.jf,
                k: ins.k,
            };
            if ins.code == BPF_RET_K {
                if ins.k == RET_ALLOW {
                    out.k = ret;
                } else if ins.k == RET_TRAP {
                    if last {
                        out.k = default_ret;
                    } else {
                        // Continue with the next group (first instruction after this body).
                        out = stmt(BPF_JMP_JA, (len - idx - 1) as u32);
                    }
                } else {
                    return invalid!(
                        "linux.seccomp",
                        "",
                        "unexpected return {:#x} from the filter compiler",
                        ins.k
                    );
                }
            }
            prog.push(out);
        }
    }
    if n == 0 {
        prog.push(stmt(BPF_RET_K, default_ret));
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
