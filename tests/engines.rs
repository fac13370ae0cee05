//! berth as a drop-in runtime under real engines: dockerd (`runtimes` in
//! daemon.json), podman (`--runtime`), containerd (`ctr run --runc-binary`
//! through the runc v2 shim) and a single-node Swarm whose default runtime is
//! berth.
//!
//! `scripts/engines-setup.sh` installs the engines from Debian's archive when
//! they are missing and writes their configuration; each test starts its own
//! daemon on private sockets and directories, runs the engine's commands, and
//! stops everything it started. A test skips (with the reason) when it is not
//! root, or when the engines cannot be installed (exit 77 from the script).
//!
//! Each test is a list of named steps; a failing step is reported and the
//! remaining steps still run, so one run shows every command that fails.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The engines share docker0, iptables and the host's cgroup trees: one at a time.
static ENGINES: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------
// setup and skipping

/// Why a test cannot run here, and whether CI could have provided it.
enum Skip {
    /// A requirement this machine type meets: a failure under BERTH_NO_SKIP=1.
    Here(String),
    /// Outside the machine: Debian's archive unreachable, a foreign dockerd.
    Outside(String),
}

fn skip(test: &str) -> Option<Skip> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some(Skip::Here("needs root to run container engines".into()));
    }
    let st = Command::new(common::repo().join("scripts/engines-setup.sh"))
        .arg("--install-only")
        .status()
        .expect("running scripts/engines-setup.sh");
    match st.code() {
        Some(0) => {}
        Some(77) => {
            return Some(Skip::Outside(
                "docker.io/podman/containerd are not installed and Debian's archive is unreachable"
                    .into(),
            ))
        }
        _ => panic!("scripts/engines-setup.sh --install-only failed: {st}"),
    }
    if !Path::new("/bin/busybox").exists() {
        return Some(Skip::Here(
            "no /bin/busybox (busybox-static) for the image rootfs".into(),
        ));
    }
    // A dockerd already on this host owns docker0 and its iptables chains: a
    // second one would fight it.
    if test.contains("docker") || test.contains("swarm") {
        let other = run("pgrep", &["-x", "dockerd"]);
        if other.status.success() {
            return Some(Skip::Outside(format!(
                "a dockerd not started by this test is running (pid {}); stop it to run this test",
                text(&other).trim()
            )));
        }
    }
    None
}

macro_rules! skip_unless_ready {
    ($name:expr) => {
        match skip($name) {
            Some(Skip::Here(why)) => return berth_testkit::skip(&why),
            Some(Skip::Outside(why)) => return berth_testkit::skip_even_in_ci(&why),
            None => {}
        }
    };
}

