//! The two container escapes of the CVE-2019-5736 and CVE-2024-21626 classes,
//! performed for real against berth:
//! - a container process overwrites the runtime binary after a `#!/proc/self/exe`
//!   script made the kernel run that binary inside the container;
//! - an fd that berth's caller leaked (no O_CLOEXEC) gives the container a host
//!   cwd or a host executable.
//!
//! The attacker is tests/attackers/escape.c, built static with gcc. The runtime
//! attacked is a copy of the berth binary, so a successful attack never damages the build.

mod common;

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, stdout, Env};
use serde_json::json;

/// A berth binary of this test's own, which the attack may try to overwrite.
fn berth_copy(env: &Env) -> PathBuf {
    let copy = env.dir.join("berth-copy");
    std::fs::copy(common::berth_bin(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    copy
}

/// Runs `bin --root <env root> args…` to completion with stdio through files,
/// after `leak` arranged the fds it inherits.
fn run_with(
    bin: &Path,
    env: &Env,
    args: &[&str],
    leak: Option<(&OwnedFd, i32)>,
    tag: &str,
) -> Output {
    let out_path = env.dir.join(format!(".{tag}.out"));
    let err_path = env.dir.join(format!(".{tag}.err"));
    let mut cmd = Command::new(bin);
    cmd.arg("--root")
        .arg(&env.root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    if let Some((fd, target)) = leak {
        let raw = fd.as_raw_fd();
        // SAFETY: dup2 in the child before exec; the new fd has no FD_CLOEXEC,
        // as a careless caller's would.
        unsafe {
            cmd.pre_exec(move || {
                let r = if raw == target {
                    libc::fcntl(raw, libc::F_SETFD, 0)
                } else {
                    libc::dup2(raw, target)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // A binary the attack has overwritten may no longer start: report it as a failed run.
    let status = cmd.status().unwrap_or_else(|e| {
        std::fs::write(&err_path, format!("cannot run {}: {e}", bin.display())).unwrap();
        std::process::ExitStatus::from_raw(126 << 8)
    });
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A writable busybox rootfs whose `/bin/sh` and `/bin/evil*` are
/// `#!/proc/self/exe` scripts, with the attacker at /escape.
fn booby_trapped_rootfs(env: &Env, attacker: &Path) -> PathBuf {
    let r = env.dir.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::copy(common::rootfs().join("bin/busybox"), r.join("bin/busybox")).unwrap();
    for a in ["cat", "ls", "sleep", "true"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    for (name, text) in [
        ("sh", "#!/proc/self/exe\n"),
        ("evil", "#!/proc/self/exe\n"),
        ("evil-arg", "#!/proc/self/exe --help\n"),
    ] {
        let p = r.join("bin").join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::copy(attacker, r.join("escape")).unwrap();
    copy_shared_libraries(&common::berth_bin(), &r);
    r
}

/// Copies the dynamic loader and libraries `bin` needs to the same paths under
/// `rootfs`, as an image with a libc has them: a dynamic runtime binary run as
/// an interpreter in the container can then start there.
fn copy_shared_libraries(bin: &Path, rootfs: &Path) {
    let out = Command::new("ldd").arg(bin).output().expect("ldd");
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let lib = Path::new(word);
        if !lib.is_absolute() || !lib.exists() {
            continue;
        }
        let dest = rootfs.join(word.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dest).unwrap();
    }
}

#[test]
fn proc_self_exe_scripts_cannot_overwrite_the_runtime_binary() {
    require_root!();
    let env = Env::new("esc-exe");
    let attacker = common::build_attacker(&env.dir);
    let copy = berth_copy(&env);
    let original = std::fs::read(&copy).unwrap();
    let rootfs = booby_trapped_rootfs(&env, &attacker);
    let b = env.bundle("b", |s| {
        s["root"] = json!({ "path": rootfs, "readonly": false });
        s["process"]["args"] = json!(["/escape", "watch", "/attack.log", "/stop"]);
    });
    let log = rootfs.join("attack.log");
    let bundle = b.to_str().unwrap();
    let out = run_with(&copy, &env, &["create", "-b", bundle, "e1"], None, "create");
    assert!(out.status.success(), "create: {}", stderr(&out));
    let out = run_with(&copy, &env, &["start", "e1"], None, "start");
    assert!(out.status.success(), "start: {}", stderr(&out));
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_for("the attacker to start", Duration::from_secs(10), || {
        read_log().contains("READY")
    });

    // The operator execs the image's programs; each makes the kernel run the
    // interpreter `/proc/self/exe` of the exec'ing process inside the container.
    let variants: [&[&str]; 4] = [
        &["/bin/evil"],
        &["/bin/evil-arg"],
        &["sh"],
        &["sh", "-c", "true"],
    ];
    let mut codes = Vec::new();
    'rounds: for round in 0..8 {
        for v in variants {
            if std::fs::read(&copy).unwrap() != original {
                break 'rounds;
            }
            let mut a = vec!["exec", "e1"];
            a.extend_from_slice(v);
            let out = run_with(&copy, &env, &a, None, &format!("exec-{round}"));
            codes.push((v.join(" "), out.status.code(), stderr(&out)));
        }
    }
    // A startContainer hook runs from inside the container: a second container
    // in the attacker's pid namespace whose hook is such a script.
    let init_pid = std::fs::read_to_string(env.root.join("e1/state.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["pid"].as_i64())
        .expect("e1's pid in its state");
    let hooked = env.bundle("hooked", |s| {
        s["root"] = json!({ "path": rootfs, "readonly": false });
        s["process"]["args"] = json!(["true"]);
        s["hooks"] = json!({ "startContainer": [{ "path": "/bin/evil" }] });
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
        ns.push(json!({ "type": "pid", "path": format!("/proc/{init_pid}/ns/pid") }));
    });
    for round in 0..4 {
        if std::fs::read(&copy).unwrap() != original {
            break;
        }
        let id = format!("h{round}");
        let a = ["run", "-b", hooked.to_str().unwrap(), &id];
        let out = run_with(&copy, &env, &a, None, &format!("hook-{round}"));
        codes.push((
            format!("startContainer hook ({id})"),
            out.status.code(),
            stderr(&out),
        ));
        let _ = run_with(&copy, &env, &["delete", "-f", &id], None, "hook-delete");
    }
    std::fs::write(rootfs.join("stop"), "").unwrap();
    wait_for(
        "the attacker to finish its attempts",
        Duration::from_secs(30),
        || read_log().contains("DONE"),
    );
    let text = read_log();
    assert!(
        !text.contains("WROTE"),
        "a container process wrote to the runtime binary:\n{text}"
    );
    assert!(
        std::fs::read(&copy).unwrap() == original,
        "the runtime binary changed:\n{text}"
    );
    // The attack reached the interpreting process at least once (it lives for
    // microseconds, and 32 tries catch it), so the refusal above was tested.
    assert!(
        text.contains("GRAB"),
        "the attacker never saw the interpreter:\n{text}"
    );
    // The interpreter stage refuses to run: none of these programs ran.
    for (v, code, err) in &codes {
        assert!(*code != Some(0), "exec {v} succeeded: {err}\n{text}");
    }
    let out = run_with(&copy, &env, &["delete", "-f", "e1"], None, "delete");
    assert!(out.status.success(), "delete: {}", stderr(&out));
}

/// A host directory holding a secret the container must never read.
fn host_secret(env: &Env) -> (PathBuf, OwnedFd) {
    let dir = env.dir.join("host-secret");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("marker"), "HOST-SECRET-5f3a\n").unwrap();
    let fd: OwnedFd = std::fs::File::open(&dir).unwrap().into();
    (dir, fd)
}

/// Asserts a refused start: non-zero exit, one `berth: ` line naming `needle`, no secret.
fn assert_refused(out: &Output, needle: &str) {
    let (o, e) = (stdout(out), stderr(out));
    assert!(!out.status.success(), "the process ran: {o}{e}");
    assert!(
        !o.contains("HOST-SECRET") && !o.contains("HOST-BINARY-RAN"),
        "the container reached the host: {o}"
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {e}");
    assert!(
        lines[0].starts_with("berth: ") && lines[0].contains(needle),
        "{e}"
    );
}

#[test]
fn a_leaked_directory_fd_is_no_host_cwd_for_run() {
    require_root!();
    let env = Env::new("esc-cwd-run");
    let (_dir, fd) = host_secret(&env);
    let b = env.bundle("b", |s| {
        s["process"]["cwd"] = json!("/proc/self/fd/9");
        s["process"]["args"] = json!(["cat", "marker"]);
    });
    let out = run_with(
        &common::berth_bin(),
        &env,
        &["run", "-b", b.to_str().unwrap(), "c1"],
        Some((&fd, 9)),
        "run",
    );
    assert_refused(&out, "/proc/self/fd/9");
}

#[test]
fn a_leaked_directory_fd_is_no_host_cwd_for_exec() {
    require_root!();
    let env = Env::new("esc-cwd-exec");
    let (_dir, fd) = host_secret(&env);
    let b = env.bundle("b", |s| s["process"]["args"] = json!(["sleep", "100"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "c2"]);
    let bin = common::berth_bin();
    let args = ["exec", "--cwd", "/proc/self/fd/9", "c2", "cat", "marker"];
    let out = run_with(&bin, &env, &args, Some((&fd, 9)), "exec");
    assert_refused(&out, "/proc/self/fd/9");
    assert_eq!(
        out.status.code(),
        Some(255),
        "runc's code for a process that cannot start"
    );
    // `..` from the cwd walks nowhere outside either.
    let args = ["exec", "--cwd", "/proc/self/fd/9/..", "c2", "ls"];
    let out = run_with(&bin, &env, &args, Some((&fd, 9)), "exec-up");
    assert_refused(&out, "/proc/self/fd/9/..");
    env.ok(&["delete", "-f", "c2"]);
}

#[test]
fn a_preserved_host_directory_is_refused_as_cwd() {
    require_root!();
    // --preserve-fds passes fd 3 on purpose; it still must not become the cwd,
    // because a cwd outside the container's root lets `..` walk the host.
    let env = Env::new("esc-cwd-preserved");
    let (_dir, fd) = host_secret(&env);
    let b = env.bundle("b", |s| {
        s["process"]["cwd"] = json!("/proc/self/fd/3");
        s["process"]["args"] = json!(["cat", "marker"]);
    });
    let out = run_with(
        &common::berth_bin(),
        &env,
        &[
            "run",
            "--preserve-fds",
            "1",
            "-b",
            b.to_str().unwrap(),
            "c3",
        ],
        Some((&fd, 3)),
        "run",
    );
    assert_refused(&out, "outside the container's root");
}

#[test]
fn a_leaked_host_executable_fd_does_not_run_in_the_container() {
    require_root!();
    let env = Env::new("esc-argv0");
    let attacker = common::build_attacker(&env.dir);
    let exe: OwnedFd = std::fs::File::open(&attacker).unwrap().into();
    let bin = common::berth_bin();
    let b = env.bundle("b", |s| {
        s["process"]["args"] = json!(["/proc/self/fd/9", "hello"]);
    });
    let bundle = b.to_str().unwrap();
    let out = run_with(
        &bin,
        &env,
        &["run", "-b", bundle, "c4"],
        Some((&exe, 9)),
        "run",
    );
    assert_refused(&out, "/proc/self/fd/9");

    let b = env.bundle("b2", |s| s["process"]["args"] = json!(["sleep", "100"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "c5"]);
    let args = ["exec", "c5", "/proc/self/fd/9", "hello"];
    let out = run_with(&bin, &env, &args, Some((&exe, 9)), "exec");
    assert_refused(&out, "/proc/self/fd/9");
    env.ok(&["delete", "-f", "c5"]);
}

#[test]
fn a_program_whose_execve_fails_is_reported_by_the_exec_stage() {
    require_root!();
    // The program passes berth's checks (a file, executable) but the kernel
    // cannot run it: the stage reports the errno, and exec exits 255 as runc.
    let env = Env::new("esc-enoexec");
    let rootfs = env.dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    for d in ["proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(
        common::rootfs().join("bin/busybox"),
        rootfs.join("bin/busybox"),
    )
    .unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sleep")).unwrap();
    let junk = rootfs.join("bin/junk");
    std::fs::write(&junk, [0u8; 64]).unwrap();
    std::fs::set_permissions(&junk, std::fs::Permissions::from_mode(0o755)).unwrap();
    let b = env.bundle("b", |s| {
        s["root"] = json!({ "path": rootfs, "readonly": true });
        s["process"]["args"] = json!(["sleep", "100"]);
    });
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "n1"]);
    let out = env.run(&["exec", "n1", "/bin/junk"]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    let e = stderr(&out);
    // In runc's words: the errno as Go prints it.
    assert!(e.contains("exec /bin/junk: exec format error"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    env.ok(&["delete", "-f", "n1"]);
}

#[test]
fn a_profile_that_denies_execveat_still_starts_the_program() {
    require_root!();
    // The exec stage falls back from execveat(memfd) to execve(/proc/self/fd/N).
    let env = Env::new("esc-execveat");
    let b = env.bundle("b", |s| {
        s["process"]["args"] = json!(["sh", "-c", "echo started"]);
        s["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{ "names": ["execveat"], "action": "SCMP_ACT_ERRNO" }]
        });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "x1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "started\n");
}
