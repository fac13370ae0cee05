//! Seccomp plans installed for real in forked children: denied calls fail with
//! the configured errno, others work, /proc/self/status shows the filter, and a
//! SCMP_ACT_NOTIFY listener reaches an agent that answers the call.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_container::seccomp::{default_profile, send_listener, SeccompPlan};
use oci_spec::runtime::LinuxSeccomp;

/// Fork; in the child run `f` with the write end of a pipe, then `_exit`. The
/// child never returns into the test harness.
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

fn say(fd: libc::c_int, s: &str) {
    let b = s.as_bytes();
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

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn set_nnp() -> bool {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 }
}

fn plan(json: &str) -> SeccompPlan {
    let s: LinuxSeccomp = serde_json::from_str(json).unwrap();
    SeccompPlan::new(&s).unwrap()
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in:\n{status}"))
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("berth-sec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn seccomp_available() -> bool {
    let ok = std::fs::read_to_string("/proc/self/status")
        .map(|s| s.contains("Seccomp:"))
        .unwrap_or(false);
    if !ok {
        berth_testkit::skip("kernel without seccomp");
    }
    ok
}

#[test]
fn denied_call_fails_with_configured_errno_others_work() {
    if !seccomp_available() {
        return;
    }
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC","SECCOMP_FILTER_FLAG_LOG"],
            "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
    );
    let dir = scratch("mkdir");
    let denied = CString::new(dir.join("denied").to_str().unwrap()).unwrap();
    let file = CString::new(dir.join("file").to_str().unwrap()).unwrap();
    let (out, code) = in_child(|w| {
        if !set_nnp() {
            return 1;
        }
        if let Err(e) = p.install() {
            say(w, &format!("install: {e}"));
            return 2;
        }
        // SAFETY: valid NUL-terminated paths.
        let r = unsafe { libc::mkdir(denied.as_ptr(), 0o755) };
        say(w, &format!("mkdir={r} errno={}\n", errno()));
        // SAFETY: as above.
        let fd = unsafe {
            libc::open(
                file.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o644,
            )
        };
        say(w, &format!("open_ok={}\n", fd >= 0));
        say(
            w,
            &std::fs::read_to_string("/proc/self/status").unwrap_or_default(),
        );
        0
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("mkdir=-1 errno=38\n"), "{out}");
    assert!(out.contains("open_ok=true\n"), "{out}");
    assert_eq!(field(&out, "Seccomp"), "2");
    assert_eq!(field(&out, "NoNewPrivs"), "1");
    assert!(!dir.join("denied").exists());
    assert!(dir.join("file").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn argument_rule_matches_exactly() {
    if !seccomp_available() {
        return;
    }
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":95,
             "args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}]},
            {"names":["getpriority"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
             "args":[{"index":0,"value":2,"op":"SCMP_CMP_GE"}]}]}"#,
    );
    let (out, code) = in_child(|w| {
        if !set_nnp() || p.install().is_err() {
            return 1;
        }
        let pers = |v: u64| {
            // SAFETY: personality with an integer argument.
            let r = unsafe { libc::syscall(libc::SYS_personality, v) };
            format!("{r}/{}", if r < 0 { errno() } else { 0 })
        };
        // The query value is denied; 0 is allowed; a 64-bit value whose low half
        // is the query is not equal to it, so it is allowed (the kernel truncates).
        say(
            w,
            &format!(
                "q={} zero={} wide={}\n",
                pers(0xffff_ffff),
                pers(0),
                pers(0x1_ffff_ffff)
            ),
        );
        let prio = |which: u64| {
            // SAFETY: getpriority with integer arguments.
            let r = unsafe { libc::syscall(libc::SYS_getpriority, which, 0u64) };
            format!("{r}/{}", if r < 0 { errno() } else { 0 })
        };
        say(
            w,
            &format!(
                "process={} user={}\n",
                prio(libc::PRIO_PROCESS as u64),
                prio(libc::PRIO_USER as u64)
            ),
        );
        0
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("q=-1/95 "), "{out}");
    assert!(out.contains("zero=0/0 "), "{out}");
    // After personality(0) the query returns the persona, 0.
    assert!(out.contains("wide=0/0\n"), "{out}");
    assert!(!out.contains("process=-1"), "{out}");
    assert!(out.contains("user=-1/13\n"), "{out}");
}

#[test]
fn default_profile_in_the_kernel() {
    if !seccomp_available() {
        return;
    }
    let p = SeccompPlan::new(&default_profile()).unwrap();
    let truebin = CString::new("/bin/true").unwrap();
    let argv = [truebin.as_ptr(), std::ptr::null()];
    let have_true = std::path::Path::new("/bin/true").exists();
    let (out, code) = in_child(|w| {
        if !set_nnp() || p.install().is_err() {
            return 1;
        }
        // SAFETY: unshare with a flag; clone3 with a null argument (filtered before use).
        let r = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
        say(w, &format!("unshare={r}/{}\n", errno()));
        let r = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0usize) };
        say(w, &format!("clone3={r}/{}\n", errno()));
        let r = unsafe { libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0) };
        say(w, &format!("kexec={r}/{}\n", errno()));
        // fork (clone without namespace flags) and exec still work.
        // SAFETY: the grandchild only execs or _exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                if have_true {
                    libc::execv(truebin.as_ptr(), argv.as_ptr());
                }
                libc::_exit(if have_true { 9 } else { 0 });
            }
        }
        let mut st = 0;
        // SAFETY: pid is our child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        say(
            w,
            &format!("fork={} exit={}\n", pid > 0, libc::WEXITSTATUS(st)),
        );
        0
    });
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("unshare=-1/{}\n", libc::EPERM)),
        "{out}"
    );
    assert!(
        out.contains(&format!("clone3=-1/{}\n", libc::ENOSYS)),
        "{out}"
    );
    assert!(
        out.contains(&format!("kexec=-1/{}\n", libc::EPERM)),
        "{out}"
    );
    assert!(out.contains("fork=true exit=0\n"), "{out}");
}