/// A scratch directory for one test; daemons and mounts are gone before it is removed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        // Short: containerd puts unix sockets under these paths (108-byte limit).
        let d = PathBuf::from(format!("/tmp/be-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    fn path(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    fn s(&self, p: &str) -> String {
        self.path(p).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Unmount whatever an engine left mounted below the directory (deepest
        // first), so removing it can never reach through a bind mount.
        let prefix = format!("{}/", self.0.display());
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_owned))
            .filter(|m| m.starts_with(&prefix))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in &mounts {
            let _ = Command::new("umount").arg("-l").arg(m).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The busybox image's root filesystem, from scripts/make-rootfs.sh.
fn make_rootfs(dir: &Path) {
    let out = Command::new(common::repo().join("scripts/make-rootfs.sh"))
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make-rootfs.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the engines' configs for `berth` into `dir` with scripts/engines-setup.sh.
fn write_configs(dir: &Path, default_runtime: bool) {
    let mut c = Command::new(common::repo().join("scripts/engines-setup.sh"));
    c.arg("--berth").arg(berth()).arg("--config-dir").arg(dir);
    if default_runtime {
        c.arg("--default-runtime");
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "engines-setup.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn berth() -> PathBuf {
    std::fs::canonicalize(common::berth_bin()).unwrap()
}

// ---------------------------------------------------------------------------
// running commands

fn run(prog: &str, args: &[&str]) -> Output {
    run_in(prog, args, None, &[])
}

/// Runs with a 120 s ceiling; stdin is `input` (or /dev/null).
fn run_in(prog: &str, args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120").arg(prog).args(args).envs(env.iter().copied());
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawning {prog}: {e}"));
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(prog: &str, args: &[&str]) -> String {
    let o = run(prog, args);
    assert!(
        o.status.success(),
        "{prog} {args:?} failed ({}): {}",
        o.status,
        text(&o)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Named steps: every one runs; the test fails at the end listing those that failed.
struct Steps {
    engine: &'static str,
    failed: Vec<String>,
}

impl Steps {
    fn new(engine: &'static str) -> Steps {
        Steps {
            engine,
            failed: Vec::new(),
        }
    }
    fn step(&mut self, name: &str, f: impl FnOnce()) {
        let t = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(()) => eprintln!(
                "PASS [{}] {name} ({:.1}s)",
                self.engine,
                t.elapsed().as_secs_f64()
            ),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                eprintln!("FAIL [{}] {name}: {msg}", self.engine);
                self.failed.push(format!("{name}: {msg}"));
            }
        }
    }
    fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{} steps failed under {}:\n{}",
            self.failed.len(),
            self.engine,
            self.failed.join("\n")
        );
    }
}

/// A daemon this test started; stopped (SIGTERM, then SIGKILL) on drop.
struct Daemon {
    name: &'static str,
    child: std::process::Child,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &'static str, prog: &str, args: &[String], log: PathBuf) -> Daemon {
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {prog}: {e}"));
        Daemon { name, child, log }
    }

    /// Waits until `ready` holds, or fails with the daemon's log tail.
    fn wait(&mut self, ready: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ready() {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "{} exited ({st}) before it was ready:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{} not ready after 60 s:\n{}", self.name, self.log_tail());
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Log lines mentioning `what` (for failure messages).
    fn log_lines(&self, what: &str) -> String {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(what))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// cgroups seen from the host

/// `file` of `pid`'s cgroup in the v1 hierarchy carrying `controller`, or None
/// when that controller is not on a v1 hierarchy (pure v2).
fn v1_cgroup_file(pid: &str, controller: &str, file: &str) -> Option<PathBuf> {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let rel = cg.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })?;
    let mi = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mnt = mi.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut post = post.split(' ');
        if post.next()? != "cgroup" {
            return None;
        }
        let opts = post.nth(1)?;
        opts.split(',')
            .any(|o| o == controller)
            .then(|| pre.split(' ').nth(4).unwrap().to_string())
    })?;
    Some(PathBuf::from(format!("{mnt}{rel}/{file}")))
}

/// `pid`'s cgroup v2 directory (the unified mount, wherever it is).
fn v2_cgroup_dir(pid: &str) -> PathBuf {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = cg
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
        .to_string();
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mnt = mi
        .lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            post.starts_with("cgroup2 ")
                .then(|| pre.split(' ').nth(4).unwrap().to_string())
        })
        .expect("no cgroup2 mount");
    PathBuf::from(format!("{mnt}{rel}"))
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Asserts the CPU shares of `pid`'s cgroup (v1 cpu.shares, or v2 cpu.weight by runc's conversion).
fn assert_cpu_shares(pid: &str, shares: u64) {
    match v1_cgroup_file(pid, "cpu", "cpu.shares") {
        Some(f) => assert_eq!(read_trim(&f), shares.to_string(), "{}", f.display()),
        None => {
            let f = v2_cgroup_dir(pid).join("cpu.weight");
            let weight = 1 + ((shares - 2) * 9999) / 262_142;
            assert_eq!(read_trim(&f), weight.to_string(), "{}", f.display());
        }
    }
}

