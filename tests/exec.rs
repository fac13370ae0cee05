//! `berth exec` into real containers: namespaces, pid namespace, cgroup and pids
//! limit, capabilities, seccomp, user/cwd/env, exit codes, -d/--pid-file, -p,
//! --preserve-fds, --cgroup, user namespaces, and bad input, asserted on what the
//! kernel shows from the host and from inside.

mod common;

use common::cgroups::is_v2;

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::{args, stderr, stdout, Env};
use serde_json::{json, Value};

const NAMESPACES: [&str; 8] = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time"];

/// Starts a container whose init sleeps, after `edit`; returns init's host pid.
fn running(env: &Env, id: &str, edit: impl FnOnce(&mut Value)) -> i32 {
    let b = env.bundle(id, |s| {
        args(s, &["sleep", "1000"]);
        edit(s);
    });
    env.ok(&["create", "-b", b.to_str().unwrap(), id]);
    env.ok(&["start", id]);
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// `berth exec <id> sh -c <script>` with extra flags before the id.
fn exec_sh(env: &Env, flags: &[&str], id: &str, script: &str) -> std::process::Output {
    let mut a = vec!["exec"];
    a.extend_from_slice(flags);
    a.extend_from_slice(&[id, "sh", "-c", script]);
    env.run(&a)
}

fn exec_ok(env: &Env, flags: &[&str], id: &str, script: &str) -> String {
    let out = exec_sh(env, flags, id, script);
    assert!(
        out.status.success(),
        "exec {script:?} exited {:?}: {}{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn ns_inode(pid: i32, ns: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
        .ok()
        .map(|m| m.ino())
}

fn procs(path: &str) -> Vec<i32> {
    common::cgroups::Cgroup::new(path).procs()
}

fn read_pid_file(p: &std::path::Path) -> i32 {
    std::fs::read_to_string(p).unwrap().trim().parse().unwrap()
}

/// A one-line error on stderr that contains `what`.
fn assert_one_line(out: &std::process::Output, what: &str) {
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("berth: "), "{err:?}");
    assert!(err.contains(what), "{err:?} does not mention {what:?}");
}

fn wait_gone(pid: i32) {
    let t = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists()
        && t.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_joins_every_namespace_of_init() {
    require_root!();
    let env = Env::new("ex-ns");
    let init = running(&env, "ns", |s| s["hostname"] = json!("exec-box"));
    let pid_file = env.dir.join("p.pid");
    env.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "ns",
        "sleep",
        "100",
    ]);
    let p = read_pid_file(&pid_file);
    for ns in NAMESPACES {
        assert_eq!(
            ns_inode(p, ns),
            ns_inode(init, ns),
            "{ns} namespace of the exec'd process"
        );
    }
    // The container's own namespaces, not the host's.
    for ns in ["pid", "net", "ipc", "uts", "mnt", "cgroup"] {
        assert_ne!(
            ns_inode(p, ns),
            ns_inode(std::process::id() as i32, ns),
            "{ns} is the host's"
        );
    }
    // Inside: same hostname, mount table and interfaces as init; pid 1 is init.
    let text = exec_ok(
        &env,
        &[],
        "ns",
        "hostname; echo $$; tr '\\0' ' ' </proc/1/cmdline; echo",
    );
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(l[0], "exec-box");
    let inside: i32 = l[1].parse().unwrap();
    assert!(
        inside > 1 && inside < 20,
        "pid inside the container: {inside}"
    );
    assert_eq!(l[2].trim(), "sleep 1000");
    let mounts = exec_ok(&env, &[], "ns", "cat /proc/self/mountinfo");
    let init_mounts = exec_ok(&env, &[], "ns", "cat /proc/1/mountinfo");
    assert_eq!(mounts, init_mounts);
    assert_eq!(
        mounts,
        std::fs::read_to_string(format!("/proc/{init}/mountinfo")).unwrap()
    );
    let names = |t: &str| {
        t.lines()
            .skip(2)
            .map(|l| l.split(':').next().unwrap().trim().to_string())
            .collect::<Vec<_>>()
    };
    let inside = names(&exec_ok(&env, &[], "ns", "cat /proc/net/dev"));
    assert_eq!(inside, ["lo"], "a new network namespace has only lo");
    assert_eq!(
        inside,
        names(&std::fs::read_to_string(format!("/proc/{init}/net/dev")).unwrap())
    );
    assert_eq!(exec_ok(&env, &[], "ns", "ls /sys/class/net"), "lo\n");
}

