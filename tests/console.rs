//! `--console-socket` for `create` and `exec`, and the pty `berth exec -t` proxies
//! itself: a small receiver takes the pty master over SCM_RIGHTS, as containerd's
//! shim does, and the test talks to the container's shell through it.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{args, receiver, stderr, stdout, Env};
use serde_json::json;

/// The pty number behind a master, proving the fd is a pty master.
fn pty_number(master: &OwnedFd) -> u32 {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes an unsigned int.
    assert_eq!(
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) },
        0,
        "not a pty master"
    );
    n
}

/// Reads from the master until `needle` shows up (or EOF/EIO, or 10 s); returns all read.
fn read_until(master: &OwnedFd, needle: &str) -> String {
    let mut got = Vec::new();
    let t = Instant::now();
    while !String::from_utf8_lossy(&got).contains(needle) && t.elapsed() < Duration::from_secs(10) {
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: read into our buffer.
        let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn write_all(master: &OwnedFd, data: &str) {
    // SAFETY: write from our buffer.
    let n = unsafe { libc::write(master.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    assert_eq!(n, data.len() as isize);
}

fn take(h: JoinHandle<std::io::Result<(String, OwnedFd)>>) -> (String, OwnedFd) {
    h.join().unwrap().expect("receive the pty master")
}

#[test]
fn create_with_console_socket_hands_over_the_pty() {
    require_root!();
    let env = Env::new("con-create");
    let b = env.bundle("b", |s| {
        s["process"]["terminal"] = json!(true);
        s["process"]["consoleSize"] = json!({ "height": 33, "width": 101 });
        args(
            s,
            &[
                "sh",
                "-c",
                "tty; stty size; echo hello-console; read l; echo got:$l; exit 5",
            ],
        );
    });
    let (sock, h) = receiver(&env, "create.sock");
    env.ok(&[
        "create",
        "-b",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "t1",
    ]);
    let (name, master) = take(h);
    assert!(!name.is_empty());
    let n = pty_number(&master);
    env.ok(&["start", "t1"]);
    let out = read_until(&master, "hello-console");
    assert!(
        out.contains(&format!("/dev/pts/{n}")),
        "the container's stdio is the pty: {out:?}"
    );
    assert!(out.contains("33 101"), "consoleSize applied: {out:?}");
    write_all(&master, "typed\n");
    let out = read_until(&master, "got:typed");
    assert!(out.contains("got:typed"), "{out:?}");
    let t = Instant::now();
    while env.status("t1") != "stopped" && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(env.status("t1"), "stopped");
}

#[test]
fn exec_tty_through_console_socket() {
    require_root!();
    let env = Env::new("con-exec");
    let b = env.bundle("b", |s| args(s, &["sleep", "1000"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "e1"]);

    // Foreground: berth waits for the process and returns its exit code.
    let (sock, h) = receiver(&env, "exec.sock");
    let child = env
        .cmd(&[
            "exec",
            "-t",
            "--console-socket",
            sock.to_str().unwrap(),
            "e1",
            "sh",
            "-c",
            "tty; echo exec-tty; read l; echo got:$l; exit 4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, master) = take(h);
    let n = pty_number(&master);
    let out = read_until(&master, "exec-tty");
    assert!(out.contains(&format!("/dev/pts/{n}")), "{out:?}");
    write_all(&master, "xyz\n");
    let out = read_until(&master, "got:xyz");
    assert!(out.contains("got:xyz"), "{out:?}");
    let res = child.wait_with_output().unwrap();
    assert_eq!(res.status.code(), Some(4), "{}", stderr(&res));
    assert_eq!(
        stdout(&res),
        "",
        "the output went to the pty, not berth's stdout"
    );

    // Detached: berth returns at once, the process keeps the pty.
    let (sock, h) = receiver(&env, "exec-d.sock");
    let pid_file = env.dir.join("d.pid");
    env.ok(&[
        "exec",
        "-d",
        "-t",
        "--console-socket",
        sock.to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        "e1",
        "sh",
        "-c",
        "read l; echo detached:$l",
    ]);
    let (_, master) = take(h);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    write_all(&master, "later\n");
    let out = read_until(&master, "detached:later");
    assert!(out.contains("detached:later"), "{out:?}");

    // A console socket without a tty is refused, as runc does.
    let out = env.run(&[
        "exec",
        "--console-socket",
        sock.to_str().unwrap(),
        "e1",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr(&out).contains("console socket"), "{}", stderr(&out));
}

#[test]
fn exec_tty_without_socket_proxies_the_pty() {
    require_root!();
    let env = Env::new("con-proxy");
    let b = env.bundle("b", |s| args(s, &["sleep", "1000"]));
    env.ok(&["run", "-d", "-b", b.to_str().unwrap(), "p1"]);
    let mut child = env
        .cmd(&[
            "exec",
            "-t",
            "p1",
            "sh",
            "-c",
            "tty; read l; echo got:$l; exit 6",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let mut out = String::new();
    let mut so = child.stdout.take().unwrap();
    let res = child.wait().unwrap();
    so.read_to_string(&mut out).unwrap();
    assert_eq!(res.code(), Some(6));
    assert!(out.contains("/dev/pts/"), "{out:?}");
    assert!(out.contains("got:piped"), "{out:?}");
}

#[test]
fn the_terminal_belongs_to_the_process_user_and_the_tty_group() {
    require_root!();
    let env = Env::new("con-owner");
    let b = env.bundle("b", |s| {
        s["process"]["terminal"] = json!(true);
        s["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
        args(
            s,
            &[
                "sh",
                "-c",
                "echo owner=$(stat -L -c %u:%g /proc/self/fd/0); sleep 1",
            ],
        );
    });
    let (sock, h) = receiver(&env, "owner.sock");
    env.ok(&[
        "create",
        "-b",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "o1",
    ]);
    let (_, master) = take(h);
    env.ok(&["start", "o1"]);
    let out = read_until(&master, "owner=");
    let out = out + &read_until(&master, "\n");
    // The user's, in the tty group devpts gives it (the spec's gid=5), as runc.
    assert!(out.contains("owner=1000:5"), "{out:?}");
    // Lines end as the program wrote them (runc clears ONLCR on the pty).
    assert!(out.contains("1000:5\n") && !out.contains('\r'), "{out:?}");
}

#[test]
fn exec_tty_takes_the_console_size_of_its_process() {
    require_root!();
    let env = Env::new("con-size");
    let b = env.bundle("b", |s| {
        s["process"]["terminal"] = json!(true);
        s["process"]["consoleSize"] = json!({ "height": 33, "width": 101 });
        args(s, &["sh", "-c", "stty size; sleep 1000"]);
    });
    let (sock, h) = receiver(&env, "init.sock");
    env.ok(&[
        "run",
        "-d",
        "-b",
        b.to_str().unwrap(),
        "--console-socket",
        sock.to_str().unwrap(),
        "cs",
    ]);
    let (_, init_master) = take(h);
    let out = read_until(&init_master, "33 101");
    assert!(out.contains("33 101"), "init's size: {out:?}");

    // `exec -p` with its own consoleSize: that size, not init's.
    let proc_json = env.dir.join("process.json");
    std::fs::write(
        &proc_json,
        serde_json::to_vec(&json!({
            "terminal": true,
            "consoleSize": { "height": 47, "width": 123 },
            "user": { "uid": 0, "gid": 0 },
            "cwd": "/",
            "env": ["PATH=/bin:/usr/bin"],
            "args": ["sh", "-c", "echo size=$(stty size)"]
        }))
        .unwrap(),
    )
    .unwrap();
    let (sock, h) = receiver(&env, "exec-p.sock");
    env.ok(&[
        "exec",
        "-d",
        "--console-socket",
        sock.to_str().unwrap(),
        "-p",
        proc_json.to_str().unwrap(),
        "cs",
    ]);
    let (_, master) = take(h);
    let out = read_until(&master, "size=47 123");
    assert!(out.contains("size=47 123"), "exec -p's size: {out:?}");

    // `exec -t` without -p copies the container's process, consoleSize
    // included, as runc does when its own stdin is no terminal (here: null).
    let (sock, h) = receiver(&env, "exec-t.sock");
    env.ok(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        sock.to_str().unwrap(),
        "cs",
        "sh",
        "-c",
        "echo size=$(stty size)",
    ]);
    let (_, master) = take(h);
    let out = read_until(&master, "size=33 101");
    assert!(out.contains("size=33 101"), "exec -t's size: {out:?}");
}