fn assert_memory_limit(pid: &str, bytes: u64) {
    match v1_cgroup_file(pid, "memory", "memory.limit_in_bytes") {
        Some(f) => assert_eq!(read_trim(&f), bytes.to_string(), "{}", f.display()),
        None => {
            let f = v2_cgroup_dir(pid).join("memory.max");
            assert_eq!(read_trim(&f), bytes.to_string(), "{}", f.display());
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / on 127.0.0.1:port, retrying for a few seconds while the server starts.
fn http_get(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut body = String::new();
                let _ = s.read_to_string(&mut body);
                if body.contains("200") {
                    return body;
                }
                last = body;
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("nothing answered on 127.0.0.1:{port}: {last}");
}

// ---------------------------------------------------------------------------
// dockerd

struct Docker {
    sock: String,
    exec_root: PathBuf,
    daemon: Daemon,
    /// Dropped after the daemon: puts the host's FORWARD policy back.
    _forward: ForwardPolicy,
}

/// dockerd sets iptables' FORWARD policy to DROP and leaves it so when it
/// stops; with br_netfilter loaded (dockerd loads it) that drops the bridged
/// traffic of every later network test. Saved before dockerd starts, restored after.
struct ForwardPolicy(Option<String>);

impl ForwardPolicy {
    fn save() -> ForwardPolicy {
        let out = run("iptables", &["-S", "FORWARD"]);
        let policy = text(&out)
            .lines()
            .find_map(|l| l.strip_prefix("-P FORWARD "))
            .map(|p| p.trim().to_string());
        ForwardPolicy(policy)
    }
}

impl Drop for ForwardPolicy {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = run("iptables", &["-P", "FORWARD", p]);
        }
    }
}

const DOCKER: &str = "/usr/bin/docker";

impl Docker {
    /// Starts dockerd with the daemon.json engines-setup.sh wrote into `etc`.
    fn start(s: &Scratch, etc: &Path) -> Docker {
        let sock = s.s("docker.sock");
        let exec_root = s.path("exec");
        let args = vec![
            "--config-file".into(),
            etc.join("docker/daemon.json").display().to_string(),
            "--data-root".into(),
            s.s("data"),
            "--exec-root".into(),
            exec_root.display().to_string(),
            "--pidfile".into(),
            s.s("dockerd.pid"),
            "-H".into(),
            format!("unix://{sock}"),
        ];
        let forward = ForwardPolicy::save();
        let mut daemon = Daemon::spawn("dockerd", "dockerd", &args, s.path("dockerd.log"));
        let host = format!("unix://{sock}");
        daemon.wait(|| run(DOCKER, &["-H", &host, "version"]).status.success());
        Docker {
            sock,
            exec_root,
            daemon,
            _forward: forward,
        }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        let host = format!("unix://{}", self.sock);
        let mut a = vec!["-H", host.as_str()];
        a.extend_from_slice(args);
        run(DOCKER, &a)
    }

    /// Runs a docker command that must succeed; on failure the message carries
    /// what docker printed and dockerd's error lines.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(
            o.status.success(),
            "docker {args:?} failed ({}): {}\ndockerd errors:\n{}",
            o.status,
            text(&o),
            self.daemon.log_lines("level=error")
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn import(&self, rootfs: &Path) {
        let tar = Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["-c", "."])
            .output()
            .unwrap();
        assert!(tar.status.success());
        let host = format!("unix://{}", self.sock);
        let o = run_in(
            DOCKER,
            &["-H", &host, "import", "-", "busybox:local"],
            Some(&tar.stdout),
            &[],
        );
        assert!(o.status.success(), "docker import: {}", text(&o));
    }

    fn pid(&self, name: &str) -> String {
        self.ok(&["inspect", "-f", "{{.State.Pid}}", name])
    }

    /// berth's state root as dockerd passes it to the runc shim (`--root`): the
    /// directory under the exec root that holds `<id>/state.json`.
    fn berth_root_of(&self, id: &str) -> PathBuf {
        let out = ok(
            "find",
            &[
                &self.exec_root.display().to_string(),
                "-name",
                "state.json",
                "-path",
                &format!("*/{id}/state.json"),
            ],
        );
        let f = out
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no state.json for {id} under {}", self.exec_root.display()));
        Path::new(f)
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// The container ids berth lists in `root`.
    fn berth_list(root: &Path) -> Vec<String> {
        let out = ok(
            &berth().display().to_string(),
            &["--root", &root.display().to_string(), "list", "-q"],
        );
        out.lines().map(str::to_owned).collect()
    }
}

/// A long-running command that exits 0 on SIGTERM (busybox sh as pid 1 has no default TERM action).
const SLEEPER: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

#[test]
fn docker_with_berth_runtime() {
    let _g = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    skip_unless_ready!("docker_with_berth_runtime");
    let s = Scratch::new("dk");
    make_rootfs(&s.path("rootfs"));
    write_configs(&s.path("etc"), false);
    let d = Docker::start(&s, &s.path("etc"));
    d.import(&s.path("rootfs"));
    let mut t = Steps::new("dockerd");
    let rt = ["run", "--rm", "--runtime", "berth"];
    let with =
        |extra: &[&str]| -> Vec<String> { rt.iter().chain(extra).map(|x| x.to_string()).collect() };
    let dok = |args: Vec<String>| d.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());

    t.step("docker info lists the berth runtime", || {
        let info = d.ok(&["info", "--format", "{{json .Runtimes}}"]);
        assert!(
            info.contains("\"berth\"") && info.contains(&berth().display().to_string()),
            "{info}"
        );
    });

    t.step("run --rm --runtime berth (output, exit code)", || {
        assert_eq!(
            dok(with(&["busybox:local", "echo", "hello from berth"])),
            "hello from berth"
        );
        let o = d.cmd(&[
            "run",
            "--rm",
            "--runtime",
            "berth",
            "busybox:local",
            "sh",
            "-c",
            "exit 42",
        ]);
        assert_eq!(o.status.code(), Some(42), "{}", text(&o));
    });

    t.step(
        "-c 10 -m 1024m: cpu.shares and memory limit in the container's cgroup",
        || {
            d.ok(&[
                "run",
                "-d",
                "--name",
                "lim",
                "--runtime",
                "berth",
                "-c",
                "10",
                "-m",
                "1024m",
                "busybox:local",
                "sh",
                "-c",
                SLEEPER,
            ]);
            let pid = d.pid("lim");
            assert_cpu_shares(&pid, 10);
            assert_memory_limit(&pid, 1024 * 1024 * 1024);
            // Seen from inside too, under the same runtime.
            let id = d.ok(&["inspect", "-f", "{{.Id}}", "lim"]);
            assert!(
                Docker::berth_list(&d.berth_root_of(&id)).contains(&id),
                "berth does not list {id}"
            );
        },
    );

    t.step("docker exec", || {
        assert_eq!(
            d.ok(&[
                "exec",
                "lim",
                "sh",
                "-c",
                "echo exec-$((6*7)) $(cat /proc/1/comm)"
            ]),
            "exec-42 sh"
        );
        let o = d.cmd(&["exec", "lim", "sh", "-c", "exit 3"]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    });

    t.step(
        "docker update --memory 512m --cpu-shares 20 on the running container",
        || {
            d.ok(&["update", "--memory", "512m", "--cpu-shares", "20", "lim"]);
            let pid = d.pid("lim");
            assert_cpu_shares(&pid, 20);
            assert_memory_limit(&pid, 512 * 1024 * 1024);
        },
    );

    t.step("docker pause / unpause (freezer)", || {
        d.ok(&["pause", "lim"]);
        assert_eq!(
            d.ok(&["inspect", "-f", "{{.State.Status}}", "lim"]),
            "paused"
        );
        let pid = d.pid("lim");
        if let Some(f) = v1_cgroup_file(&pid, "freezer", "freezer.state") {
            assert_eq!(read_trim(&f), "FROZEN");
        }
        d.ok(&["unpause", "lim"]);
        assert_eq!(
            d.ok(&["inspect", "-f", "{{.State.Status}}", "lim"]),
            "running"
        );
        assert_eq!(d.ok(&["exec", "lim", "echo", "thawed"]), "thawed");
    });

    t.step("docker stop / docker rm", || {
        d.ok(&["stop", "-t", "10", "lim"]);
        assert_eq!(
            d.ok(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                "lim"
            ]),
            "exited 0"
        );
        d.ok(&["rm", "lim"]);
        assert!(!d.cmd(&["inspect", "lim"]).status.success());
    });

    t.step("--cap-add NET_ADMIN: ip link set eth0 down", || {
        let out = dok(with(&[
            "--cap-add",
            "NET_ADMIN",
            "busybox:local",
            "sh",
            "-c",
            "ip link set eth0 down && ip -o link show eth0",
        ]));
        assert!(
            !out.contains("UP,") && !out.contains(",UP"),
            "eth0 still up: {out}"
        );
        // Without the capability it is refused.
        let o = d.cmd(&[
            "run",
            "--rm",
            "--runtime",
            "berth",
            "busybox:local",
            "ip",
            "link",
            "set",
            "eth0",
            "down",
        ]);
        assert!(
            !o.status.success() && text(&o).contains("not permitted"),
            "{}",
            text(&o)
        );
    });

    t.step(
        "--cap-add=ALL --cap-drop=CHOWN: chown fails, other caps held",
        || {
            // docker expands ALL to every capability it knows; those the host's
            // bounding set lacks (CAP_SYS_RESOURCE in this VM) cannot be granted by
            // any runtime (runc fails the same way), so they are dropped too.
            let mut args = vec!["--cap-add=ALL".to_string(), "--cap-drop=CHOWN".to_string()];
            for c in caps_docker_knows_but_host_lacks() {
                args.push(format!("--cap-drop={c}"));
            }
            args.extend(
                [
                    "busybox:local",
                    "sh",
                    "-c",
                    "touch /f; chown 1000 /f && echo chown-ok; grep CapEff /proc/self/status",
                ]
                .map(String::from),
            );
            let o = d.cmd(
                &rt.iter()
                    .map(|s| s.to_string())
                    .chain(args)
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            );
            let out = text(&o);
            assert!(o.status.success(), "{out}");
            assert!(
                !out.contains("chown-ok") && out.contains("Operation not permitted"),
                "chown succeeded: {out}"
            );
            let eff = u64::from_str_radix(
                out.lines()
                    .find_map(|l| l.strip_prefix("CapEff:"))
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            assert_eq!(eff & 1, 0, "CAP_CHOWN held");
            assert_ne!(
                eff & (1 << 12),
                0,
                "CAP_NET_ADMIN missing from ALL: {eff:x}"
            );
            assert_ne!(
                eff & (1 << 21),
                0,
                "CAP_SYS_ADMIN missing from ALL: {eff:x}"
            );
        },
    );

    t.step("--device (a host char device) and its device cgroup rule", || {
        let dev = ["/dev/fuse", "/dev/net/tun", "/dev/kmsg"].into_iter().find(|p| Path::new(p).exists()).expect("no char device to pass");
        let meta = std::fs::metadata(dev).unwrap();
        use std::os::unix::fs::MetadataExt;
        let (maj, min) = (libc::major(meta.rdev()), libc::minor(meta.rdev()));
        let out = dok(with(&["--device", dev, "busybox:local", "sh", "-c", &format!("ls -l {dev}; head -c0 {dev} && echo open-ok; cat /proc/self/cgroup | grep devices:")]));
        assert!(out.starts_with('c') && out.contains(&format!("{maj}, {min}")), "{out}");
        // The device cgroup of that container allowed it (devices.list is read from inside its cgroup path on the host).
        d.ok(&["run", "-d", "--name", "dev", "--runtime", "berth", "--device", dev, "busybox:local", "sh", "-c", SLEEPER]);
        let pid = d.pid("dev");
        if let Some(f) = v1_cgroup_file(&pid, "devices", "devices.list") {
            let list = read_trim(&f);
            assert!(list.contains(&format!("c {maj}:{min} rwm")), "{}: {list}", f.display());
            assert!(!list.contains("a *:* rwm"), "device cgroup allows everything: {list}");
        }
        d.ok(&["rm", "-f", "dev"]);
    });

    t.step("-v DIR:/data:ro", || {
        let vol = s.path("vol");
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::write(vol.join("x"), "from the host\n").unwrap();
        let spec = format!("{}:/data:ro", vol.display());
        let out = dok(with(&[
            "-v",
            &spec,
            "busybox:local",
            "sh",
            "-c",
            "cat /data/x; touch /data/y 2>&1; true",
        ]));
        assert!(
            out.contains("from the host") && out.contains("Read-only file system"),
            "{out}"
        );
        assert!(!vol.join("y").exists());
    });

    t.step("-h, --dns, --dns-search", || {
        let out = dok(with(&[
            "-h",
            "berth-host",
            "--dns",
            "10.1.2.3",
            "--dns-search",
            "example.test",
            "busybox:local",
            "sh",
            "-c",
            "hostname; cat /etc/resolv.conf",
        ]));
        let mut lines = out.lines();
        assert_eq!(lines.next(), Some("berth-host"));
        assert!(
            out.contains("nameserver 10.1.2.3") && out.contains("search example.test"),
            "{out}"
        );
    });

    t.step("-p 127.0.0.1:HOST:80 answering (busybox httpd)", || {
        let port = free_port();
        let publish = format!("127.0.0.1:{port}:80");
        d.ok(&["run", "-d", "--name", "web", "--runtime", "berth", "-p", &publish, "busybox:local", "sh", "-c", "mkdir -p /www && echo hello-through-docker-proxy > /www/index.html && exec httpd -f -p 80 -h /www"]);
        let body = http_get(port);
        assert!(body.contains("hello-through-docker-proxy"), "{body}");
        d.ok(&["rm", "-f", "web"]);
    });

    t.step("run -it through the console socket", || {
        // `script` gives docker a tty; the container's shell reads our input from it.
        let cmd = format!(
            "{DOCKER} -H unix://{} run -it --rm --runtime berth busybox:local sh",
            d.sock
        );
        let o = run_in(
            "script",
            &["-qec", &cmd, "/dev/null"],
            Some(b"tty; echo in-shell-$((6*7))\nexit 3\n"),
            &[],
        );
        let out = text(&o);
        assert!(out.contains("in-shell-42"), "{out}");
        assert!(out.contains("/dev/pts/"), "stdin is not a pty: {out}");
        assert_eq!(o.status.code(), Some(3), "{out}");
    });

    // Cleanup: every container and the image this test made (dockerd stops on drop).
    let _ = d.cmd(&["rm", "-f", "lim", "dev", "web"]);
    let _ = d.cmd(&["rmi", "-f", "busybox:local"]);
    let left = d.ok(&["ps", "-aq"]);
    drop(d);
    t.finish();
    assert!(left.is_empty(), "containers left: {left}");
}

/// Capabilities docker's ALL holds that this host's bounding set lacks.
fn caps_docker_knows_but_host_lacks() -> Vec<&'static str> {
    // docker 20.10's list: every capability up to CAP_AUDIT_READ (37).
    const NAMES: [&str; 38] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
    ];
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = u64::from_str_radix(
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim(),
        16,
    )
    .unwrap();
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bnd & (1 << i) == 0)
        .map(|(_, n)| *n)
        .collect()
}