#[test]
fn install_without_nnp_or_cap_sys_admin_fails_clearly() {
    if !seccomp_available() {
        return;
    }
    let p = plan(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    );
    let (out, code) = in_child(|w| {
        // Drop every capability (we stay root by uid, but without CAP_SYS_ADMIN).
        let hdr = [0x2008_0522u32, 0];
        let data = [0u32; 6];
        // SAFETY: V3 header and two zeroed data structs.
        if unsafe { libc::syscall(libc::SYS_capset, hdr.as_ptr(), data.as_ptr()) } != 0 {
            return 1;
        }
        match p.install() {
            Ok(_) => say(w, "installed"),
            Err(e) => say(w, &e.to_string()),
        }
        0
    });
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no_new_privs or CAP_SYS_ADMIN"), "{out}");
}

#[test]
fn notify_listener_reaches_the_agent() {
    if !seccomp_available() {
        return;
    }
    let dir = scratch("notify");
    let sock = dir.join("agent.sock");
    let target = dir.join("made-by-agent");
    let p = plan(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"m",
            "syscalls":[{{"names":["mkdirat"],"action":"SCMP_ACT_NOTIFY"}}]}}"#,
        sock.display()
    ));
    assert!(p.needs_notify());
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let target_c = CString::new(target.to_str().unwrap()).unwrap();
    let state =
        serde_json::json!({"ociVersion":"1.2.0","id":"t","status":"creating","pid":1,"bundle":"/"});
    let payload = p.listener_payload(1, &state);

    // SAFETY: the child only does the work below and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if !set_nnp() {
                return 1;
            }
            let fd: OwnedFd = match p.install() {
                Ok(Some(fd)) => fd,
                _ => return 2,
            };
            if send_listener(fd.as_fd(), p.listener_path().unwrap(), &payload).is_err() {
                return 3;
            }
            drop(fd);
            // SAFETY: valid path; the agent answers this call.
            let r = unsafe {
                libc::syscall(libc::SYS_mkdirat, libc::AT_FDCWD, target_c.as_ptr(), 0o755)
            };
            if r == -1 && errno() == libc::EXDEV {
                0
            } else {
                4
            }
        }))
        .unwrap_or(101);
        // SAFETY: leaving the child.
        unsafe { libc::_exit(code) };
    }

    // Agent side: accept, receive the fd and the state, answer one notification.
    let deadline = Instant::now() + Duration::from_secs(10);
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("no connection from the container: {e}"),
        }
    };
    conn.set_nonblocking(false).unwrap();
    let mut buf = vec![0u8; 65536];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = nix::sys::socket::recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        nix::sys::socket::MsgFlags::empty(),
    )
    .unwrap();
    let mut notif_fd = None;
    for c in msg.cmsgs().unwrap() {
        if let nix::sys::socket::ControlMessageOwned::ScmRights(fds) = c {
            notif_fd = fds.first().copied();
        }
    }
    let n = msg.bytes;
    let got: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(got["fds"], serde_json::json!(["seccompFd"]));
    assert_eq!(got["metadata"], "m");
    let nfd = notif_fd.expect("listener fd received");

    let mut pfd = libc::pollfd {
        fd: nfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd.
    assert_eq!(
        unsafe { libc::poll(&mut pfd, 1, 10_000) },
        1,
        "no notification arrived"
    );
    // SAFETY: zeroed plain-data structs passed to the seccomp notify ioctls.
    let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::ioctl(nfd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) },
        0,
        "{}",
        errno()
    );
    assert_eq!(i64::from(req.data.nr), libc::SYS_mkdirat);
    assert_eq!(req.pid as i32, pid);
    let mut resp: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
    resp.id = req.id;
    resp.error = -libc::EXDEV;
    assert_eq!(
        unsafe { libc::ioctl(nfd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) },
        0,
        "{}",
        errno()
    );

    let mut status = 0;
    // SAFETY: pid is our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child saw a different answer");
    assert!(
        !target.exists(),
        "the agent refused; nothing may be created"
    );
    // SAFETY: nfd came to us via SCM_RIGHTS.
    unsafe { libc::close(nfd) };
    let _ = std::fs::remove_dir_all(&dir);
}