#[test]
fn exec_is_in_the_cgroup_and_counted_by_pids_limit() {
    require_root!();
    let env = Env::new("ex-cg");
    let init = running(&env, "cg", |s| {
        s["linux"]["resources"]["pids"] = json!({ "limit": 4 })
    });
    let pid_file = env.dir.join("p.pid");
    env.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "cg",
        "sleep",
        "100",
    ]);
    let p = read_pid_file(&pid_file);
    for dir in common::cgroup_dirs("berth/cg") {
        if let Ok(list) = std::fs::read_to_string(dir.join("cgroup.procs")) {
            assert!(
                list.lines().any(|l| l == p.to_string()),
                "{p} not in {}: {list}",
                dir.display()
            );
        }
    }
    assert_eq!(procs("berth/cg").len(), 2, "init and the exec'd sleep");
    // init + sleep + sh = 3; the limit of 4 leaves room for one more child of sh.
    let out = exec_sh(&env, &[], "cg", "for i in 1 2 3; do sleep 2 & done; wait");
    assert!(
        stderr(&out).contains("can't fork"),
        "pids.max did not count the exec'd process: {}",
        stderr(&out)
    );
    let _ = nix_kill(p);
    wait_gone(p);
    // With the limit reached by init alone, the exec process cannot even be forked.
    let init2 = running(&env, "cg1", |s| {
        s["linux"]["resources"]["pids"] = json!({ "limit": 1 })
    });
    let out = env.run(&["exec", "cg1", "true"]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert_one_line(&out, "fork the exec process: EAGAIN");
    assert_eq!(procs("berth/cg1"), vec![init2], "nothing left behind");
    assert!(procs("berth/cg").contains(&init));
}

fn nix_kill(pid: i32) -> i32 {
    // SAFETY: kill(2) of a process the test started.
    unsafe { libc::kill(pid, libc::SIGKILL) }
}

#[test]
fn exec_into_a_sub_cgroup() {
    require_root!();
    // As runc: existing sub-cgroups only, per controller or for all, `/` the container's own.
    let env = Env::new("ex-subcg");
    let init = running(&env, "sc", |_| {});
    let cg = common::cgroups::Cgroup::container("sc");
    let (sub, msub) = (cg.child("sub"), cg.child("msub"));
    std::fs::create_dir(sub.dir("pids")).unwrap();
    if !is_v2() {
        std::fs::create_dir(msub.dir("memory")).unwrap();
    }
    let pid_file = env.dir.join("p.pid");
    // v1: a sub-cgroup per controller; v2 has one hierarchy, so one path.
    let placement: &[&str] = if is_v2() {
        &["--cgroup", "sub"]
    } else {
        &["--cgroup", "pids:sub", "--cgroup", "memory:/msub"]
    };
    let mut argv = vec!["exec", "-d"];
    argv.extend_from_slice(placement);
    argv.extend_from_slice(&[
        "--pid-file",
        pid_file.to_str().unwrap(),
        "sc",
        "sleep",
        "100",
    ]);
    env.ok(&argv);
    let p = read_pid_file(&pid_file);
    assert_eq!(procs("berth/sc/sub"), vec![p]);
    assert_eq!(procs("berth/sc"), vec![init]);
    let cgroup = std::fs::read_to_string(format!("/proc/{p}/cgroup")).unwrap();
    if is_v2() {
        assert_eq!(cgroup, "0::/berth/sc/sub\n");
    } else {
        assert!(cgroup.contains(":memory:/berth/sc/msub\n"), "{cgroup}");
        assert!(cgroup.contains(":freezer:/berth/sc\n"), "{cgroup}");
    }
    nix_kill(p);
    wait_gone(p);
    let out = exec_ok(&env, &["--cgroup", "/"], "sc", "cat /proc/self/cgroup");
    // Read inside the container's cgroup namespace: its own cgroup is "/".
    let own = if is_v2() { "0::/\n" } else { ":pids:/\n" };
    assert!(out.contains(own), "{out}");
    for (flag, needle) in [
        ("../escape", "bad sub cgroup path"),
        ("nonexistent", " adding pid "),
        ("cpu:nonexistent", "o such file or directory"),
        ("whaaat:/", "unknown controller whaaat"),
    ] {
        let out = env.run(&["exec", "--cgroup", flag, "sc", "true"]);
        assert_eq!(out.status.code(), Some(255), "{flag}");
        assert_one_line(&out, needle);
    }
    assert!(!common::cgroups::Cgroup::new("berth/escape").exists());
    assert!(!common::cgroups::Cgroup::new("berth/sc/nonexistent").exists());
    assert_eq!(procs("berth/sc"), vec![init]);
}