// ---------------------------------------------------------------------------
// Swarm

#[test]
fn swarm_services_run_on_berth() {
    let _g = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    skip_unless_ready!("swarm_services_run_on_berth");
    let s = Scratch::new("sw");
    make_rootfs(&s.path("rootfs"));
    write_configs(&s.path("etc"), true);
    let d = Docker::start(&s, &s.path("etc"));
    d.import(&s.path("rootfs"));
    let mut t = Steps::new("swarm");

    t.step("default runtime is berth", || {
        assert_eq!(d.ok(&["info", "--format", "{{.DefaultRuntime}}"]), "berth");
    });
    t.step("docker swarm init (single node)", || {
        d.ok(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        assert_eq!(
            d.ok(&["info", "--format", "{{.Swarm.LocalNodeState}}"]),
            "active"
        );
    });
    let tasks_on_berth = |n: usize| {
        let ids: Vec<String> = d
            .ok(&[
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                "label=com.docker.swarm.service.name=svc",
            ])
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(ids.len(), n, "running task containers: {ids:?}");
        for id in &ids {
            assert_eq!(
                d.ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", id]),
                "berth"
            );
            // berth made it: its own state file in the root dockerd gave the shim, listed by `berth list`.
            let root = d.berth_root_of(id);
            assert!(
                Docker::berth_list(&root).contains(id),
                "berth --root {} list lacks {id}",
                root.display()
            );
            let state = ok(
                &berth().display().to_string(),
                &["--root", &root.display().to_string(), "state", id],
            );
            assert!(state.contains("\"running\""), "{state}");
        }
    };
    t.step("service create --replicas 2", || {
        d.ok(&[
            "service",
            "create",
            "--detach=false",
            "--no-resolve-image",
            "--name",
            "svc",
            "--replicas",
            "2",
            "busybox:local",
            "sh",
            "-c",
            SLEEPER,
        ]);
        tasks_on_berth(2);
    });
    t.step("service scale svc=3", || {
        d.ok(&["service", "scale", "--detach=false", "svc=3"]);
        tasks_on_berth(3);
    });

    let _ = d.cmd(&["service", "rm", "svc"]);
    // Wait for the tasks' containers to go before leaving the swarm.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && !d
            .ok(&[
                "ps",
                "-aq",
                "--filter",
                "label=com.docker.swarm.service.name=svc",
            ])
            .is_empty()
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = d.cmd(&["swarm", "leave", "--force"]);
    let _ = d.cmd(&["network", "rm", "docker_gwbridge"]);
    let _ = d.cmd(&["rmi", "-f", "busybox:local"]);
    drop(d);
    t.finish();
}

// ---------------------------------------------------------------------------
// podman

#[test]
fn podman_with_berth_runtime() {
    let _g = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    skip_unless_ready!("podman_with_berth_runtime");
    let s = Scratch::new("pm");
    make_rootfs(&s.path("rootfs"));
    write_configs(&s.path("etc"), false);
    let conf = s.s("etc/containers/containers.conf");
    let env = [("CONTAINERS_CONF", conf.as_str())];
    let b = berth().display().to_string();
    let (root, runroot) = (s.s("root"), s.s("run"));
    let base: Vec<&str> = vec![
        "--root",
        &root,
        "--runroot",
        &runroot,
        "--storage-driver",
        "overlay",
        "--cgroup-manager",
        "cgroupfs",
        "--runtime",
        &b,
    ];
    let pm = |args: &[&str], input: Option<&[u8]>| -> Output {
        let mut a = base.clone();
        a.extend_from_slice(args);
        run_in("podman", &a, input, &env)
    };
    let pok = |args: &[&str]| -> String {
        let o = pm(args, None);
        assert!(
            o.status.success(),
            "podman {args:?} failed ({}): {}",
            o.status,
            text(&o)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let mut t = Steps::new("podman");

    t.step("podman import", || {
        let tar = Command::new("tar")
            .arg("-C")
            .arg(s.path("rootfs"))
            .args(["-c", "."])
            .output()
            .unwrap();
        let o = pm(
            &["import", "-", "localhost/busybox:local"],
            Some(&tar.stdout),
        );
        assert!(o.status.success(), "{}", text(&o));
    });
    t.step(
        "podman --runtime berth run --rm (output, exit code, rlimits within the host's)",
        || {
            let out = pok(&[
                "run",
                "--rm",
                "busybox:local",
                "sh",
                "-c",
                "echo hello from berth; ulimit -n",
            ]);
            assert!(out.starts_with("hello from berth"), "{out}");
            let mut rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit fills the struct we pass.
            assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) }, 0);
            assert_eq!(
                out.lines().nth(1),
                Some(rl.rlim_max.to_string().as_str()),
                "nofile is not the host's hard limit (containers.conf default_ulimits)"
            );
            let o = pm(
                &["run", "--rm", "busybox:local", "sh", "-c", "exit 42"],
                None,
            );
            assert_eq!(o.status.code(), Some(42), "{}", text(&o));
        },
    );
    t.step(
        "podman run -d --cpu-shares 10 -m 512m: limits in the container's cgroup; berth made it",
        || {
            pok(&[
                "run",
                "-d",
                "--name",
                "pl",
                "--cpu-shares",
                "10",
                "-m",
                "512m",
                "busybox:local",
                "sh",
                "-c",
                SLEEPER,
            ]);
            assert_eq!(pok(&["inspect", "-f", "{{.OCIRuntime}}", "pl"]), b);
            let pid = pok(&["inspect", "-f", "{{.State.Pid}}", "pl"]);
            assert_cpu_shares(&pid, 10);
            assert_memory_limit(&pid, 512 * 1024 * 1024);
            // podman passes no --root: the state is in berth's default root.
            let id = pok(&["inspect", "-f", "{{.Id}}", "pl"]);
            assert!(
                ok(&b, &["list", "-q"]).lines().any(|l| l == id),
                "berth list lacks {id}"
            );
        },
    );
    t.step("podman exec", || {
        assert_eq!(
            pok(&[
                "exec",
                "pl",
                "sh",
                "-c",
                "echo exec-$((6*7)) $(cat /proc/1/comm)"
            ]),
            "exec-42 sh"
        );
        let o = pm(&["exec", "pl", "sh", "-c", "exit 3"], None);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    });
    t.step(
        "podman --runtime berth (the name containers.conf registers)",
        || {
            let mut a: Vec<&str> = base[..base.len() - 2].to_vec();
            a.extend([
                "--runtime",
                "berth",
                "run",
                "--rm",
                "busybox:local",
                "echo",
                "by name",
            ]);
            let o = run_in("podman", &a, None, &env);
            assert!(
                o.status.success() && text(&o).contains("by name"),
                "{}",
                text(&o)
            );
        },
    );
    t.step("podman stop / rm", || {
        pok(&["stop", "-t", "10", "pl"]);
        assert_eq!(
            pok(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                "pl"
            ]),
            "exited 0"
        );
        pok(&["rm", "pl"]);
        assert!(!pm(&["inspect", "pl"], None).status.success());
    });

    let _ = pm(&["rm", "-f", "-t", "0", "pl"], None);
    let _ = pm(&["rmi", "-f", "localhost/busybox:local"], None);
    t.finish();
}

