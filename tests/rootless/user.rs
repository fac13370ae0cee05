//! A real unprivileged user for the rootless tests: made with useradd (which also
//! grants it a range in /etc/subuid and /etc/subgid), with a private XDG_RUNTIME_DIR,
//! and removed again (its processes, containers and ids) when dropped. berth runs as it
//! through setpriv, so the kernel sees a process without any capability.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

use crate::common;

/// useradd and userdel lock /etc/passwd: tests in parallel take turns.
static ACCOUNTS: Mutex<()> = Mutex::new(());

pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// (first, count) of the user's range in /etc/subuid and /etc/subgid.
    pub subuid: (u32, u32),
    pub subgid: (u32, u32),
    /// Owned by the user: bundles, files the containers share, XDG_RUNTIME_DIR.
    pub dir: PathBuf,
    pub xdg: PathBuf,
}

/// Why the rootless tests cannot run here, if they cannot.
pub fn skip_reason() -> Option<String> {
    if let Some(why) = common::skip_reason() {
        return Some(why);
    }
    for tool in ["useradd", "userdel", "newuidmap", "newgidmap", "setpriv"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).exists()));
        if !found {
            return Some(format!(
                "{tool} not installed (scripts/deps.sh installs uidmap, passwd, util-linux)"
            ));
        }
    }
    None
}

fn range(file: &str, name: &str) -> (u32, u32) {
    let text = std::fs::read_to_string(file).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .unwrap_or_else(|| panic!("useradd gave {name} no range in {file}"));
    let f: Vec<&str> = line.split(':').collect();
    (f[1].parse().unwrap(), f[2].parse().unwrap())
}

impl User {
    pub fn new(tag: &str) -> User {
        let name = format!("brl{}{tag}", std::process::id());
        let dir = std::env::temp_dir().join(format!("berth-rootless-{name}"));
        {
            let _g = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
            let _ = Command::new("userdel").arg(&name).output();
            let out = Command::new("useradd")
                .args([
                    "-M",
                    "-s",
                    "/bin/sh",
                    "-K",
                    "SUB_UID_COUNT=65536",
                    "-K",
                    "SUB_GID_COUNT=65536",
                ])
                .arg(&name)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "useradd {name}: {}",
                common::stderr(&out)
            );
        }
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, &name]).output().unwrap();
            common::stdout(&out).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        let _ = std::fs::remove_dir_all(&dir);
        let xdg = dir.join("xdg");
        std::fs::create_dir_all(&xdg).unwrap();
        for (d, mode) in [(&dir, 0o755), (&xdg, 0o700)] {
            chown(d, Some(uid), Some(gid)).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        User {
            subuid: range("/etc/subuid", &name),
            subgid: range("/etc/subgid", &name),
            name,
            uid,
            gid,
            dir,
            xdg,
        }
    }

    /// berth as this user, without --root unless `args` gives one.
    pub fn berth(&self, args: &[&str]) -> Output {
        self.run(None, &[], args)
    }

    /// berth as this user, started from inside the cgroup v2 directory `cgroup`
    /// (as a login session in a delegated subtree is).
    pub fn berth_in(&self, cgroup: &Path, args: &[&str]) -> Output {
        self.run(Some(cgroup), &[], args)
    }

    /// berth as this user through `wrapper` (a command that runs the rest of its
    /// arguments, e.g. `unshare --user --map-root-user`).
    pub fn berth_via(&self, wrapper: &[&str], args: &[&str]) -> Output {
        self.run(None, wrapper, args)
    }

    fn run(&self, cgroup: Option<&Path>, wrapper: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new("sh");
        // Still root here: join the cgroup, then drop every privilege and exec berth.
        let enter = match cgroup {
            Some(cg) => format!("echo $$ > {}/cgroup.procs || exit 99; ", cg.display()),
            None => String::new(),
        };
        cmd.arg("-c")
            .arg(format!(
                "{enter}exec setpriv --reuid={} --regid={} --init-groups --inh-caps=-all \"$@\"",
                self.uid, self.gid
            ))
            .arg("sh")
            .args(wrapper)
            .arg(common::berth_bin())
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .env("HOME", &self.dir);
        common::output_via_files(cmd, &self.dir)
    }

    /// Runs berth and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?} as {} failed: {}{}",
            self.name,
            common::stdout(&out),
            common::stderr(&out)
        );
        common::stdout(&out)
    }

    /// A bundle `b` whose config.json is what `berth spec --rootless` writes for this
    /// user, pointed at the shared busybox rootfs, with no terminal, running `args`,
    /// then edited by `edit`.
    pub fn bundle(&self, b: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> PathBuf {
        let bundle = self.dir.join(b);
        std::fs::create_dir_all(&bundle).unwrap();
        chown(&bundle, Some(self.uid), Some(self.gid)).unwrap();
        self.ok(&["spec", "--rootless", "-b", bundle.to_str().unwrap()]);
        let file = bundle.join("config.json");
        let mut spec: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        spec["root"]["path"] = common::rootfs().to_str().unwrap().into();
        spec["process"]["terminal"] = false.into();
        spec["process"]["args"] = serde_json::json!(args);
        edit(&mut spec);
        std::fs::write(&file, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
        bundle
    }

    /// The state directories left in the user's default state root.
    pub fn state_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.xdg.join("berth"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "net")
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pids of every process running as this user or one of its subordinate uids.
    pub fn processes(&self) -> Vec<i32> {
        let mine = |uid: u32| {
            uid == self.uid || (self.subuid.0..self.subuid.0 + self.subuid.1).contains(&uid)
        };
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
                    s.lines()
                        .find(|l| l.starts_with("Uid:"))
                        .and_then(|l| l.split_whitespace().nth(2))
                        .and_then(|u| u.parse().ok())
                        .is_some_and(mine)
                })
            })
            .collect()
    }
}

impl Drop for User {
    fn drop(&mut self) {
        for id in self.state_dirs() {
            let _ = self.berth(&["delete", "-f", &id]);
        }
        // Whatever a failed test left running was started by this test as this user.
        for pid in self.processes() {
            // SAFETY: kill(2) on a pid of our own test's user.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.processes().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _g = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        // userdel also drops the user's /etc/subuid and /etc/subgid ranges.
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}
