//! The command line's texts and logs as runc's users read them: help layout,
//! version lines, unknown commands, `--debug` lines in text and JSON.

mod common;

use common::{args, stderr, Env};

#[test]
fn help_is_laid_out_as_runcs() {
    // No container is made: runs as any user.
    let env = Env::new("cli-help");
    for flag in ["-h", "--help"] {
        let out = env.ok(&[flag]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME:", "{out}");
        assert!(lines[1].starts_with("   berth - "), "{out}");
        // runc's commands, as its help test lists them.
        for cmd in [
            "checkpoint",
            "create",
            "delete",
            "events",
            "exec",
            "kill",
            "list",
            "pause",
            "ps",
            "restore",
            "resume",
            "run",
            "spec",
            "start",
            "state",
            "update",
            "features",
        ] {
            let out = env.ok(&[cmd, flag]);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[0], "NAME:", "{cmd}: {out}");
            assert!(
                lines[1].starts_with(&format!("   berth {cmd} - ")),
                "{cmd}: {out}"
            );
        }
    }
}

#[test]
fn command_help_names_the_binary_as_it_was_called() {
    let env = Env::new("cli-help-name");
    let link = env.dir.join("my-runtime");
    std::os::unix::fs::symlink(common::berth_bin(), &link).unwrap();
    let out = std::process::Command::new(&link)
        .args(["kill", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert_eq!(
        text.lines().nth(1),
        Some("   my-runtime kill - Send a signal (default SIGTERM) to the container's init"),
        "{text}"
    );
}

#[test]
fn spec_h_alone_is_help_and_with_a_name_the_hostname() {
    // runc's `spec -h` is help; docker's `-h NAME` is the hostname.
    let env = Env::new("cli-spec-h");
    let out = env.ok(&["spec", "-h"]);
    assert_eq!(
        out.lines().nth(1),
        Some("   berth spec - Write a default config.json"),
        "{out}"
    );
    let dir = env.dir.join("b");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(&["spec", "-b", dir.to_str().unwrap(), "-h", "web"]);
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["hostname"], "web");
}

#[test]
fn no_arguments_print_the_help_and_succeed() {
    // As runc: the help on stdout, status 0.
    let out = std::process::Command::new(common::berth_bin())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("NAME:\n"));
    assert!(out.stderr.is_empty());
}

#[test]
fn an_unknown_command_has_no_help_topic() {
    let env = Env::new("cli-foo");
    for a in [&["foo", "-h"][..], &["foo"]] {
        let out = env.run(a);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stderr(&out), "berth: No help topic for 'foo'\n");
    }
}

#[test]
fn version_names_berth_then_commit_and_spec() {
    let env = Env::new("cli-version");
    for flag in ["-v", "--version"] {
        let out = env.ok(&[flag]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].starts_with(&format!("berth version {} ", env!("CARGO_PKG_VERSION"))),
            "{out}"
        );
        assert!(lines[0].contains("runc version 1."), "{out}");
        assert!(lines[1].starts_with("commit: "), "{out}");
        assert_eq!(lines[2], "spec: 1.2.1");
    }
}

#[test]
fn checkpoint_is_refused_with_a_reason() {
    let env = Env::new("cli-checkpoint");
    let out = env.run(&["checkpoint", "--image-path", "x", "c1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not supported"), "{}", stderr(&out));
}

#[test]
fn debug_lines_follow_create_start_exec_and_delete() {
    require_root!();
    let env = Env::new("cli-debug");
    let b = env.bundle("b", |s| args(s, &["sleep", "100"]));
    let bundle = b.to_str().unwrap();

    // To stderr, logrus text; the container's own output is untouched.
    let out = env.run(&["--debug", "create", "-b", bundle, "d1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stderr(&out);
    for want in [
        "level=debug msg=\"container init: forked as pid ",
        "(runc: nsexec container setup)",
        "(runc: child process in init())",
        "(runc: init: closing the pipe to signal completion)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(text.lines().all(|l| l.starts_with("time=\"")), "{text}");
    env.ok(&["start", "d1"]);

    // To a --log file as JSON: nothing on stderr, one object per line.
    let log = env.dir.join("debug.json");
    let log_arg = log.to_str().unwrap();
    let out = env.run(&[
        "--debug",
        "--log",
        log_arg,
        "--log-format",
        "json",
        "exec",
        "d1",
        "true",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["level"] == "debug"), "{lines:?}");
    let msgs: Vec<&str> = lines.iter().filter_map(|l| l["msg"].as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("exec process: joined the container, executing \"true\"")),
        "{msgs:?}"
    );

    // Without --debug, no debug lines.
    let out = env.run(&["delete", "-f", "d1"]);
    assert!(
        out.status.success() && stderr(&out).is_empty(),
        "{}",
        stderr(&out)
    );
}