// ---------------------------------------------------------------------------
// containerd

#[test]
fn containerd_runc_shim_with_berth_binary() {
    let _g = ENGINES.lock().unwrap_or_else(|e| e.into_inner());
    skip_unless_ready!("containerd_runc_shim_with_berth_binary");
    let s = Scratch::new("cd");
    make_rootfs(&s.path("rootfs"));
    write_configs(&s.path("etc"), false);
    let addr = s.s("c.sock");
    let args: Vec<String> = vec![
        "--config".into(),
        s.s("etc/containerd/config.toml"),
        "--root".into(),
        s.s("root"),
        "--state".into(),
        s.s("state"),
        "--address".into(),
        addr.clone(),
    ];
    let mut daemon = Daemon::spawn("containerd", "containerd", &args, s.path("containerd.log"));
    daemon.wait(|| {
        run("ctr", &["--address", &addr, "version"])
            .status
            .success()
    });
    let ns = "berth-it";
    let b = berth().display().to_string();
    let rootfs = s.s("rootfs");
    let ctr = |a: &[&str]| -> Output {
        let mut v = vec!["--address", addr.as_str(), "-n", ns];
        v.extend_from_slice(a);
        run("ctr", &v)
    };
    let cok = |a: &[&str]| -> String {
        let o = ctr(a);
        assert!(
            o.status.success(),
            "ctr {a:?} failed ({}): {}\ncontainerd errors:\n{}",
            o.status,
            text(&o),
            daemon.log_lines("level=error")
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let mut t = Steps::new("containerd");

    t.step(
        "ctr run --rm --runc-binary berth (output, exit code)",
        || {
            let out = cok(&[
                "run",
                "--rm",
                "--runc-binary",
                &b,
                "--rootfs",
                &rootfs,
                "c0",
                "echo",
                "hello from berth",
            ]);
            assert_eq!(out, "hello from berth");
            let o = ctr(&[
                "run",
                "--rm",
                "--runc-binary",
                &b,
                "--rootfs",
                &rootfs,
                "c0",
                "sh",
                "-c",
                "exit 42",
            ]);
            assert_eq!(o.status.code(), Some(42), "{}", text(&o));
        },
    );
    t.step("ctr run -d --memory-limit --cpu-shares: limits in the cgroup; berth's state in the shim's root", || {
        cok(&["run", "-d", "--runc-binary", &b, "--memory-limit", "268435456", "--cpu-shares", "10", "--rootfs", &rootfs, "c1", "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 1; done"]);
        let tasks = cok(&["task", "ls"]);
        let pid = tasks.lines().find(|l| l.starts_with("c1 ")).and_then(|l| l.split_whitespace().nth(1)).unwrap_or_else(|| panic!("{tasks}")).to_string();
        assert!(tasks.contains("RUNNING"), "{tasks}");
        assert_cpu_shares(&pid, 10);
        assert_memory_limit(&pid, 268_435_456);
        // The runc v2 shim runs `BinaryName --root /run/containerd/runc/<namespace>`.
        let state = ok(&b, &["--root", &format!("/run/containerd/runc/{ns}"), "state", "c1"]);
        let v: serde_json::Value = serde_json::from_str(&state).unwrap();
        assert_eq!(v["status"], "running", "{state}");
        assert_eq!(v["pid"].to_string(), pid, "{state}");
    });
    t.step("ctr task exec", || {
        assert_eq!(
            cok(&[
                "task",
                "exec",
                "--exec-id",
                "e1",
                "c1",
                "sh",
                "-c",
                "echo exec-$((6*7)) $(cat /proc/1/comm)"
            ]),
            "exec-42 sh"
        );
        let o = ctr(&[
            "task",
            "exec",
            "--exec-id",
            "e2",
            "c1",
            "sh",
            "-c",
            "exit 3",
        ]);
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    });
    t.step(
        "ctr task kill (SIGTERM reaches init), task delete, container delete",
        || {
            cok(&["task", "kill", "c1"]);
            let deadline = Instant::now() + Duration::from_secs(15);
            while !cok(&["task", "ls"]).contains("STOPPED") {
                assert!(
                    Instant::now() < deadline,
                    "c1 did not stop: {}",
                    cok(&["task", "ls"])
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            let del = ctr(&["task", "delete", "c1"]);
            assert!(del.status.success(), "{}", text(&del));
            // The trap exits 7 on SIGTERM; 137 or 143 would mean it never ran.
            let out = text(&del);
            let code = out
                .split("exit code ")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next());
            assert_eq!(code, Some("7"), "exit status not 7: {out}");
            cok(&["container", "delete", "c1"]);
            assert!(cok(&["task", "ls"]).lines().count() <= 1, "tasks left");
            let st = run(
                &b,
                &[
                    "--root",
                    &format!("/run/containerd/runc/{ns}"),
                    "state",
                    "c1",
                ],
            );
            assert!(!st.status.success(), "berth still has c1: {}", text(&st));
        },
    );

    for c in ["c0", "c1"] {
        let _ = ctr(&["task", "kill", "-s", "KILL", c]);
        let _ = ctr(&["task", "delete", "-f", c]);
        let _ = ctr(&["container", "delete", c]);
    }
    let _ = ctr(&["namespace", "remove", ns]);
    drop(daemon);
    let _ = std::fs::remove_dir(format!("/run/containerd/runc/{ns}"));
    t.finish();
}
