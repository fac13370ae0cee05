//! Capabilities applied for real: a forked child applies a CapPlan around a uid
//! change, and what the kernel shows in /proc/self/status is asserted exactly.
//! Needs root (and CAP_SETPCAP/CAP_SETUID/CAP_SETGID); skips with a reason otherwise.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::FromRawFd;

use berth_container::caps::{docker_default, CapPlan};
use oci_spec::runtime::LinuxCapabilities;

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        berth_testkit::skip("capability tests need root");
        return false;
    }
    true
}

/// Fork; in the child run `f` with the write end of a pipe, then `_exit`. The
/// child never returns into the test harness. Returns what the child wrote and
/// its exit status.
fn in_child(f: impl FnOnce(libc::c_int) -> i32) -> (String, i32) {
    let mut fds = [0; 2];
    // SAFETY: fds is a two-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (r, w) = (fds[0], fds[1]);
    // SAFETY: the child only runs `f` and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(w))).unwrap_or(101);
        // SAFETY: leaving the child without running the harness's code.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: w is ours and open.
    unsafe { libc::close(w) };
    // SAFETY: r is ours; File takes ownership.
    let mut file = unsafe { std::fs::File::from_raw_fd(r) };
    let mut out = String::new();
    file.read_to_string(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: pid is our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    (out, code)
}

fn write_all(fd: libc::c_int, b: &[u8]) {
    let mut off = 0;
    while off < b.len() {
        // SAFETY: pointer and length come from a live slice.
        let n = unsafe { libc::write(fd, b[off..].as_ptr().cast(), b.len() - off) };
        if n <= 0 {
            return;
        }
        off += n as usize;
    }
}

/// Copy /proc/self/status into `fd`.
fn dump_status(fd: libc::c_int) {
    let s = std::fs::read("/proc/self/status").unwrap_or_default();
    write_all(fd, &s);
}

/// Switch to uid/gid 1000 with raw system calls (no glibc thread broadcast).
fn become_1000() -> bool {
    // SAFETY: raw credential syscalls with integer arguments.
    unsafe {
        libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
            && libc::syscall(libc::SYS_setresgid, 1000, 1000, 1000) == 0
            && libc::syscall(libc::SYS_setresuid, 1000, 1000, 1000) == 0
    }
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in:\n{status}"))
}

fn caps(json: &str) -> LinuxCapabilities {
    serde_json::from_str(json).unwrap()
}

#[test]
fn sets_survive_uid_change_exactly() {
    if !can_run() {
        return;
    }
    let c = caps(
        r#"{"bounding":["CAP_CHOWN","CAP_SETUID","CAP_SETGID"],"effective":["CAP_CHOWN"],
            "permitted":["CAP_CHOWN","CAP_SETUID"],"inheritable":["CAP_CHOWN"],
            "ambient":["CAP_CHOWN"]}"#,
    );
    let plan = CapPlan::new(Some(&c)).unwrap();
    let (out, code) = in_child(|w| {
        if let Err(e) = plan.before_user_change() {
            write_all(w, format!("before: {e}").as_bytes());
            return 1;
        }
        if !become_1000() {
            write_all(w, b"setuid failed");
            return 2;
        }
        if let Err(e) = plan.after_user_change() {
            write_all(w, format!("after: {e}").as_bytes());
            return 3;
        }
        dump_status(w);
        0
    });
    assert_eq!(code, 0, "{out}");
    assert_eq!(field(&out, "CapBnd"), "00000000000000c1");
    assert_eq!(field(&out, "CapEff"), "0000000000000001");
    assert_eq!(field(&out, "CapPrm"), "0000000000000081");
    assert_eq!(field(&out, "CapInh"), "0000000000000001");
    assert_eq!(field(&out, "CapAmb"), "0000000000000001");
    assert!(field(&out, "Uid").starts_with("1000"), "{out}");
}

