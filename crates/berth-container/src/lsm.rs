//! Linux security module labels: `process.apparmorProfile`,
//! `process.selinuxLabel` and `linux.mountLabel`.
//!
//! [`check`] runs in `create` before anything is made: asking for a label of
//! an LSM the kernel does not run is an error naming the field (runc would
//! otherwise start the container unconfined). [`apply_exec_labels`] runs in
//! the container init right before execve; the label takes effect at exec.
//! Every attribute write goes through [`write_proc_self`], which proves the
//! file it writes is procfs's and not something mounted over it (CVE-2025-52881).

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};
use oci_spec::runtime::{Process, Spec};

use crate::{invalid, Error, Result};

/// procfs's root directory has inode 1 (PROC_ROOT_INO).
const PROC_ROOT_INO: u64 = 1;

/// AppArmor is loaded and enabled.
pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
        && Path::new("/sys/kernel/security/apparmor").exists()
}

/// SELinux is enabled (selinuxfs mounted).
pub fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
        || std::fs::read_to_string("/proc/filesystems")
            .is_ok_and(|s| s.lines().any(|l| l.ends_with("\tselinuxfs")))
            && Path::new("/selinux/enforce").exists()
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The labels a spec asks for, checked against the running kernel.
pub fn check(spec: &Spec) -> Result<()> {
    if let Some(p) = spec.process().as_ref() {
        check_process(p)?;
    }
    check_mount_label(spec)
}

/// The process's own labels (config.json's, or an `exec` process's).
pub fn check_process(process: &Process) -> Result<()> {
    let process = Some(process);
    if let Some(p) = process.and_then(|p| non_empty(p.apparmor_profile())) {
        if !apparmor_enabled() {
            return Err(no_apparmor(p));
        }
        check_label("process.apparmorProfile", p)?;
    }
    if let Some(l) = process.and_then(|p| non_empty(p.selinux_label())) {
        check_label("process.selinuxLabel", l)?;
        if !selinux_enabled() {
            // As runc's label handling: without SELinux a label means nothing.
            log::debug!("process.selinuxLabel {l:?} ignored: SELinux is not enabled");
        }
    }
    Ok(())
}

fn check_mount_label(spec: &Spec) -> Result<()> {
    if let Some(l) = spec
        .linux()
        .as_ref()
        .and_then(|l| non_empty(l.mount_label()))
    {
        check_label("linux.mountLabel", l)?;
        if !selinux_enabled() {
            log::debug!("linux.mountLabel {l:?} ignored: SELinux is not enabled");
        }
        if l.contains('"') {
            // It is quoted in the context= mount option.
            return invalid!("linux.mountLabel", l, "contains a double quote");
        }
    }
    Ok(())
}

fn check_label(field: &str, l: &str) -> Result<()> {
    if l.len() > 4096 || l.bytes().any(|b| b == 0 || b == b'\n') {
        return invalid!(field, l, "not a valid label");
    }
    Ok(())
}

/// An AppArmor profile asked of a kernel without AppArmor.
fn no_apparmor(profile: &str) -> Error {
    Error::unsupported(
        "process.apparmorProfile",
        format!("AppArmor is not enabled on this kernel (profile {profile:?})"),
    )
}

/// The mount option that labels a new file system, when `linux.mountLabel` is set
/// and SELinux runs: `context="<label>"`.
pub fn mount_context(spec: &Spec) -> Option<String> {
    let l = spec
        .linux()
        .as_ref()
        .and_then(|l| non_empty(l.mount_label()))?;
    selinux_enabled().then(|| format!("context=\"{l}\""))
}

/// Sets the labels the program is exec'ed with. Call right before execve, inside the container.
pub fn apply_exec_labels(p: &Process) -> Result<()> {
    if let Some(profile) = non_empty(p.apparmor_profile()) {
        if !apparmor_enabled() {
            return Err(no_apparmor(profile));
        }
        // The stacking-aware interface first, then the legacy one.
        let data = format!("exec {profile}");
        match write_proc_self("attr/apparmor/exec", data.as_bytes()) {
            Err(Error::Sys {
                source: Errno::ENOENT,
                ..
            }) => write_proc_self("attr/exec", data.as_bytes()),
            r => r,
        }
        .map_err(|e| Error::invalid("process.apparmorProfile", profile, e.to_string()))?;
    }
    if let Some(label) = non_empty(p.selinux_label()).filter(|_| selinux_enabled()) {
        write_proc_self("attr/exec", label.as_bytes())
            .map_err(|e| Error::invalid("process.selinuxLabel", label, e.to_string()))?;
    }
    Ok(())
}