fn status_line(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

fn seccomp_profile() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }]
    })
}

#[test]
fn exec_takes_capabilities_seccomp_and_no_new_privs() {
    require_root!();
    let env = Env::new("ex-sec");
    for (id, nnp) in [("nnp", true), ("privs", false)] {
        let init = running(&env, id, |s| {
            s["linux"]["seccomp"] = seccomp_profile();
            s["process"]["noNewPrivileges"] = json!(nnp);
        });
        let host = std::fs::read_to_string(format!("/proc/{init}/status")).unwrap();
        // cat itself, not through sh (busybox sh ignores SIGQUIT and passes that on).
        let status = env.ok(&["exec", id, "cat", "/proc/self/status"]);
        assert_eq!(status_line(&status, "Seccomp:"), "2", "{id}: filter mode");
        for key in [
            "CapEff:",
            "CapPrm:",
            "CapBnd:",
            "CapInh:",
            "CapAmb:",
            "Seccomp:",
            "NoNewPrivs:",
        ] {
            assert_eq!(
                status_line(&status, key),
                status_line(&host, key),
                "{id}: {key} differs from init"
            );
        }
        assert_eq!(
            status_line(&status, "NoNewPrivs:"),
            if nnp { "1" } else { "0" }
        );
        // Nothing of the runtime's signal state (Rust ignores SIGPIPE) reaches the process.
        assert_eq!(
            status_line(&status, "SigIgn:"),
            "0000000000000000",
            "{id}: ignored signals"
        );
        assert_eq!(
            status_line(&status, "SigBlk:"),
            "0000000000000000",
            "{id}: blocked signals"
        );
        // The filter is the container's: mkdir fails with EPERM.
        let out = exec_sh(&env, &[], id, "mkdir /tmp/x");
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("Operation not permitted"),
            "{}",
            stderr(&out)
        );
    }
    // --cap adds to bounding, effective and permitted; --no-new-privs sets the flag.
    let status = exec_ok(
        &env,
        &[
            "--cap",
            "CAP_NET_ADMIN",
            "-c",
            "sys_ptrace",
            "--no-new-privs",
        ],
        "privs",
        "cat /proc/self/status",
    );
    let eff = u64::from_str_radix(&status_line(&status, "CapEff:"), 16).unwrap();
    let init = env.state("privs")["pid"].as_i64().unwrap();
    let base = u64::from_str_radix(
        &status_line(
            &std::fs::read_to_string(format!("/proc/{init}/status")).unwrap(),
            "CapEff:",
        ),
        16,
    )
    .unwrap();
    assert_eq!(
        eff,
        base | 1 << 12 | 1 << 19,
        "CAP_NET_ADMIN (12) and CAP_SYS_PTRACE (19) added"
    );
    assert_eq!(
        status_line(&status, "CapBnd:"),
        status_line(&status, "CapEff:")
    );
    assert_eq!(status_line(&status, "NoNewPrivs:"), "1");
    let out = env.run(&["exec", "--cap", "CAP_NOPE", "privs", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert_one_line(&out, "CAP_NOPE");
}

#[test]
fn exec_applies_user_cwd_env_and_groups() {
    require_root!();
    let env = Env::new("ex-user");
    running(&env, "u", |_| {});
    let text = exec_ok(&env, &["-u", "1000:1000", "-g", "5", "-g", "7", "--cwd", "/tmp", "-e", "FOO=bar", "--env", "TERM=dumb"], "u",
        "id -u; id -g; id -G; pwd; echo $FOO; echo $TERM; echo $PATH; echo $HOME; tr '\\0' '\\n' </proc/$$/environ | grep -c ^TERM=");
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(
        &l[..6],
        ["1000", "1000", "1000 5 7", "/tmp", "bar", "dumb"],
        "{text}"
    );
    assert!(l[6].contains("/bin"), "PATH kept: {}", l[6]);
    assert_eq!(l[7], "/home/user", "HOME from the container's /etc/passwd");
    let text = exec_ok(&env, &["-u", "user"], "u", "id -u; id -g");
    assert_eq!(text, "1000\n1000\n");
    let text = exec_ok(&env, &["-u", "1000"], "u", "id -u; id -g");
    assert_eq!(
        text, "1000\n0\n",
        "a numeric uid keeps the process's gid (as runc)"
    );
    // The container's defaults otherwise.
    let text = exec_ok(&env, &[], "u", "id -u; pwd; echo $TERM");
    assert_eq!(text, "0\n/\nxterm\n");
}

#[test]
fn exec_returns_exit_codes_and_signal_deaths() {
    require_root!();
    let env = Env::new("ex-codes");
    running(&env, "c", |_| {});
    assert_eq!(exec_sh(&env, &[], "c", "exit 0").status.code(), Some(0));
    assert_eq!(exec_sh(&env, &[], "c", "exit 3").status.code(), Some(3));
    assert_eq!(
        exec_sh(&env, &[], "c", "kill -9 $$").status.code(),
        Some(137)
    );
    assert_eq!(
        exec_sh(&env, &[], "c", "kill -TERM $$").status.code(),
        Some(143)
    );
    let out = exec_sh(&env, &[], "c", "echo out; echo err >&2");
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out).as_str()),
        ("out\n", "err\n")
    );
}

