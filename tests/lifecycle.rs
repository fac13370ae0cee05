//! Real containers through the `berth` binary: lifecycle, namespaces, mounts,
//! users, limits, hooks, exit codes and bad input, asserted on what the kernel shows.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use common::{args, stderr, stdout, Env};
use serde_json::json;

#[test]
fn run_returns_exit_codes_including_signals() {
    require_root!();
    let env = Env::new("exitcodes");
    let b = env.bundle("b", |s| args(s, &["sh", "-c", "exit 3"]));
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "c3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Init of a pid namespace cannot be killed from inside: kill it from the host
    // while `run` waits in the foreground.
    let b = env.bundle("k", |s| args(s, &["sleep", "60"]));
    let mut fg = env
        .cmd(&["run", "-b", b.to_str().unwrap(), "c9"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if env.run(&["state", "c9"]).status.success() && env.status("c9") == "running" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    env.ok(&["kill", "c9", "SIGKILL"]);
    assert_eq!(fg.wait().unwrap().code(), Some(137));
    // `run` deletes the container afterwards unless --keep.
    assert!(!env.root.join("c3").exists());
    let b = env.bundle("t", |s| args(s, &["true"]));
    let out = env.run(&["run", "--keep", "-b", b.to_str().unwrap(), "kept"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.status("kept"), "stopped");
    env.ok(&["delete", "kept"]);
}

#[test]
fn run_keep_leaves_the_stopped_container_and_its_cgroup_for_delete() {
    require_root!();
    let env = Env::new("rl-keep");
    let cg = |id: &str| common::cgroups::Cgroup::container(id);
    let b = env.bundle("t", |s| args(s, &["true"]));
    let out = env.run(&["run", "--keep", "-b", b.to_str().unwrap(), "rl-kept"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env.status("rl-kept"), "stopped");
    assert!(cg("rl-kept").exists(), "the cgroup went with the process");
    assert!(cg("rl-kept").procs().is_empty());
    env.ok(&["delete", "rl-kept"]);
    assert!(!env.run(&["state", "rl-kept"]).status.success());
    for dir in common::cgroup_dirs("berth/rl-kept") {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    // A program that cannot start is found at create, which leaves nothing
    // when it fails, --keep or not (runc 1.1.5 fails there too, exit 1, but
    // keeps a stopped record without a cgroup).
    let b = env.bundle("x", |s| args(s, &["/nonexistent"]));
    for flags in [&["--keep"][..], &["-d", "--keep"]] {
        let mut a = vec!["run"];
        a.extend(flags);
        a.extend(["-b", b.to_str().unwrap(), "rl-kept-x"]);
        let out = env.run(&a);
        common::assert_one_line_error(&out, "exec: \"/nonexistent\": stat /nonexistent");
        assert!(!env.root.join("rl-kept-x").exists());
    }
    // With --detach, as runc 1.1.5 and main accept it: the exited container stays.
    let b = env.bundle("s", |s| args(s, &["sleep", "0.2"]));
    env.ok(&[
        "run",
        "-d",
        "--keep",
        "-b",
        b.to_str().unwrap(),
        "rl-kept-d",
    ]);
    let pid = env.state("rl-kept-d")["pid"].as_i64().unwrap();
    for _ in 0..100 {
        if env.status("rl-kept-d") == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.status("rl-kept-d"), "stopped", "init {pid} still runs");
    env.ok(&["delete", "rl-kept-d"]);
}

/// The parent pid the kernel shows for `pid`.
fn ppid(pid: i32) -> i32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn run_reaps_orphans_as_subreaper_unless_no_subreaper() {
    // A container in the host's pid namespace orphans a process: it goes to
    // the nearest subreaper, `berth run` itself unless --no-subreaper (runc's
    // default and flag).
    require_root!();
    let env = Env::new("rl-subreaper");
    let b = env.bundle("b", |s| {
        s["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|n| n["type"] != "pid");
        args(
            s,
            &[
                "sh",
                "-c",
                "(sleep 30 & echo $! >/tmp/orphan); cat /tmp/orphan; sleep 30",
            ],
        );
    });
    for (flag, id) in [(None, "rl-sr"), (Some("--no-subreaper"), "rl-nosr")] {
        let out_path = env.dir.join(format!("{id}.out"));
        let mut a = vec!["run"];
        a.extend(flag);
        a.extend(["-b", b.to_str().unwrap(), id]);
        let mut fg = env
            .cmd(&a)
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out_path).unwrap())
            .spawn()
            .unwrap();
        let mut orphan = 0;
        for _ in 0..250 {
            if let Ok(n) = std::fs::read_to_string(&out_path)
                .unwrap_or_default()
                .trim()
                .parse()
            {
                orphan = n;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(orphan > 0, "the container printed no pid");
        let parent = ppid(orphan);
        env.ok(&["kill", id, "SIGKILL"]);
        fg.wait().unwrap();
        let berth = fg.id() as i32;
        if flag.is_none() {
            assert_eq!(parent, berth, "orphan {orphan} not reparented to berth run");
        } else {
            assert_ne!(parent, berth, "orphan {orphan} reparented to berth run");
        }
        // run's delete killed what was left in the container's cgroup: the
        // orphan is gone, or a zombie its new parent has yet to reap.
        let stat = std::fs::read_to_string(format!("/proc/{orphan}/stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
        assert!(
            matches!(state, None | Some('Z')),
            "orphan {orphan} runs on ({state:?})"
        );
    }
}

#[test]
fn namespaces_differ_from_host_and_hostname_is_set() {
    require_root!();
    let env = Env::new("ns");
    let b = env.bundle("b", |s| {
        s["hostname"] = json!("box1");
        args(s, &["sh", "-c", "hostname; for n in pid net ipc uts mnt cgroup; do stat -L -c %i /proc/self/ns/$n; done; echo $$"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "ns1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "box1");
    for (i, n) in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
        .iter()
        .enumerate()
    {
        let host = std::fs::metadata(format!("/proc/self/ns/{n}"))
            .unwrap()
            .ino();
        let inside: u64 = lines[i + 1].parse().unwrap();
        assert_ne!(host, inside, "{n} namespace is the host's");
    }
    assert_eq!(
        lines[7], "1",
        "the process is pid 1 of its own pid namespace"
    );
}

#[test]
fn create_start_kill_delete_walks_the_states() {
    require_root!();
    let env = Env::new("states");
    let b = env.bundle("b", |s| args(s, &["sleep", "60"]));
    let pid_file = env.dir.join("init.pid");
    env.ok(&[
        "create",
        "-b",
        b.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "s1",
    ]);
    let st = env.state("s1");
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], "s1");
    assert_eq!(st["ociVersion"], "1.2.1");
    assert_eq!(st["bundle"], b.canonicalize().unwrap().to_str().unwrap());
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    // Init is parked, not yet running the user's program.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!cmdline.starts_with(b"sleep"), "init ran before start");
    // The init sits in the container's cgroup.
    let procs = common::cgroups::Cgroup::container("s1").procs();
    assert!(procs.contains(&(pid as i32)), "{procs:?}");
    let list = env.ok(&["list", "-q"]);
    assert_eq!(list.trim(), "s1");

    env.ok(&["start", "s1"]);
    assert_eq!(env.status("s1"), "running");
    std::thread::sleep(Duration::from_millis(100));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        cmdline.starts_with(b"sleep"),
        "{:?}",
        String::from_utf8_lossy(&cmdline)
    );
    let again = env.run(&["start", "s1"]);
    assert_eq!(again.status.code(), Some(1));

    let refused = env.run(&["delete", "s1"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("not stopped"),
        "{}",
        stderr(&refused)
    );

    env.ok(&["kill", "s1", "KILL"]);
    for _ in 0..100 {
        if env.status("s1") == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.status("s1"), "stopped");
    assert_eq!(env.run(&["kill", "s1"]).status.code(), Some(1));
    env.ok(&["delete", "s1"]);
    assert_eq!(env.run(&["state", "s1"]).status.code(), Some(1));
    for dir in common::cgroup_dirs("berth/s1") {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn kill_accepts_names_and_numbers_and_delete_force_stops() {
    require_root!();
    let env = Env::new("kill");
    let b = env.bundle("b", |s| {
        args(
            s,
            &[
                "sh",
                "-c",
                "trap 'exit 42' USR1; while true; do sleep 1; done",
            ],
        )
    });
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "k1"]);
    assert_eq!(env.status("k1"), "running");
    assert_eq!(env.run(&["kill", "k1", "NOSUCHSIG"]).status.code(), Some(1));
    env.ok(&["kill", "k1", "usr1"]);
    for _ in 0..200 {
        if env.status("k1") == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.status("k1"), "stopped");
    env.ok(&["delete", "k1"]);

    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "k2"]);
    env.ok(&["kill", "k2", "10"]); // SIGUSR1 by number
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "k3"]);
    env.ok(&["delete", "--force", "k3"]);
    assert!(!env.root.join("k3").exists());
}

#[test]
fn mounts_masked_and_readonly_paths_show_in_mountinfo() {
    require_root!();
    let env = Env::new("mounts");
    let host_dir = env.dir.join("shared");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("hello"), "from host").unwrap();
    let b = env.bundle("b", |s| {
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": host_dir, "options": ["rbind", "ro", "nosuid"]
        }));
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "noexec"]
        }));
        args(s, &["sh", "-c", "cat /proc/self/mountinfo; echo ---; cat /data/hello; echo; \
            wc -c < /proc/keys; ls -A /proc/acpi | wc -l; touch /data/x 2>&1 || echo data-ro; touch / 2>&1 || true; touch /x 2>&1 || echo root-ro; \
            echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "m1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (mountinfo, rest) = text.split_once("---").unwrap();
    let line = |dest: &str| {
        mountinfo
            .lines()
            .find(|l| l.split(' ').nth(4) == Some(dest))
            .unwrap_or_else(|| panic!("{dest} not mounted:\n{mountinfo}"))
            .to_string()
    };
    assert!(
        line("/data").split(' ').nth(5).unwrap().contains("ro"),
        "{}",
        line("/data")
    );
    assert!(line("/data").contains("nosuid"));
    assert!(
        line("/scratch").contains("noexec") && line("/scratch").contains("size=1024k"),
        "{}",
        line("/scratch")
    );
    assert!(line("/proc").contains(" - proc "));
    assert!(line("/sys").split(' ').nth(5).unwrap().starts_with("ro"));
    assert!(
        line("/").split(' ').nth(5).unwrap().starts_with("ro"),
        "root.readonly: {}",
        line("/")
    );
    assert!(line("/proc/sys")
        .split(' ')
        .nth(5)
        .unwrap()
        .starts_with("ro"));
    assert!(
        line("/proc/keys").contains(" - tmpfs "),
        "masked file is the container's /dev/null: {}",
        line("/proc/keys")
    );
    assert!(
        line("/proc/acpi").contains(" - tmpfs ")
            && line("/proc/acpi")
                .split(' ')
                .nth(5)
                .unwrap()
                .starts_with("ro")
    );
    assert!(rest.contains("from host"));
    assert!(
        rest.contains("\n0\n0\n"),
        "masked /proc/keys reads empty and /proc/acpi is an empty dir: {rest}"
    );
    assert!(
        rest.contains("data-ro") && rest.contains("root-ro") && rest.contains("sys-ro"),
        "{rest}"
    );
    // Nothing leaked to the host's mount table.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host.contains(env.dir.to_str().unwrap()),
        "container mount visible on host"
    );
}

#[test]
fn user_groups_cwd_env_umask_rlimits_apply() {
    require_root!();
    let env = Env::new("user");
    let b = env.bundle("b", |s| {
        s["process"]["user"] = json!({ "uid": 1000, "gid": 1000, "additionalGids": [5, 27], "umask": 63 });
        s["process"]["cwd"] = json!("/tmp");
        s["process"]["env"].as_array_mut().unwrap().push(json!("GREETING=hi there"));
        s["process"]["rlimits"] = json!([{ "type": "RLIMIT_NOFILE", "hard": 512, "soft": 256 }]);
        args(s, &["sh", "-c", "id -u; id -g; id -G; pwd; echo $GREETING; umask; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "u1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let l: Vec<&str> = text.lines().collect();
    assert_eq!(
        &l[..8],
        &[
            "1000",
            "1000",
            "1000 5 27",
            "/tmp",
            "hi there",
            "0077",
            "256",
            "512"
        ],
        "{text}"
    );
    assert!(l[8].ends_with("1"), "{}", l[8]);
}

#[test]
fn hooks_run_in_spec_order_with_state_on_stdin() {
    require_root!();
    let env = Env::new("hooks");
    let log = env.dir.join("hooks.log");
    // The hook is a host shell script; startContainer runs inside the container, so its
    // path is the busybox sh there and it writes to a bind-mounted file.
    let hook = |name: &str| json!({ "path": "/bin/sh", "args": ["sh", "-c", format!("read s; echo {name} >> {}; echo \"$s\" >> {}.json", log.display(), log.display())] });
    // The slow startContainer hook proves poststart waits for the program to start.
    let inner = json!({ "path": "/bin/sh", "args": ["sh", "-c", "sleep 0.5; echo startContainer >> /hooklog/hooks.log"] });
    let b = env.bundle("b", |s| {
        s["hooks"] = json!({
            "createRuntime": [hook("createRuntime")],
            "createContainer": [hook("createContainer")],
            "startContainer": [inner],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")]
        });
        s["mounts"].as_array_mut().unwrap().push(json!({ "destination": "/hooklog", "type": "bind", "source": env.dir, "options": ["rbind", "rw"] }));
        args(s, &["true"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "h1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let order = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        [
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    let states = std::fs::read_to_string(format!("{}.json", log.display())).unwrap();
    let first: serde_json::Value = serde_json::from_str(states.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "h1");
    assert!(first["pid"].as_i64().unwrap() > 0);
}

#[test]
fn failing_hook_fails_create_and_leaves_nothing() {
    require_root!();
    let env = Env::new("hookfail");
    let b = env.bundle("b", |s| {
        s["hooks"] = json!({ "createRuntime": [{ "path": "/bin/sh", "args": ["sh", "-c", "sleep 5"], "timeout": 1 }] });
        args(s, &["true"]);
    });
    let out = env.run(&["create", "-b", b.to_str().unwrap(), "hf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(!env.root.join("hf").exists());
    for dir in common::cgroup_dirs("berth/hf") {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn joined_namespaces_share_inodes() {
    require_root!();
    let env = Env::new("join");
    let a = env.bundle("a", |s| args(s, &["sleep", "60"]));
    env.ok(&["run", "-d", "-b", a.to_str().unwrap(), "ja"]);
    let pid = env.state("ja")["pid"].as_i64().unwrap();
    let b = env.bundle("b", |s| {
        s["linux"]["namespaces"] = json!([
            { "type": "pid" }, { "type": "mount" }, { "type": "uts" },
            { "type": "network", "path": format!("/proc/{pid}/ns/net") },
            { "type": "ipc", "path": format!("/proc/{pid}/ns/ipc") }
        ]);
        args(
            s,
            &[
                "sh",
                "-c",
                "stat -L -c %i /proc/self/ns/net; stat -L -c %i /proc/self/ns/ipc",
            ],
        );
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "jb"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let got: Vec<u64> = text.lines().map(|l| l.parse().unwrap()).collect();
    let net = std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .unwrap()
        .ino();
    let ipc = std::fs::metadata(format!("/proc/{pid}/ns/ipc"))
        .unwrap()
        .ino();
    assert_eq!(got, vec![net, ipc]);
}

/// A network namespace made with `ip netns add` (owned by the host's user
/// namespace), deleted on drop.
struct HostNetns(String);

impl HostNetns {
    fn new(name: &str) -> HostNetns {
        let st = std::process::Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .expect("ip (iproute2) is needed");
        assert!(st.success(), "ip netns add {name}");
        HostNetns(name.to_string())
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for HostNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

#[test]
fn joins_a_user_namespace_and_a_netns_it_does_not_own() {
    // runc's userns.bats "userns join external namespaces [wrong userns owner]":
    // the netns belongs to the host's user namespace, not to the joined one, so
    // it can only be entered before the user namespace (as runc orders its joins).
    require_root!();
    let env = Env::new("usernsowner");
    let a = env.bundle("a", |s| {
        common::user_namespace(s);
        args(s, &["sleep", "60"]);
    });
    env.ok(&["run", "-d", "-b", a.to_str().unwrap(), "rl-owner-a"]);
    let pid = env.state("rl-owner-a")["pid"].as_i64().unwrap();
    let userns = format!("/proc/{pid}/ns/user");
    let netns = HostNetns::new(&format!("rl-owner-{}", std::process::id()));
    let b = env.bundle("b", |s| {
        common::user_namespace(s);
        s["linux"]
            .as_object_mut()
            .unwrap()
            .retain(|k, _| k != "uidMappings" && k != "gidMappings");
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "user");
        ns.push(json!({ "type": "user", "path": userns }));
        ns.push(json!({ "type": "network", "path": netns.path() }));
        args(s, &["sleep", "60"]);
    });
    let out = env.run(&["run", "-d", "-b", b.to_str().unwrap(), "rl-owner-b"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bpid = env.state("rl-owner-b")["pid"].as_i64().unwrap();
    let ino = |p: &str| std::fs::metadata(p).unwrap().ino();
    // What the kernel shows for init, and for a process exec'd into it.
    for kind in ["user", "net"] {
        let want = if kind == "user" {
            ino(&userns)
        } else {
            ino(&netns.path())
        };
        assert_eq!(
            ino(&format!("/proc/{bpid}/ns/{kind}")),
            want,
            "init's {kind}"
        );
        let seen = env.ok(&[
            "exec",
            "rl-owner-b",
            "stat",
            "-L",
            "-c",
            "%i",
            &format!("/proc/self/ns/{kind}"),
        ]);
        assert_eq!(seen.trim(), want.to_string(), "exec's {kind}");
    }
    // The container's other namespaces are new and owned by the joined user namespace.
    let uts = std::fs::read_link(format!("/proc/{bpid}/ns/uts")).unwrap();
    assert_ne!(uts, std::fs::read_link("/proc/self/ns/uts").unwrap());
    env.ok(&["delete", "-f", "rl-owner-b"]);
    env.ok(&["delete", "-f", "rl-owner-a"]);
}

#[test]
fn user_namespace_maps_ids() {
    require_root!();
    let env = Env::new("userns");
    let b = env.bundle("b", |s| {
        let ns = s["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(json!({ "type": "user" }));
        s["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 0, "size": 65536 }]);
        s["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 0, "size": 65536 }]);
        args(s, &["sh", "-c", "cat /proc/self/uid_map; id -u; echo $$"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "un1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let l: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(l[0], ["0", "0", "65536"]);
    assert_eq!(l[1], ["0"]);
    assert_eq!(l[2], ["1"]);
}

#[test]
fn bad_input_is_one_line_exit_1_and_leaves_nothing() {
    require_root!();
    let env = Env::new("bad");
    let good = env.bundle("good", |s| args(s, &["sleep", "30"]));
    env.ok(&["create", "-b", good.to_str().unwrap(), "dup"]);

    let invalid_json = env.dir.join("badjson");
    std::fs::create_dir_all(&invalid_json).unwrap();
    std::fs::write(invalid_json.join("config.json"), "{ not json").unwrap();
    let cases: Vec<(std::path::PathBuf, &str, &str)> = vec![
        (env.dir.join("missing"), "b1", "missing"),
        (invalid_json, "b2", "invalid JSON"),
        (env.bundle("unk", |s| { s["linux"]["namespaces"] = json!([{ "type": "mount" }, { "type": "uts" }, { "type": "bogus" }]); }), "b3", "bogus"),
        (env.bundle("nspath", |s| { s["linux"]["namespaces"] = json!([{ "type": "mount" }, { "type": "uts" }, { "type": "network", "path": "/proc/self/ns/ipc" }]); }), "b4", r#"linux.namespaces[2].path "/proc/self/ns/ipc": not a net namespace"#),
        // runc 1.1.5 tries to set the rootfs up inside the joined namespace and fails there;
        // berth says up front that it does not do this.
        (env.bundle("mntpath", |s| { s["linux"]["namespaces"] = json!([{ "type": "uts" }, { "type": "mount", "path": "/proc/self/ns/mnt" }]); }), "b4m", "linux.namespaces[1].path (joining a mount namespace by path) is not supported here"),
        (env.bundle("noroot", |s| { s["root"]["path"] = json!("/nonexistent/rootfs"); }), "b5", "root.path"),
        (env.bundle("slash", |s| { s["mounts"].as_array_mut().unwrap().push(json!({ "destination": "/", "type": "tmpfs", "source": "tmpfs" })); }), "b6", "/"),
        (env.bundle("noexe", |s| args(s, &["no-such-program"])), "b7", "executable file not found"),
        (good.clone(), "bad/id", r#"container id "bad/id""#),
        (good.clone(), "dup", "already exists"),
    ];
    for (bundle, id, want) in cases {
        let out = env.run(&["create", "-b", bundle.to_str().unwrap(), id]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{id}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{id}: not one line: {err}"
        );
        assert!(
            err.contains(want),
            "{id}: {err:?} does not mention {want:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
        if id != "dup" {
            assert!(!env.root.join(id).exists(), "{id}: state dir left behind");
            if !id.contains('/') {
                for dir in common::cgroup_dirs(&format!("berth/{id}")) {
                    assert!(!dir.exists(), "{id}: {} left behind", dir.display());
                }
            }
        }
    }
    assert_eq!(env.status("dup"), "created");
}

#[test]
fn concurrent_starts_on_one_id_serialise() {
    require_root!();
    let env = Env::new("concurrent");
    let b = env.bundle("b", |s| args(s, &["sleep", "30"]));
    env.ok(&["create", "-b", b.to_str().unwrap(), "c1"]);
    let children: Vec<_> = (0..6)
        .map(|_| {
            env.cmd(&["start", "c1"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let wins = children
        .into_iter()
        .filter_map(|mut c| c.wait().ok())
        .filter(|s| s.success())
        .count();
    assert_eq!(wins, 1, "exactly one start may succeed");
    assert_eq!(env.status("c1"), "running");
    let deletes: Vec<_> = (0..4)
        .map(|_| env.cmd(&["delete", "-f", "c1"]).spawn().unwrap())
        .collect();
    for mut d in deletes {
        d.wait().unwrap();
    }
    assert!(!env.root.join("c1").exists());
}

#[test]
fn list_state_spec_and_features_speak_runc() {
    require_root!();
    let env = Env::new("cli");
    let b = env.bundle("b", |s| args(s, &["sleep", "30"]));
    env.ok(&["create", "-b", b.to_str().unwrap(), "l1"]);
    let table = env.ok(&["list"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID"));
    assert!(lines.next().unwrap().starts_with("l1 "));
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(json[0]["id"], "l1");
    assert_eq!(json[0]["status"], "created");
    let features: serde_json::Value = serde_json::from_str(&env.ok(&["features"])).unwrap();
    assert!(features["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&json!("pid")));
    let spec_dir = env.dir.join("spec");
    std::fs::create_dir_all(&spec_dir).unwrap();
    env.ok(&["spec", "-b", spec_dir.to_str().unwrap()]);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spec_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["args"], json!(["sh"]));
    assert_eq!(
        env.run(&["spec", "-b", spec_dir.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let version = env.ok(&["--version"]);
    assert!(version.contains("spec: 1.2"));
}

/// `value` with every list of strings sorted: capability sets are sets.
fn sorted_sets(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), sorted_sets(v))).collect())
        }
        serde_json::Value::Array(a) if a.iter().all(|v| v.is_string()) => {
            let mut a = a.clone();
            a.sort_by_key(|v| v.to_string());
            serde_json::Value::Array(a)
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.iter().map(sorted_sets).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn spec_without_flags_is_runcs() {
    require_root!();
    // runc's suite, docs and tutorials start from `runc spec` and edit it.
    let env = Env::new("spec-runc");
    for rootless in [false, true] {
        let (ours, theirs) = (env.dir.join("ours"), env.dir.join("theirs"));
        for d in [&ours, &theirs] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).unwrap();
        }
        let mut args = vec!["spec", "-b", ours.to_str().unwrap()];
        let mut runc = std::process::Command::new("runc");
        runc.arg("spec").current_dir(&theirs);
        if rootless {
            args.push("--rootless");
            runc.arg("--rootless");
        }
        env.ok(&args);
        let st = runc.status().expect("runc (scripts/deps.sh installs it)");
        assert!(st.success());
        let read = |d: &std::path::Path| -> serde_json::Value {
            serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap()
        };
        let (mut a, mut b) = (sorted_sets(&read(&ours)), sorted_sets(&read(&theirs)));
        // Each writes the spec version it implements; runc 1.1 (Debian's) still
        // lists ambient capabilities, which runc since 1.2 no longer writes.
        for s in [&mut a, &mut b] {
            s.as_object_mut().unwrap().remove("ociVersion");
            s["process"]["capabilities"]
                .as_object_mut()
                .unwrap()
                .remove("ambient");
        }
        assert_eq!(
            a,
            b,
            "berth spec{} differs from runc's",
            if rootless { " --rootless" } else { "" }
        );
    }
    // With a docker-run flag it starts from docker's defaults instead.
    let d = env.dir.join("docker");
    std::fs::create_dir_all(&d).unwrap();
    env.ok(&["spec", "-b", d.to_str().unwrap(), "--memory", "64m"]);
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        s["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    assert!(s["linux"]["seccomp"].is_object());
}

#[test]
fn environment_dedup_and_home_as_runc() {
    require_root!();
    // A key given twice: the last value wins, once. HOME empty: from /etc/passwd.
    let env = Env::new("env-runc");
    let b = env.bundle("b", |s| {
        args(
            s,
            &[
                "sh",
                "-c",
                "echo A=$A; echo HOME=$HOME; env | grep -c '^A='",
            ],
        );
        s["process"]["env"] = json!(["A=first", "HOME=", "PATH=/bin:/sbin", "A=last"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "e1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "A=last\nHOME=/root\n1\n");
    // A user without an entry gets "/".
    let b = env.bundle("b2", |s| {
        args(s, &["sh", "-c", "echo HOME=$HOME"]);
        s["process"]["user"] = json!({ "uid": 4242, "gid": 4242 });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "e2"]);
    assert_eq!(stdout(&out), "HOME=/\n", "{}", stderr(&out));
}

#[test]
fn a_cwd_only_root_can_enter_works_for_a_user() {
    require_root!();
    // runc enters the cwd while still root, and as the user only if that failed.
    let env = Env::new("cwd-root-only");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "pwd; id -u"]);
        s["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
        s["process"]["cwd"] = json!("/secret");
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/secret", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700"]
        }));
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "w1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "/secret\n1000\n");
}

#[test]
fn a_failing_hook_is_named_as_runc_names_it() {
    require_root!();
    let env = Env::new("hook-msg");
    let b = env.bundle("b", |s| {
        args(s, &["true"]);
        s["hooks"] =
            json!({ "createRuntime": [{ "path": "/bin/true" }, { "path": "/bin/false" }] });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "h1"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("error running createRuntime hook #1: /bin/false: exit status 1"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(!env.root.join("h1").exists());

    // A failing poststart hook stops the container and fails start (as runc).
    let b = env.bundle("b2", |s| {
        args(s, &["sleep", "100"]);
        s["hooks"] = json!({ "poststart": [{ "path": "/bin/true" }, { "path": "/bin/false" }] });
    });
    env.ok(&["create", "-b", b.to_str().unwrap(), "h2"]);
    let pid = env.state("h2")["pid"].as_i64().unwrap() as i32;
    let out = env.run(&["start", "h2"]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("error running poststart hook #1: /bin/false: exit status 1"),
        "{e}"
    );
    for _ in 0..100 {
        if env.status("h2") == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.status("h2"), "stopped");
    // init itself is gone (reaped by whoever adopted it), not only marked stopped.
    let gone = || !std::path::Path::new(&format!("/proc/{pid}")).exists();
    for _ in 0..100 {
        if gone() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(gone(), "init {pid} still there");
}

#[test]
fn list_of_a_root_that_does_not_exist_is_an_error() {
    require_root!();
    let env = Env::new("list-root");
    let missing = env.dir.join("no-such-root");
    let out = std::process::Command::new(common::berth_bin())
        .args(["--root", missing.to_str().unwrap(), "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no-such-root"), "{}", stderr(&out));
    // An existing but empty root lists nothing.
    std::fs::create_dir_all(&env.root).unwrap();
    let out = env.run(&["list", "-q"]);
    assert!(out.status.success() && stdout(&out).is_empty());
}

#[test]
fn log_lines_are_logrus_text_or_json() {
    require_root!();
    // Engines and people grep runc's logs for `level=`; containerd parses the JSON form.
    let env = Env::new("log-format");
    let text_log = env.dir.join("text.log");
    let out = env.run(&["--log", text_log.to_str().unwrap(), "start", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let line = std::fs::read_to_string(&text_log).unwrap();
    assert!(
        line.starts_with("time=\"")
            && line.contains(" level=error msg=\"container \\\"nosuch\\\" does not exist\""),
        "{line}"
    );
    let json_log = env.dir.join("json.log");
    let out = env.run(&[
        "--log",
        json_log.to_str().unwrap(),
        "--log-format",
        "json",
        "start",
        "nosuch",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&json_log).unwrap().trim()).unwrap();
    assert_eq!(v["level"], "error");
    assert_eq!(v["msg"], "container \"nosuch\" does not exist");
    assert!(v["time"].is_string());
}

#[test]
fn a_bind_mount_with_data_options_runs_as_runc_runs_it() {
    require_root!();
    // runc passes data options of a bind mount to the kernel, which ignores them.
    let env = Env::new("bind-data");
    let host = env.dir.join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "from the host\n").unwrap();
    let b = env.bundle("b", |s| {
        args(s, &["cat", "/mnt/f"]);
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/mnt", "type": "bind", "source": host, "options": ["rbind", "ro", "mode=755"]
        }));
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "m1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from the host\n");
}

#[test]
fn a_created_container_holds_only_its_channel_and_fifo() {
    require_root!();
    // runc's suite checks a created container's init for leaked fds: without a
    // seccomp filter to install first, the exec stage's memfd is made after start.
    let env = Env::new("created-fds");
    let b = env.bundle("b", |s| {
        args(s, &["true"]);
        s["hooks"] = json!({ "createContainer": [{ "path": "/bin/true" }] });
    });
    env.ok(&["create", "-b", b.to_str().unwrap(), "c1"]);
    let pid = env.state("c1")["pid"].as_i64().unwrap();
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.display().to_string())
        .collect();
    assert!(!fds.iter().any(|l| l.contains("memfd")), "{fds:?}");
    env.ok(&["start", "c1"]);
    env.ok(&["delete", "-f", "c1"]);
}

#[test]
fn a_tiny_file_size_limit_does_not_stop_the_exec_stage() {
    require_root!();
    // The exec stage is written into a memfd; with RLIMIT_FSIZE below its size
    // that write must happen before the limit applies.
    let env = Env::new("fsize");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "ulimit -f; echo started"]);
        s["process"]["rlimits"] = json!([
            { "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 },
            { "type": "RLIMIT_FSIZE", "hard": 1, "soft": 1 }
        ]);
    });
    // Through pipes: the limit would stop the container writing to a file.
    let out = env
        .cmd(&["run", "-b", b.to_str().unwrap(), "f1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).ends_with("started\n"), "{}", stdout(&out));
}

#[test]
fn config_json_is_read_as_runcs_go_decoder_reads_it() {
    require_root!();
    // Keys in any case, no process.user, an unknown capability: runc runs it.
    let env = Env::new("config-lenient");
    let b = env.bundle("b", |s| {
        args(
            s,
            &[
                "sh",
                "-c",
                "echo $(hostname) $(id -u) $(grep CapBnd /proc/self/status)",
            ],
        );
        s.as_object_mut().unwrap().remove("hostname");
        s["HostName"] = json!("cased");
        s["process"].as_object_mut().unwrap().remove("user");
        s["process"]["capabilities"]["bounding"] =
            json!(["CAP_KILL", "CAP_UNKNOWN", "UNKNOWN_CAP"]);
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "lenient"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "cased 0 CapBnd: 0000000000000020\n");
    assert_eq!(
        stderr(&out).matches("level=warning").count(),
        2,
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_of_a_program_that_cannot_execute_prints_one_line_and_exits_255() {
    require_root!();
    // As runc's init reports it: the container's one line, no runtime error after it.
    let env = Env::new("run-execve");
    let script = env.dir.join("bad.sh");
    std::fs::write(&script, "#!/nowhere/sh\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let b = env.bundle("b", |s| {
        args(s, &["/tmp/bad.sh"]);
        s["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/tmp/bad.sh", "type": "bind", "source": script, "options": ["bind"]
        }));
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "x1"]);
    assert_eq!(out.status.code(), Some(255), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "exec /tmp/bad.sh: no such file or directory\n"
    );
    // Deleted like any container whose run ended.
    assert!(env.run(&["state", "x1"]).status.code() == Some(1));
}

#[test]
fn kill_0_checks_liveness_and_kill_all_of_a_stopped_container_is_no_error() {
    require_root!();
    let env = Env::new("kill-zero");
    let b = env.bundle("b", |s| args(s, &["sleep", "100"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "z1"]);
    env.ok(&["kill", "z1", "0"]);
    assert_eq!(env.status("z1"), "running");
    env.ok(&["kill", "z1", "KILL"]);
    for _ in 0..100 {
        if env.status("z1") == "stopped" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = env.run(&["kill", "z1", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "berth: container not running\n");
    env.ok(&["kill", "-a", "z1", "0"]);
    assert_eq!(env.run(&["kill", "z1", "65"]).status.code(), Some(1));
}

#[test]
fn sigkill_to_a_container_sharing_the_host_pid_namespace_kills_every_process() {
    require_root!();
    // Without its own pid namespace nothing dies with init: runc signals the
    // whole cgroup for KILL, also once init is already gone.
    let env = Env::new("kill-hostpid");
    let b = env.bundle("b", |s| {
        args(s, &["sh", "-c", "sleep 100 & sleep 100 & exec sleep 100"]);
        let nss = s["linux"]["namespaces"].as_array_mut().unwrap();
        nss.retain(|ns| ns["type"] != "pid");
    });
    for (id, kill_init_first) in [("h1", false), ("h2", true)] {
        env.ok(&["run", "-d", "-b", b.to_str().unwrap(), id]);
        let procs_file = common::cgroup_dirs(&format!("berth/{id}"))
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .find(|f| f.exists())
            .unwrap();
        let pids = || -> Vec<i32> {
            std::fs::read_to_string(&procs_file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect()
        };
        for _ in 0..100 {
            if pids().len() == 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pids().len(), 3, "{:?}", pids());
        if kill_init_first {
            let init = env.state(id)["pid"].as_i64().unwrap() as i32;
            // SAFETY: plain kill(2).
            unsafe { libc::kill(init, libc::SIGKILL) };
            for _ in 0..100 {
                if env.status(id) == "stopped" {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        env.ok(&["kill", id, "KILL"]);
        for _ in 0..250 {
            if pids().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(pids(), Vec::<i32>::new(), "{id}: processes left");
        assert_eq!(env.status(id), "stopped");
    }
}

#[test]
fn start_container_hooks_get_the_process_env_and_its_seccomp_profile() {
    require_root!();
    // As runc: a startContainer hook without env of its own sees the
    // process's, and runs under the container's seccomp filter.
    let env = Env::new("hook-start");
    let b = env.bundle("b", |s| {
        args(s, &["true"]);
        s["process"]["env"] = json!(["PATH=/bin", "ONE=two"]);
        s["hooks"] = json!({ "startContainer": [
            { "path": "/bin/sh", "args": ["sh", "-c", "test \"$ONE\" = two && test \"$HOME\" = /root"] }
        ] });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "s1"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let b = env.bundle("b2", |s| {
        args(s, &["true"]);
        s["process"]["rlimits"] = json!([{ "type": "RLIMIT_CORE", "soft": 0, "hard": 0 }]);
        s["linux"]["seccomp"] = json!({ "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL" }] });
        s["hooks"] = json!({ "startContainer": [
            { "path": "/bin/sh", "args": ["sh", "-c", "mkdir /tmp/nope"] }
        ] });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "s2"]);
    assert_ne!(out.status.code(), Some(0));
    let e = stderr(&out);
    assert!(
        e.contains("error running startContainer hook #0: /bin/sh: signal: bad system call"),
        "{e}"
    );
    assert!(!env.root.join("s2").exists());
}

#[test]
fn create_container_hooks_run_in_the_rootfs() {
    require_root!();
    // runc runs them with the container's rootfs as working directory (before
    // pivot_root), so relative paths in a hook name files of the container.
    let env = Env::new("hook-cwd");
    let out_file = env.dir.join("cwd");
    let b = env.bundle("b", |s| {
        args(s, &["true"]);
        s["hooks"] = json!({ "createContainer": [
            { "path": "/bin/sh", "args": ["sh", "-c", format!("pwd > {0}; ls ./bin/busybox >> {0}", out_file.display())] }
        ] });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "c1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rootfs = common::rootfs().canonicalize().unwrap();
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        format!("{}\n./bin/busybox\n", rootfs.display())
    );
}

#[test]
fn a_failing_start_container_hook_is_reported_with_its_output_through_the_pty() {
    require_root!();
    // With a terminal, the hook writes to the pty `berth run` proxies: what it
    // said must come out before the error, not be lost with the container.
    let env = Env::new("hook-pty");
    let b = env.bundle("b", |s| {
        args(s, &["true"]);
        s["process"]["terminal"] = json!(true);
        s["hooks"] = json!({ "startContainer": [{ "path": "/bin/busybox", "args": ["cat", "/nosuchfile"] }] });
    });
    let out = env.run(&["run", "-b", b.to_str().unwrap(), "p1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("cat: can't open '/nosuchfile'"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        "berth: container init: error running startContainer hook #0: /bin/busybox: exit status 1\n"
    );
    assert!(!env.root.join("p1").exists());
}