fn verify_procfs(fd: &OwnedFd, what: &str) -> Result<()> {
    let st = fstatfs(fd).map_err(|e| Error::sys(format!("statfs {what}"), e))?;
    if st.filesystem_type() != PROC_SUPER_MAGIC {
        return Err(Error::unsafe_path(
            what,
            "not on procfs; refusing to write to it",
        ));
    }
    Ok(())
}

/// Writes `data` to `/proc/<this thread>/<rel>` and proves it landed on procfs:
/// /proc must be a procfs root, the path is resolved below it without
/// symlinks, magic links or crossing a mount (so nothing bind-mounted over
/// the file or a directory on the way is used), and the opened file must be on procfs.
pub fn write_proc_self(rel: &str, data: &[u8]) -> Result<()> {
    let proc = nix::fcntl::open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open /proc", e))?;
    verify_procfs(&proc, "/proc")?;
    let st = nix::sys::stat::fstat(&proc).map_err(|e| Error::sys("stat /proc", e))?;
    if st.st_ino != PROC_ROOT_INO {
        return Err(Error::unsafe_path(
            "/proc",
            "not the root of a procfs mount; refusing to write to it",
        ));
    }
    let tid = nix::unistd::gettid();
    let path = format!("{tid}/{}", rel.trim_start_matches('/'));
    let shown = format!("/proc/{path}");
    let fd = openat2(
        proc.as_fd(),
        path.as_str(),
        OpenHow::new()
            .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
            .resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS
                    | ResolveFlag::RESOLVE_NO_XDEV,
            ),
    )
    .map_err(|e| match e {
        Errno::EXDEV => {
            Error::unsafe_path(&shown, "covered by another mount; refusing to write to it")
        }
        e => Error::sys(format!("open {shown}"), e),
    })?;
    verify_procfs(&fd, &shown)?;
    loop {
        match nix::unistd::write(&fd, data) {
            Ok(n) if n == data.len() => return Ok(()),
            Ok(n) => {
                let short = std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    format!("short write ({n} of {} bytes)", data.len()),
                );
                return Err(Error::io("write", shown, short));
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys(format!("write {shown}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reach_procfs() {
        // comm is per-thread and writable by the thread itself: a write we can read back.
        let h = std::thread::spawn(|| {
            write_proc_self("comm", b"berth-lsm-t").unwrap();
            std::fs::read_to_string("/proc/thread-self/comm").unwrap()
        });
        assert_eq!(h.join().unwrap().trim(), "berth-lsm-t");
        assert!(write_proc_self("../../etc/hostname", b"x").is_err());
        assert!(write_proc_self("no-such-file", b"x").is_err());
    }

    #[test]
    fn labels_without_the_lsm_are_an_error() {
        let mut spec = Spec::default();
        assert!(check(&spec).is_ok());
        if !apparmor_enabled() {
            spec.process_mut()
                .as_mut()
                .unwrap()
                .set_apparmor_profile(Some("p".into()));
            let e = check(&spec).unwrap_err().to_string();
            assert!(e.starts_with("process.apparmorProfile"), "{e}");
            spec.process_mut()
                .as_mut()
                .unwrap()
                .set_apparmor_profile(Some(String::new()));
            assert!(check(&spec).is_ok());
        }
        if !selinux_enabled() {
            // Ignored without SELinux, as runc does; a malformed one is still refused.
            spec.linux_mut()
                .as_mut()
                .unwrap()
                .set_mount_label(Some("system_u:object_r:x:s0".into()));
            assert!(check(&spec).is_ok());
            spec.linux_mut()
                .as_mut()
                .unwrap()
                .set_mount_label(Some("bad\nlabel".into()));
            let e = check(&spec).unwrap_err().to_string();
            assert!(e.starts_with("linux.mountLabel"), "{e}");
        }
    }
}
