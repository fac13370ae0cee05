//! Kernel attributes of container processes, for init and exec: NUMA memory
//! policy, scheduler, I/O priority, personality, time-namespace offsets and
//! the pidfd handed out by `--pidfd-socket`. Each is read back where the
//! kernel shows it (/proc/PID/numa_maps, /proc/PID/sched, ioprio through the
//! host's ionice, uname, timens_offsets, the received fd's fdinfo); bad input
//! must fail with one line naming the field and leave no container behind.

mod common;

use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{args, receiver, stderr, stdout, Env};
use serde_json::{json, Value};

/// Starts a container whose init sleeps, after `edit`; returns init's host pid.
fn running(env: &Env, id: &str, edit: impl FnOnce(&mut Value)) -> i32 {
    let b = env.bundle(id, |s| {
        args(s, &["sleep", "1000"]);
        edit(s);
    });
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), id]);
    env.state(id)["pid"].as_i64().unwrap() as i32
}

/// `berth run` of a container printing something, in the foreground.
fn run_fg(env: &Env, id: &str, edit: impl FnOnce(&mut Value)) -> Output {
    let b = env.bundle(id, edit);
    env.run(&["run", "-b", b.to_str().unwrap(), id])
}

/// `exec -d` of `sleep` with extra flags; returns the exec'd host pid.
fn exec_sleep(env: &Env, id: &str, flags: &[&str]) -> i32 {
    let pid_file = env.dir.join(format!("{id}-{}.pid", flags.len()));
    let mut a = vec!["exec", "-d", "--pid-file", pid_file.to_str().unwrap()];
    a.extend_from_slice(flags);
    a.push(id);
    if !flags.contains(&"-p") {
        a.extend_from_slice(&["sleep", "1000"]);
    }
    env.ok(&a);
    std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A process.json for `exec -p`.
fn process_file(env: &Env, name: &str, extra: Value) -> String {
    let mut p = json!({
        "user": { "uid": 0, "gid": 0 }, "args": ["sleep", "1000"], "cwd": "/",
        "env": ["PATH=/bin"]
    });
    for (k, v) in extra.as_object().unwrap() {
        p[k] = v.clone();
    }
    let path = env.dir.join(name);
    std::fs::write(&path, p.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

/// A one-line `berth:` error naming `what`, and nothing of container `id` left.
fn refused(env: &Env, id: &str, out: &Output, what: &str) {
    assert!(!out.status.success(), "accepted: {}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(
        err.starts_with("berth: ") && err.contains(what),
        "{err:?} lacks {what:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !env.root.join(id).exists(),
        "container {id} was left behind"
    );
}

/// The memory policy the kernel reports for the first mapping of `pid`.
fn numa_policy(pid: i32) -> String {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap();
    maps.lines()
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string()
}

/// A field (`policy`, `dl.runtime`, ...) of /proc/PID/sched.
fn sched_field(pid: i32, name: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/sched")).unwrap();
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/sched:\n{text}"))
}

/// The nice value, field 19 of /proc/PID/stat (after the command's parentheses).
fn nice(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(16).unwrap().parse().unwrap()
}

/// The I/O class and priority of `pid` as the host's ionice prints them.
fn ionice(pid: i32) -> String {
    let out = std::process::Command::new("ionice")
        .args(["-p", &pid.to_string()])
        .output()
        .unwrap();
    stdout(&out).trim().to_string()
}

#[test]
fn memory_policy_applies_to_init_and_exec() {
    require_root!();
    let env = Env::new("mempolicy");
    let init = running(&env, "mp", |s| {
        s["linux"]["memoryPolicy"] =
            json!({ "mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"] });
    });
    assert_eq!(numa_policy(init), "bind=static:0");
    let ex = exec_sleep(&env, "mp", &[]);
    assert_eq!(numa_policy(ex), "bind=static:0");
    let out = run_fg(&env, "pref", |s| {
        args(s, &["sh", "-c", "head -n 1 /proc/self/numa_maps"]);
        s["linux"]["memoryPolicy"] =
            json!({ "mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"] });
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(" prefer=relative:0 "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn bad_memory_policies_are_refused_with_runcs_texts() {
    require_root!();
    let env = Env::new("mempolicy-bad");
    for (policy, what) in [
        (
            json!({}),
            "linux.memoryPolicy.mode: invalid memory policy mode",
        ),
        (
            json!({ "mode": "INTERLEAVE", "nodes": "0" }),
            "linux.memoryPolicy.mode \"INTERLEAVE\": invalid memory policy mode",
        ),
        (json!({ "nodes": "0-7" }), "invalid memory policy mode"),
        (
            json!({ "mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES", "badflag"] }),
            "linux.memoryPolicy.flags[1] \"badflag\": invalid memory policy flag",
        ),
        (
            json!({ "mode": "MPOL_DEFAULT", "nodes": "0-7" }),
            "mode requires 0 nodes but got 8",
        ),
        (
            json!({ "mode": "MPOL_BIND", "nodes": "0-9876543210" }),
            "invalid memory policy nodes",
        ),
        (
            json!({ "mode": "MPOL_INTERLEAVE" }),
            "requires at least one node",
        ),
    ] {
        let out = run_fg(&env, "bad", |s| {
            args(s, &["true"]);
            s["linux"]["memoryPolicy"] = policy.clone();
        });
        assert_eq!(out.status.code(), Some(1), "{policy}: {}", stderr(&out));
        refused(&env, "bad", &out, what);
        assert!(
            stderr(&out).contains("linux.memoryPolicy"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn scheduler_and_io_priority_apply_to_init_and_exec() {
    require_root!();
    let env = Env::new("sched");
    let init = running(&env, "s", |s| {
        s["process"]["scheduler"] = json!({ "policy": "SCHED_BATCH", "priority": 0, "nice": 19 });
        s["process"]["ioPriority"] = json!({ "class": "IOPRIO_CLASS_BE", "priority": 4 });
    });
    assert_eq!(sched_field(init, "policy"), "3", "SCHED_BATCH");
    assert_eq!(nice(init), 19);
    assert_eq!(ionice(init), "best-effort: prio 4");
    // An exec without its own settings takes the container's.
    let plain = exec_sleep(&env, "s", &[]);
    assert_eq!(
        (sched_field(plain, "policy"), nice(plain)),
        ("3".into(), 19)
    );
    assert_eq!(ionice(plain), "best-effort: prio 4");
    // process.json's own override them; the spec's flag names are accepted.
    let p = process_file(
        &env,
        "dl.json",
        json!({
            "scheduler": {
                "policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"], "nice": 19,
                "priority": 0, "runtime": 42000, "deadline": 100000, "period": 1000000
            },
            "ioPriority": { "class": "IOPRIO_CLASS_IDLE" }
        }),
    );
    let dl = exec_sleep(&env, "s", &["-p", &p]);
    assert_eq!(sched_field(dl, "policy"), "6", "SCHED_DEADLINE");
    let chrt = std::process::Command::new("chrt")
        .args(["-p", &dl.to_string()])
        .output()
        .unwrap();
    let chrt = stdout(&chrt);
    assert!(
        chrt.contains("SCHED_DEADLINE|SCHED_RESET_ON_FORK"),
        "{chrt}"
    );
    assert!(
        chrt.contains("runtime/deadline/period parameters: 42000/100000/1000000"),
        "{chrt}"
    );
    assert_eq!(ionice(dl), "idle");
}

#[test]
fn bad_scheduler_and_io_priority_are_refused() {
    require_root!();
    let env = Env::new("sched-bad");
    for (field, value, what) in [
        (
            "scheduler",
            json!({ "nice": 1 }),
            "process.scheduler.policy is required: scheduler policy is required",
        ),
        (
            "scheduler",
            json!({ "policy": "SCHED_FAST" }),
            "process.scheduler.policy \"SCHED_FAST\": invalid scheduler policy",
        ),
        (
            "scheduler",
            json!({ "policy": "SCHED_RR", "flags": ["FAST"] }),
            "process.scheduler.flags[0] \"FAST\": invalid scheduler flag",
        ),
        (
            "scheduler",
            json!({ "policy": "SCHED_OTHER", "nice": 40 }),
            "process.scheduler.nice \"40\": invalid scheduler.nice",
        ),
        (
            "scheduler",
            json!({ "policy": "SCHED_BATCH", "runtime": 5 }),
            "runtime/deadline/period",
        ),
        (
            "ioPriority",
            json!({ "class": "IOPRIO_CLASS_FAST" }),
            "invalid ioPriority.Class",
        ),
        (
            "ioPriority",
            json!({ "class": "IOPRIO_CLASS_BE", "priority": 9 }),
            "process.ioPriority.priority \"9\": invalid ioPriority.Priority",
        ),
    ] {
        let out = run_fg(&env, "bad", |s| {
            args(s, &["true"]);
            s["process"][field] = value.clone();
        });
        refused(&env, "bad", &out, what);
    }
}

#[test]
fn deadline_scheduler_is_refused_with_a_cpuset() {
    require_root!();
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        berth_testkit::skip("needs two CPUs to narrow the cpuset");
        return;
    }
    let env = Env::new("sched-cpus");
    let b = env.bundle("dl", |s| {
        args(s, &["sleep", "1000"]);
        s["linux"]["resources"]["cpu"] = json!({ "cpus": "0" });
        s["linux"]["cgroupsPath"] = json!("berth-it-sched-cpus");
        s["process"]["scheduler"] = json!({
            "policy": "SCHED_DEADLINE", "nice": 19, "runtime": 42000, "deadline": 1000000, "period": 1000000
        });
    });
    let out = env.run(&["run", "-d", "-b", b.to_str().unwrap(), "dl"]);
    refused(
        &env,
        "dl",
        &out,
        "process scheduler can't be used together with AllowedCPUs",
    );
    assert!(
        common::cgroup_dirs("berth-it-sched-cpus")
            .iter()
            .all(|d| !d.exists()),
        "the cgroup was left behind"
    );
}

#[test]
fn personality_linux32_for_run_and_exec() {
    require_root!();
    let env = Env::new("personality");
    let out = run_fg(&env, "p32", |s| {
        args(s, &["uname", "-m"]);
        s["linux"]["personality"] = json!({ "domain": "LINUX32", "flags": [] });
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "i686");
    running(&env, "d32", |s| {
        s["linux"]["personality"] = json!({ "domain": "LINUX32" });
    });
    assert_eq!(env.ok(&["exec", "d32", "uname", "-m"]).trim(), "i686");
    let bad = run_fg(&env, "bad", |s| {
        s["linux"]["personality"] = json!({ "domain": "LINUX16" });
    });
    refused(
        &env,
        "bad",
        &bad,
        "linux.personality.domain \"LINUX16\": invalid personality domain",
    );
}

/// The default spec with a new time namespace and offsets.
fn with_offsets(s: &mut Value) {
    s["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "time" }));
    s["linux"]["timeOffsets"] = json!({
        "monotonic": { "secs": 7881, "nanosecs": 2718281 },
        "boottime": { "secs": 1337, "nanosecs": 3141519 }
    });
}

fn assert_offsets(text: &str) {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        lines.contains(&vec!["monotonic", "7881", "2718281"]),
        "{text}"
    );
    assert!(
        lines.contains(&vec!["boottime", "1337", "3141519"]),
        "{text}"
    );
}

#[test]
fn time_offsets_for_run_exec_userns_and_joiners() {
    require_root!();
    if !std::path::Path::new("/proc/self/timens_offsets").exists() {
        berth_testkit::skip("the kernel has no time namespaces");
        return;
    }
    let env = Env::new("timens");
    let out = run_fg(&env, "t", |s| {
        args(s, &["cat", "/proc/self/timens_offsets"]);
        with_offsets(s);
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_offsets(&stdout(&out));
    // The same in a new user namespace (root there may write them too).
    let out = run_fg(&env, "tu", |s| {
        args(s, &["cat", "/proc/self/timens_offsets"]);
        with_offsets(s);
        common::user_namespace(s);
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_offsets(&stdout(&out));
    // exec joins the namespace with its offsets; so does a container joining it by path.
    let init = running(&env, "tr", with_offsets);
    assert_offsets(&env.ok(&["exec", "tr", "cat", "/proc/self/timens_offsets"]));
    let out = run_fg(&env, "join", |s| {
        args(s, &["cat", "/proc/self/timens_offsets"]);
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "time", "path": format!("/proc/{init}/ns/time") }));
    });
    assert!(out.status.success(), "{}", stderr(&out));
    assert_offsets(&stdout(&out));
    // Offsets without a new time namespace to put them in are refused.
    env.ok(&["delete", "-f", "tr"]);
    let out = run_fg(&env, "none", |s| {
        with_offsets(s);
        s["linux"]["namespaces"].as_array_mut().unwrap().pop();
    });
    refused(&env, "none", &out, "time namespace isn't enabled");
    let init = running(&env, "tr2", with_offsets);
    let out = run_fg(&env, "both", |s| {
        with_offsets(s);
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.pop();
        ns.push(json!({ "type": "time", "path": format!("/proc/{init}/ns/time") }));
    });
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("both namespace path and time offsets"),
        "{}",
        stderr(&out)
    );
}

/// The pid a pidfd refers to, from its fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> i32 {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).unwrap();
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    assert_eq!(link.to_str(), Some("anon_inode:[pidfd]"), "not a pidfd");
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn pidfd_signal(fd: &OwnedFd, sig: i32) {
    // SAFETY: a pidfd, a signal number, no siginfo, no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            0usize,
            0u32,
        )
    };
    assert_eq!(
        r,
        0,
        "pidfd_send_signal: {}",
        std::io::Error::last_os_error()
    );
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pidfd_socket_for_create_run_and_exec() {
    require_root!();
    let env = Env::new("pidfd");
    // create: a pidfd of init, which stops the created container on SIGTERM.
    let b = env.bundle("c", |s| args(s, &["sleep", "1000"]));
    let (sock, h) = receiver(&env, "c.sock");
    env.ok(&[
        "create",
        "--pidfd-socket",
        sock.to_str().unwrap(),
        "-b",
        b.to_str().unwrap(),
        "c",
    ]);
    let (name, fd) = h.join().unwrap().unwrap();
    assert_eq!(name, "pidfd");
    assert_eq!(
        pidfd_pid(&fd),
        env.state("c")["pid"].as_i64().unwrap() as i32
    );
    assert_eq!(env.status("c"), "created");
    pidfd_signal(&fd, libc::SIGTERM);
    wait_for("the created container to stop", || {
        env.status("c") == "stopped"
    });
    // run -d: the running init.
    let (sock, h) = receiver(&env, "r.sock");
    env.ok(&[
        "run",
        "-d",
        "--pidfd-socket",
        sock.to_str().unwrap(),
        "-b",
        b.to_str().unwrap(),
        "r",
    ]);
    let (_, fd) = h.join().unwrap().unwrap();
    assert_eq!(
        pidfd_pid(&fd),
        env.state("r")["pid"].as_i64().unwrap() as i32
    );
    // exec -d: the exec'd process, killed through it while init lives on.
    let (sock, h) = receiver(&env, "e.sock");
    let ex = exec_sleep(&env, "r", &["--pidfd-socket", sock.to_str().unwrap()]);
    let (_, fd) = h.join().unwrap().unwrap();
    assert_eq!(pidfd_pid(&fd), ex);
    pidfd_signal(&fd, libc::SIGKILL);
    wait_for("the exec'd process to die", || {
        std::fs::read_to_string(format!("/proc/{ex}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert_eq!(env.status("r"), "running");
    // A socket nobody listens on: create fails and leaves nothing.
    let out = env.run(&[
        "create",
        "--pidfd-socket",
        "/nonexistent/sock",
        "-b",
        b.to_str().unwrap(),
        "x",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(r#"--pidfd-socket "/nonexistent/sock": connect: "#),
        "{}",
        stderr(&out)
    );
    assert!(!env.root.join("x").exists(), "container x was left behind");
}

/// This process's hard RLIMIT_NOFILE: the host value runc's rlimits.bats compares with.
fn nofile_hard() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_max
}

/// Runs berth with its soft RLIMIT_NOFILE at 1024 below an unchanged hard
/// limit, as rlimits.bats' setup leaves the shell that calls the runtime.
fn run_with_soft_1024(env: &Env, a: &[&str]) -> Output {
    use std::os::unix::process::CommandExt;
    let mut c = env.cmd(a);
    let hard = nofile_hard();
    // SAFETY: only setrlimit between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: 1024.min(hard),
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    common::output_via_files(c, &env.dir)
}

/// "soft hard" of `Max open files` in /proc/PID/limits: what the kernel holds.
fn kernel_nofile(pid: i32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    format!("{} {}", f[3], f[4])
}

/// Whether berth may raise NOFILE to `v` here: it takes CAP_SYS_RESOURCE
/// (not in this machine type's bounding set) and `v` within fs.nr_open.
fn can_raise_nofile_to(v: u64) -> bool {
    has_cap_sys_resource() && v <= nr_open()
}

fn has_cap_sys_resource() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap();
    // CAP_SYS_RESOURCE is capability 24.
    u64::from_str_radix(eff.trim(), 16).unwrap() & (1 << 24) != 0
}

fn nr_open() -> u64 {
    common::cgroups::read_trimmed(std::path::Path::new("/proc/sys/fs/nr_open"))
        .parse()
        .unwrap()
}

fn nofile(soft: u64, hard: u64) -> Value {
    json!([{ "type": "RLIMIT_NOFILE", "soft": soft, "hard": hard }])
}

const PRINT_NOFILE: &str = "echo $(ulimit -n) $(ulimit -H -n)";

/// The text of a refused NOFILE `v` above the caller's hard limit `h`.
fn above_hard_text(v: u64, h: u64) -> String {
    let why = if has_cap_sys_resource() {
        format!("above fs.nr_open {}", nr_open())
    } else {
        format!("above the runtime's hard limit {h} and no CAP_SYS_RESOURCE")
    };
    format!(
        r#"process.rlimits[0] "RLIMIT_NOFILE": soft {v} hard {v} {why}: operation not permitted"#
    )
}

/// Exit 255 (exec's code for any failure) with one `berth:` line holding `what`.
fn exec_refused(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(255), "{}", stdout(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(
        err.starts_with("berth: ") && err.contains(what),
        "{err:?} lacks {what:?}"
    );
}

#[test]
fn rlimit_nofile_same_below_above_and_unset_for_run_and_exec() {
    // runc's rlimits.bats, with this host's hard limit in place of the 65536
    // its setup cannot set here (no CAP_SYS_RESOURCE on this machine type).
    require_root!();
    let env = Env::new("rl-nofile");
    let h = nofile_hard();
    for (i, v) in [h, h - 1].into_iter().enumerate() {
        let id = format!("rl-fg{i}");
        let b = env.bundle(&id, |s| {
            s["process"]["rlimits"] = nofile(v, v);
            args(s, &["sh", "-c", PRINT_NOFILE]);
        });
        let out = run_with_soft_1024(&env, &["run", "-b", b.to_str().unwrap(), &id]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("{v} {v}"));

        // Detached: the kernel's limits of init, and an exec inheriting the config's.
        let id = format!("rl-d{i}");
        let b = env.bundle(&id, |s| {
            s["process"]["rlimits"] = nofile(v, v);
            args(s, &["sleep", "1000"]);
        });
        let out = run_with_soft_1024(&env, &["run", "-d", "-b", b.to_str().unwrap(), &id]);
        assert!(out.status.success(), "{}", stderr(&out));
        let pid = env.state(&id)["pid"].as_i64().unwrap() as i32;
        assert_eq!(kernel_nofile(pid), format!("{v} {v}"));
        let out = run_with_soft_1024(&env, &["exec", &id, "sh", "-c", PRINT_NOFILE]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("{v} {v}"));
        env.ok(&["delete", "-f", &id]);
    }

    // No rlimits: the caller's own (1024 below the hard limit), as runc
    // built with Go >= 1.21 gives; runc 1.1.5 (Go 1.19) raises its soft limit
    // to the hard one first and hands that on.
    let b = env.bundle("rl-unset", |s| {
        s["process"].as_object_mut().unwrap().remove("rlimits");
        args(s, &["sh", "-c", PRINT_NOFILE]);
    });
    let out = run_with_soft_1024(&env, &["run", "-b", b.to_str().unwrap(), "rl-unset"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{} {h}", 1024.min(h)));

    // Above the hard limit: raised with CAP_SYS_RESOURCE, else one line and nothing left.
    let above = h + 1;
    let b = env.bundle("rl-above", |s| {
        s["process"]["rlimits"] = nofile(above, above);
        args(s, &["sh", "-c", PRINT_NOFILE]);
    });
    let out = run_with_soft_1024(&env, &["run", "-b", b.to_str().unwrap(), "rl-above"]);
    if can_raise_nofile_to(above) {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("{above} {above}"));
    } else {
        refused(&env, "rl-above", &out, &above_hard_text(above, h));
        for dir in common::cgroup_dirs("berth/rl-above") {
            assert!(!dir.exists(), "{} left behind", dir.display());
        }
    }
}

#[test]
fn exec_rlimits_from_process_json_or_the_containers() {
    require_root!();
    let env = Env::new("rl-exec-p");
    let h = nofile_hard();
    let v = h - 1;
    let pid = running(&env, "rl-ex", |s| s["process"]["rlimits"] = nofile(v, v));
    let print = json!(["sh", "-c", PRINT_NOFILE]);
    // process.json without rlimits: the container's (runc's newInitConfig).
    let p = process_file(&env, "none.json", json!({ "args": print }));
    let out = run_with_soft_1024(&env, &["exec", "-p", &p, "rl-ex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{v} {v}"));
    // Its own rlimits win.
    let p = process_file(
        &env,
        "own.json",
        json!({ "args": print, "rlimits": nofile(500, 600) }),
    );
    let out = env.run(&["exec", "-p", &p, "rl-ex"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "500 600");
    // Bad ones: refused before anything runs, init alone in the container after.
    let above = h + 1;
    let p = process_file(
        &env,
        "above.json",
        json!({ "args": print, "rlimits": nofile(above, above) }),
    );
    let out = env.run(&["exec", "-p", &p, "rl-ex"]);
    if can_raise_nofile_to(above) {
        assert_eq!(
            stdout(&out).trim(),
            format!("{above} {above}"),
            "{}",
            stderr(&out)
        );
    } else {
        exec_refused(&out, &above_hard_text(above, h));
    }
    let p = process_file(
        &env,
        "inverted.json",
        json!({ "args": print, "rlimits": nofile(6, 5) }),
    );
    exec_refused(
        &env.run(&["exec", "-p", &p, "rl-ex"]),
        r#"process.rlimits[0] "RLIMIT_NOFILE": soft limit 6 exceeds hard limit 5"#,
    );
    let pids: Vec<i32> =
        serde_json::from_str(env.ok(&["ps", "--format", "json", "rl-ex"]).trim()).unwrap();
    assert_eq!(pids, [pid]);
}

#[test]
fn rlimits_in_a_user_namespace_and_inverted_ones() {
    require_root!();
    let env = Env::new("rl-userns");
    let h = nofile_hard();
    // Lowered inside a user namespace, for init and exec.
    let pid = running(&env, "rl-un", |s| {
        common::user_namespace(s);
        s["process"]["rlimits"] = nofile(500, h - 1);
    });
    assert_eq!(kernel_nofile(pid), format!("500 {}", h - 1));
    let out = env.run(&["exec", "rl-un", "sh", "-c", PRINT_NOFILE]);
    assert_eq!(
        stdout(&out).trim(),
        format!("500 {}", h - 1),
        "{}",
        stderr(&out)
    );
    // Above the hard limit: a user namespace's root could never raise it, so
    // berth raises it before entering one (as runc does from outside).
    let above = h + 1;
    let out = run_fg(&env, "rl-un-above", |s| {
        common::user_namespace(s);
        s["process"]["rlimits"] = nofile(above, above);
        args(s, &["sh", "-c", PRINT_NOFILE]);
    });
    if can_raise_nofile_to(above) {
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), format!("{above} {above}"));
    } else {
        refused(&env, "rl-un-above", &out, &above_hard_text(above, h));
    }
    // soft above hard: refused at create, before anything exists.
    let out = run_fg(&env, "rl-inv", |s| s["process"]["rlimits"] = nofile(6, 5));
    refused(
        &env,
        "rl-inv",
        &out,
        r#"process.rlimits[0] "RLIMIT_NOFILE": soft limit 6 exceeds hard limit 5"#,
    );
}