#[test]
fn foreground_exec_forwards_signals_and_reaps_its_children() {
    require_root!();
    let env = Env::new("ex-sig");
    running(&env, "s", |_| {});
    let child = env
        .cmd(&[
            "exec",
            "s",
            "sh",
            "-c",
            "trap 'echo got-term; exit 7' TERM; while :; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let berth = child.id();
    // Wait until the exec'd shell runs, then look at berth's children: only it, no zombie.
    let t = Instant::now();
    let kids = loop {
        let kids = std::fs::read_to_string(format!("/proc/{berth}/task/{berth}/children"))
            .unwrap_or_default();
        let kids: Vec<i32> = kids
            .split_whitespace()
            .filter_map(|k| k.parse().ok())
            .collect();
        if kids.len() == 1
            && std::fs::read(format!("/proc/{}/cmdline", kids[0]))
                .is_ok_and(|c| c.starts_with(b"sh\0"))
        {
            break kids;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "exec'd process never appeared: {kids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", kids[0])).unwrap();
    assert!(!stat.contains(") Z "), "zombie child: {stat}");
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) of our own child.
    unsafe { libc::kill(berth as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(stdout(&out), "got-term\n");
}

#[test]
fn detached_exec_writes_its_pid_and_keeps_running() {
    require_root!();
    let env = Env::new("ex-detach");
    let init = running(&env, "d", |_| {});
    let pid_file = env.dir.join("exec.pid");
    let t = Instant::now();
    env.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "d",
        "sleep",
        "77",
    ]);
    assert!(t.elapsed() < Duration::from_secs(5));
    let p = read_pid_file(&pid_file);
    std::thread::sleep(Duration::from_millis(100));
    let cmdline = std::fs::read(format!("/proc/{p}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0077\0");
    let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap();
    let nspid: Vec<&str> = status
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    assert_eq!(nspid.len(), 2, "in a nested pid namespace: {nspid:?}");
    assert_ne!(nspid[1], "1");
    assert!(procs("berth/d").contains(&p) && procs("berth/d").contains(&init));
    // kill --all reaches it; delete -f leaves nothing.
    env.ok(&["delete", "-f", "d"]);
    wait_gone(p);
    assert!(!std::path::Path::new(&format!("/proc/{p}")).exists());
}

#[test]
fn exec_closes_fds_but_preserves_asked_ones() {
    require_root!();
    let env = Env::new("ex-fds");
    running(&env, "f", |_| {});
    let text = exec_ok(&env, &[], "f", "ls /proc/$$/fd; true");
    assert_eq!(
        text.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2"],
        "leaked fds: {}",
        exec_ok(&env, &[], "f", "ls -l /proc/$$/fd")
    );
    let file = env.dir.join("preserved");
    std::fs::write(&file, "through fd 3\n").unwrap();
    let f = std::fs::File::open(&file).unwrap();
    let raw = f.as_raw_fd();
    let mut cmd = env.cmd(&[
        "exec",
        "--preserve-fds",
        "1",
        "f",
        "sh",
        "-c",
        "cat <&3; ls /proc/$$/fd; true",
    ]);
    // SAFETY: dup2 between fork and exec only touches the child's fd table.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec: clear it instead.
            if raw == 3 {
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("through fd 3\n"), "{text}");
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
}

#[test]
fn exec_with_process_json() {
    require_root!();
    let env = Env::new("ex-pjson");
    running(&env, "p", |_| {});
    let pj = env.dir.join("process.json");
    std::fs::write(
        &pj,
        serde_json::to_vec(&json!({
            "terminal": false,
            "user": { "uid": 1000, "gid": 1000 },
            "args": ["sh", "-c", "echo $WHO $(id -u) $(pwd)"],
            "env": ["PATH=/bin:/usr/bin", "WHO=json"],
            "cwd": "/tmp"
        }))
        .unwrap(),
    )
    .unwrap();
    let out = env.run(&["exec", "-p", pj.to_str().unwrap(), "p"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "json 1000 /tmp\n");
    for (bad, what) in [
        ("{not json", "invalid process JSON"),
        (
            r#"{"user":{"uid":0,"gid":0},"args":[],"cwd":"/"}"#,
            "process.args",
        ),
        (
            r#"{"user":{"uid":0,"gid":0},"args":["true"],"cwd":"rel"}"#,
            "process.cwd",
        ),
    ] {
        std::fs::write(&pj, bad).unwrap();
        let out = env.run(&["exec", "-p", pj.to_str().unwrap(), "p"]);
        assert_eq!(out.status.code(), Some(255), "{bad}: {}", stderr(&out));
        assert_one_line(&out, what);
    }
    assert_eq!(procs("berth/p").len(), 1);
}

#[test]
fn exec_p_environment_is_the_json_s_own_plus_home() {
    require_root!();
    // As runc: nothing from config.json, no PATH made up, HOME from /etc/passwd.
    let env = Env::new("ex-pjson-env");
    running(&env, "pe", |_| {});
    let pj = env.dir.join("process.json");
    let p = json!({ "args": ["/bin/env"], "cwd": "/", "env": ["FOO=bar"] });
    std::fs::write(&pj, serde_json::to_vec(&p).unwrap()).unwrap();
    let out = env.run(&["exec", "-p", pj.to_str().unwrap(), "pe"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "FOO=bar\nHOME=/root\n");
}

#[test]
fn process_json_is_read_as_runcs_go_decoder_reads_it() {
    require_root!();
    // No `user` is uid 0 gid 0; keys match case-insensitively; an unknown
    // capability is warned about and left out.
    let env = Env::new("ex-pjson-lenient");
    running(&env, "pl", |_| {});
    let pj = env.dir.join("process.json");
    std::fs::write(
        &pj,
        serde_json::to_vec(&json!({
            "Args": ["sh", "-c", "echo $(id -u):$(id -g) $(grep CapBnd /proc/self/status)"],
            "ENV": ["PATH=/bin:/usr/bin"],
            "cwd": "/",
            "capabilities": { "bounding": ["CAP_KILL", "CAP_UNKNOWN"] }
        }))
        .unwrap(),
    )
    .unwrap();
    let out = env.run(&["exec", "-p", pj.to_str().unwrap(), "pl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // CAP_KILL is bit 5.
    assert_eq!(stdout(&out), "0:0 CapBnd: 0000000000000020\n");
    let err = stderr(&out);
    assert!(
        err.contains("level=warning")
            && err.contains(r#"unknown capability \"CAP_UNKNOWN\" ignored"#),
        "{err}"
    );
}

#[test]
fn exec_into_a_user_namespace() {
    require_root!();
    let env = Env::new("ex-userns");
    let init = running(&env, "un", |s| {
        common::user_namespace(s);
    });
    let text = exec_ok(&env, &[], "un", "id -u; cat /proc/self/uid_map; echo $$");
    let l: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(l[0], ["0"]);
    assert_eq!(l[1], ["0", "100000", "65536"]);
    let pid_file = env.dir.join("p.pid");
    env.ok(&[
        "exec",
        "-d",
        "-u",
        "1000:1000",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "un",
        "sleep",
        "100",
    ]);
    let p = read_pid_file(&pid_file);
    for ns in NAMESPACES {
        assert_eq!(ns_inode(p, ns), ns_inode(init, ns), "{ns} namespace");
    }
    let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap();
    assert_eq!(
        status_line(&status, "Uid:"),
        "101000",
        "uid 1000 inside is 101000 on the host"
    );
    assert_eq!(status_line(&status, "Gid:"), "101000");
}

#[test]
fn exec_bad_input_is_one_line_and_leaves_nothing() {
    require_root!();
    let env = Env::new("ex-bad");
    let init = running(&env, "b", |_| {});
    // As runc: a usage error is 1, every failure after it 255 (never a
    // status the process itself could have exited with by accident).
    let usage = env.run(&["exec", "b"]);
    assert_eq!(usage.status.code(), Some(1));
    assert_one_line(&usage, "a command is required");
    let missing = env.run(&["exec", "nosuch", "true"]);
    assert_eq!(missing.status.code(), Some(255));
    assert_one_line(&missing, "container \"nosuch\" does not exist");
    let cmd = env.run(&["exec", "b", "no-such-command"]);
    assert_eq!(cmd.status.code(), Some(255));
    assert_one_line(
        &cmd,
        "exec: \"no-such-command\": executable file not found in $PATH",
    );
    let path = env.run(&["exec", "b", "/no/such"]);
    assert_eq!(path.status.code(), Some(255));
    assert_one_line(&path, "no such file or directory");
    // A program the kernel cannot execute (its interpreter does not exist):
    // runc's words for the execve's errno.
    env.ok(&[
        "exec",
        "b",
        "sh",
        "-c",
        "printf '#!/nowhere/sh\\n' >/tmp/bad.sh && chmod +x /tmp/bad.sh",
    ]);
    let execve = env.run(&["exec", "b", "/tmp/bad.sh"]);
    assert_eq!(execve.status.code(), Some(255));
    assert_one_line(&execve, "exec /tmp/bad.sh: no such file or directory");
    let pid_file = env.run(&["exec", "--pid-file", "/no/such/dir/pid", "b", "true"]);
    assert_eq!(pid_file.status.code(), Some(255));
    assert_one_line(&pid_file, "/no/such/dir");
    let user = env.run(&["exec", "-u", "nobody-here", "b", "true"]);
    assert_eq!(user.status.code(), Some(255));
    assert_one_line(&user, "unable to find user nobody-here");
    let cwd = env.run(&["exec", "--cwd", "/no/dir", "b", "true"]);
    assert_eq!(cwd.status.code(), Some(255));
    assert_one_line(&cwd, "/no/dir");
    let apparmor = env.run(&["exec", "--apparmor", "docker-default", "b", "true"]);
    assert_eq!(apparmor.status.code(), Some(255));
    assert_one_line(&apparmor, "AppArmor is not enabled");
    let tty = env.run(&["exec", "-t", "-d", "b", "true"]);
    assert_eq!(tty.status.code(), Some(255));
    assert_one_line(&tty, "cannot allocate tty");
    assert_eq!(
        procs("berth/b"),
        vec![init],
        "a failed exec left a process behind"
    );

    // Paused: refused (resume makes it work again).
    env.ok(&["pause", "b"]);
    let paused = env.run(&["exec", "b", "true"]);
    assert_eq!(paused.status.code(), Some(255));
    assert_one_line(&paused, "paused");
    env.ok(&["resume", "b"]);
    env.ok(&["exec", "b", "true"]);

    // Stopped: refused.
    nix_kill(init);
    wait_gone(init);
    let t = Instant::now();
    while env.status("b") != "stopped" && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = env.run(&["exec", "b", "true"]);
    assert_eq!(stopped.status.code(), Some(255));
    assert_one_line(&stopped, "cannot exec in a stopped container");
}

#[test]
fn exec_into_a_paused_container_needs_ignore_paused_and_then_waits_for_resume() {
    require_root!();
    let env = Env::new("ex-paused");
    let init = running(&env, "pz", |_| {});
    env.ok(&["pause", "pz"]);
    // Refused as runc refuses it: exit 255, one line naming the way out.
    let refused = env.run(&["exec", "pz", "true"]);
    assert_eq!(refused.status.code(), Some(255), "{}", stderr(&refused));
    // runc 1.1.5's words.
    assert_one_line(
        &refused,
        "cannot exec in a paused container (use --ignore-paused to override)",
    );
    assert_eq!(
        procs("berth/pz"),
        vec![init],
        "a refused exec left a process"
    );

    // Forced: the process joins the frozen cgroup and does nothing until resume.
    let mark = format!("/proc/{init}/root/tmp/mark");
    let pid_file = env.dir.join("ip.pid");
    let mut cmd = env.cmd(&[
        "exec",
        "-d",
        "--ignore-paused",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "pz",
        "sh",
        "-c",
        "echo ran > /tmp/mark",
    ]);
    let mut forced = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(!std::path::Path::new(&mark).exists(), "ran while paused");
    assert_eq!(env.status("pz"), "paused");
    env.ok(&["resume", "pz"]);
    let t = Instant::now();
    let st = loop {
        if let Some(st) = forced.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "exec never returned");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(st.success(), "exec --ignore-paused exited {st}");
    while !std::path::Path::new(&mark).exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "ran\n");
}

#[test]
fn exec_cpu_affinity_initial_before_the_cgroup_and_final_after() {
    require_root!();
    let env = Env::new("ex-affinity");
    running(&env, "af", |_| {});
    let pj = env.dir.join("p.json");
    let write = |aff: Value| {
        let p = json!({ "args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",
            "env": ["PATH=/bin"], "execCPUAffinity": aff });
        std::fs::write(&pj, serde_json::to_vec(&p).unwrap()).unwrap();
    };
    write(json!({ "initial": "0", "final": "0" }));
    let out = env.run(&["--debug", "exec", "-p", pj.to_str().unwrap(), "af"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Cpus_allowed_list:\t0\n");
    assert!(
        stderr(&out).contains("(runc: nsexec: affinity: 0x1)"),
        "{}",
        stderr(&out)
    );
    // A list that is not one: refused before anything runs.
    write(json!({ "initial": "0,5000", "final": "0" }));
    let out = env.run(&["exec", "-p", pj.to_str().unwrap(), "af"]);
    assert_eq!(out.status.code(), Some(255));
    assert_one_line(
        &out,
        "process.execCPUAffinity.initial \"0,5000\": not a CPU list",
    );
    assert_eq!(procs("berth/af").len(), 1);
}

#[test]
fn the_callers_cpu_affinity_does_not_pin_the_container() {
    require_root!();
    // `taskset -c 0 berth run` must not pin the container (runc resets affinity).
    let env = Env::new("affinity");
    let all = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Cpus_allowed_list:")
                .map(|v| v.trim().to_string())
        })
        .unwrap();
    let b = env.bundle("b", |s| {
        args(s, &["grep", "Cpus_allowed_list", "/proc/self/status"])
    });
    let out = std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(common::berth_bin())
        .arg("--root")
        .arg(&env.root)
        .args(["run", "-b", b.to_str().unwrap(), "a1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).split_whitespace().last(),
        Some(all.as_str()),
        "{}",
        stdout(&out)
    );
    let b = env.bundle("b2", |s| args(s, &["sleep", "100"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "a2"]);
    let out = std::process::Command::new("taskset")
        .args(["-c", "0"])
        .arg(common::berth_bin())
        .arg("--root")
        .arg(&env.root)
        .args([
            "exec",
            "a2",
            "grep",
            "Cpus_allowed_list",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out).split_whitespace().last(),
        Some(all.as_str()),
        "{}",
        stderr(&out)
    );
    env.ok(&["delete", "-f", "a2"]);
}