/// Run `/bin/cat /proc/self/status` in a child that applied `plan` (switching
/// to uid 1000 when `non_root`), returning the exec'd program's view.
fn exec_status(plan: &CapPlan, non_root: bool) -> (String, i32) {
    let cat = CString::new("/bin/cat").unwrap();
    let arg = CString::new("/proc/self/status").unwrap();
    let argv = [cat.as_ptr(), arg.as_ptr(), std::ptr::null()];
    in_child(|w| {
        if plan.before_user_change().is_err() {
            return 1;
        }
        if non_root && !become_1000() {
            return 2;
        }
        if let Err(e) = plan.after_user_change() {
            write_all(w, format!("after: {e}").as_bytes());
            return 3;
        }
        // SAFETY: w is open; argv is NULL-terminated and outlives the call.
        unsafe {
            libc::dup2(w, 1);
            libc::execv(cat.as_ptr(), argv.as_ptr());
        }
        4
    })
}

#[test]
fn ambient_capability_reaches_a_non_root_program() {
    if !can_run() || !std::path::Path::new("/bin/cat").exists() {
        berth_testkit::skip("needs root and /bin/cat");
        return;
    }
    let c = caps(
        r#"{"bounding":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],"effective":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],
            "permitted":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],"inheritable":["CAP_NET_BIND_SERVICE"],
            "ambient":["CAP_NET_BIND_SERVICE"]}"#,
    );
    let (out, code) = exec_status(&CapPlan::new(Some(&c)).unwrap(), true);
    assert_eq!(code, 0, "{out}");
    // After execve as uid 1000: permitted and effective are exactly the ambient set.
    assert_eq!(field(&out, "CapBnd"), "0000000000000401");
    assert_eq!(field(&out, "CapPrm"), "0000000000000400");
    assert_eq!(field(&out, "CapEff"), "0000000000000400");
    assert_eq!(field(&out, "CapInh"), "0000000000000400");
    assert_eq!(field(&out, "CapAmb"), "0000000000000400");
}

#[test]
fn docker_default_as_root_keeps_inheritable_empty() {
    // CVE-2022-29162: inheritable must stay empty unless asked for.
    if !can_run() || !std::path::Path::new("/bin/cat").exists() {
        berth_testkit::skip("needs root and /bin/cat");
        return;
    }
    let names = docker_default();
    let list = serde_json::to_string(&names).unwrap();
    let c = caps(&format!(
        r#"{{"bounding":{list},"effective":{list},"permitted":{list}}}"#
    ));
    let (out, code) = exec_status(&CapPlan::new(Some(&c)).unwrap(), false);
    assert_eq!(code, 0, "{out}");
    let docker_mask = "00000000a80425fb";
    assert_eq!(field(&out, "CapBnd"), docker_mask);
    assert_eq!(field(&out, "CapPrm"), docker_mask);
    assert_eq!(field(&out, "CapEff"), docker_mask);
    assert_eq!(field(&out, "CapInh"), "0000000000000000");
    assert_eq!(field(&out, "CapAmb"), "0000000000000000");
}

#[test]
fn ambient_not_inheritable_is_skipped_not_fatal() {
    if !can_run() {
        return;
    }
    let c = caps(
        r#"{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
    );
    let plan = CapPlan::new(Some(&c)).unwrap();
    let (out, code) = in_child(|w| {
        if plan.before_user_change().is_err() || !become_1000() || plan.after_user_change().is_err()
        {
            return 1;
        }
        dump_status(w);
        0
    });
    assert_eq!(code, 0, "{out}");
    assert_eq!(field(&out, "CapEff"), "0000000000000020");
    assert_eq!(field(&out, "CapAmb"), "0000000000000000");
    assert_eq!(field(&out, "CapInh"), "0000000000000000");
}

#[test]
fn no_capabilities_section_changes_nothing() {
    if !can_run() {
        return;
    }
    let plan = CapPlan::new(None).unwrap();
    let before = std::fs::read_to_string("/proc/self/status").unwrap();
    let (out, code) = in_child(|w| {
        if plan.before_user_change().is_err() || plan.after_user_change().is_err() {
            return 1;
        }
        dump_status(w);
        0
    });
    assert_eq!(code, 0);
    for f in ["CapBnd", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(field(&out, f), field(&before, f), "{f}");
    }
}
