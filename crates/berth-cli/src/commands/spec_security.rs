//! `berth spec` security flags, named as `docker run` names them: capabilities
//! (docker's default set, `--cap-add/--cap-drop`), the default seccomp profile,
//! `--privileged`, `--device` and `--security-opt`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use berth_container::{caps, seccomp};
use oci_spec::runtime::{
    Capabilities, Capability, LinuxCapabilities, LinuxDevice, LinuxDeviceBuilder,
    LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources, LinuxSeccomp, Spec,
};

use super::Result;

#[derive(clap::Args, Debug, Default, PartialEq)]
#[command(next_help_heading = "Security (docker run names)")]
pub struct SecurityFlags {
    /// Add a Linux capability (NET_ADMIN, cap_net_admin, ALL); repeatable
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability (CHOWN, ALL); repeatable
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// All capabilities, no seccomp, no masked or read-only paths, every device allowed
    #[arg(long)]
    pub privileged: bool,
    /// A host device: /dev/HOST[:/dev/CTR[:rwm]]; repeatable
    #[arg(long = "device", value_name = "DEVICE")]
    pub device: Vec<String>,
    /// no-new-privileges[=true|false], seccomp=unconfined|FILE, apparmor=PROFILE, label=user:U|role:R|type:T|level:L|disable
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
}

fn err(msg: impl Into<String>) -> Box<dyn std::error::Error> {
    msg.into().into()
}

fn cap_set(names: &[String]) -> Result<Capabilities> {
    names
        .iter()
        .map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::String(n.clone()))
                .map_err(|_| err(format!("capability {n:?} is not known to the OCI spec")))
        })
        .collect()
}

/// What `--security-opt` asked for.
#[derive(Default)]
struct Opts {
    no_new_privs: Option<bool>,
    seccomp: Option<SeccompOpt>,
    apparmor: Option<String>,
    label: Vec<(String, String)>,
    label_disable: bool,
}

enum SeccompOpt {
    Unconfined,
    File(PathBuf),
}

fn parse_opts(list: &[String]) -> Result<Opts> {
    let mut o = Opts::default();
    for raw in list {
        // docker accepts both key=value and the legacy key:value.
        let (k, v) = match raw.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => match raw.split_once(':') {
                Some((k, v)) if k != "no-new-privileges" || matches!(v, "true" | "false") => {
                    (k, Some(v))
                }
                _ => (raw.as_str(), None),
            },
        };
        let bad = |why: &str| err(format!("--security-opt {raw:?}: {why}"));
        match (k, v) {
            ("no-new-privileges", None) => o.no_new_privs = Some(true),
            ("no-new-privileges", Some(v)) => {
                o.no_new_privs = Some(v.parse().map_err(|_| bad("expected true or false"))?)
            }
            ("seccomp", Some("unconfined")) => o.seccomp = Some(SeccompOpt::Unconfined),
            ("seccomp", Some(f)) if !f.is_empty() => {
                o.seccomp = Some(SeccompOpt::File(PathBuf::from(f)))
            }
            ("apparmor", Some(p)) if !p.is_empty() => o.apparmor = Some(p.to_string()),
            ("label", Some("disable")) => o.label_disable = true,
            ("label", Some(l)) => {
                let (lk, lv) = l.split_once(':').ok_or_else(|| {
                    bad("expected label=user:U, role:R, type:T, level:L or disable")
                })?;
                if !matches!(lk, "user" | "role" | "type" | "level") || lv.is_empty() {
                    return Err(bad(
                        "expected label=user:U, role:R, type:T, level:L or disable",
                    ));
                }
                o.label.push((lk.to_string(), lv.to_string()));
            }
            _ => {
                return Err(bad(
                    "expected no-new-privileges, seccomp=, apparmor= or label=",
                ))
            }
        }
    }
    Ok(o)
}

/// An SELinux process label built like docker's: its defaults with the given parts replaced.
fn selinux_labels(parts: &[(String, String)]) -> (String, String) {
    let mut f = ["system_u", "system_r", "container_t", "s0"];
    for (k, v) in parts {
        let i = match k.as_str() {
            "user" => 0,
            "role" => 1,
            "type" => 2,
            _ => 3,
        };
        f[i] = v;
    }
    (
        f.join(":"),
        format!("{}:object_r:container_file_t:{}", f[0], f[3]),
    )
}

/// Loads a seccomp profile file: OCI `linux.seccomp` JSON, or docker's profile
/// format, translated for `caps` (see [`seccomp::parse_profile`]).
fn load_profile(path: &Path, caps: &[String]) -> Result<LinuxSeccomp> {
    let at =
        |e: &dyn std::fmt::Display| err(format!("--security-opt seccomp={}: {e}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| at(&e))?;
    seccomp::parse_profile(&text, caps).map_err(|e| at(&e))
}

/// `/dev/HOST[:/dev/CTR[:rwm]]` (or `/dev/HOST:rwm`), read from the host node.
fn parse_device(raw: &str) -> Result<(LinuxDevice, String)> {
    let parts: Vec<&str> = raw.split(':').collect();
    let is_perm = |s: &str| !s.is_empty() && s.len() <= 3 && s.chars().all(|c| "rwm".contains(c));
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if is_perm(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => {
            return Err(err(format!(
                "--device {raw:?}: expected /dev/HOST[:/dev/CONTAINER[:rwm]]"
            )))
        }
    };
    if !is_perm(perms) {
        return Err(err(format!(
            "--device {raw:?}: bad permissions {perms:?} (a combination of r, w and m)"
        )));
    }
    if !ctr.starts_with('/') {
        return Err(err(format!(
            "--device {raw:?}: the container path {ctr:?} must be absolute"
        )));
    }
    let meta =
        std::fs::metadata(host).map_err(|e| err(format!("--device {raw:?}: {host}: {e}")))?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(err(format!(
            "--device {raw:?}: {host} is not a device node"
        )));
    };
    let rdev = meta.rdev();
    let dev = LinuxDeviceBuilder::default()
        .path(ctr)
        .typ(typ)
        .major(libc::major(rdev) as i64)
        .minor(libc::minor(rdev) as i64)
        .file_mode(meta.mode() & 0o7777)
        .uid(0u32)
        .gid(0u32)
        .build()
        .map_err(|e| err(format!("--device {raw:?}: {e}")))?;
    Ok((dev, perms.to_string()))
}

impl SecurityFlags {
    pub fn apply(&self, spec: &mut Spec) -> Result<()> {
        let opts = parse_opts(&self.security_opt)?;
        let cap_names = if self.privileged {
            caps::resolve(&[], &["ALL".into()], &self.cap_drop)?
        } else {
            caps::resolve(&caps::docker_default(), &self.cap_add, &self.cap_drop)?
        };
        let set = cap_set(&cap_names)?;
        let mut lc = LinuxCapabilities::default();
        lc.set_bounding(Some(set.clone()));
        lc.set_effective(Some(set.clone()));
        lc.set_permitted(Some(set));
        lc.set_inheritable(Some(Capabilities::new()));
        lc.set_ambient(Some(Capabilities::new()));

        let seccomp = match (&opts.seccomp, self.privileged) {
            (Some(SeccompOpt::Unconfined), _) => None,
            (Some(SeccompOpt::File(f)), _) => Some(load_profile(f, &cap_names)?),
            (None, true) => None,
            (None, false) => Some(seccomp::profile_for_caps(&cap_names)),
        };

        let mut devices = Vec::new();
        let mut rules = Vec::new();
        for d in &self.device {
            let (dev, perms) = parse_device(d)?;
            rules.push(
                LinuxDeviceCgroupBuilder::default()
                    .allow(true)
                    .typ(dev.typ())
                    .major(dev.major())
                    .minor(dev.minor())
                    .access(perms)
                    .build()
                    .map_err(|e| err(format!("--device {d:?}: {e}")))?,
            );
            devices.push(dev);
        }

        let process = spec.process_mut().get_or_insert_with(Default::default);
        process.set_capabilities(Some(lc));
        if let Some(n) = opts.no_new_privs {
            process.set_no_new_privileges(Some(n));
        }
        if let Some(p) = &opts.apparmor {
            process.set_apparmor_profile(Some(p.clone()));
        }
        let mut mount_label = None;
        if !opts.label_disable && !opts.label.is_empty() {
            let (l, m) = selinux_labels(&opts.label);
            process.set_selinux_label(Some(l));
            mount_label = Some(m);
        }

        if self.privileged {
            // As docker: /sys writable too.
            if let Some(mounts) = spec.mounts_mut() {
                for m in mounts
                    .iter_mut()
                    .filter(|m| m.typ().as_deref() == Some("sysfs"))
                {
                    if let Some(o) = m.options_mut() {
                        o.retain(|o| o != "ro");
                    }
                }
            }
        }
        let linux = spec.linux_mut().get_or_insert_with(Default::default);
        linux.set_seccomp(seccomp);
        if mount_label.is_some() {
            linux.set_mount_label(mount_label);
        }
        if self.privileged {
            linux.set_masked_paths(Some(Vec::new()));
            linux.set_readonly_paths(Some(Vec::new()));
            let all = LinuxDeviceCgroupBuilder::default()
                .allow(true)
                .typ(LinuxDeviceType::A)
                .access("rwm")
                .build()
                .map_err(|e| err(e.to_string()))?;
            rules = vec![all];
        }
        if !devices.is_empty() {
            let mut all = linux.devices().clone().unwrap_or_default();
            all.retain(|d| !devices.iter().any(|n| n.path() == d.path()));
            all.extend(devices);
            linux.set_devices(Some(all));
        }
        if !rules.is_empty() {
            let resources = linux
                .resources_mut()
                .get_or_insert_with(LinuxResources::default);
            let mut list = resources.devices().clone().unwrap_or_default();
            if self.privileged {
                list.clear();
            } else if list.is_empty() {
                // Deny everything else, as the default config does implicitly.
                list.push(
                    LinuxDeviceCgroupBuilder::default()
                        .allow(false)
                        .typ(LinuxDeviceType::A)
                        .access("rwm")
                        .build()
                        .map_err(|e| err(e.to_string()))?,
                );
            }
            list.extend(rules);
            resources.set_devices(Some(list));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with(f: SecurityFlags) -> Result<Spec> {
        let mut s = Spec::default();
        f.apply(&mut s)?;
        Ok(s)
    }

    fn names(c: &Option<Capabilities>) -> Vec<String> {
        let mut v: Vec<String> = c
            .iter()
            .flatten()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn default_is_dockers_set_with_empty_inheritable_and_ambient() {
        let s = spec_with(SecurityFlags::default()).unwrap();
        let c = s
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        let mut want = caps::docker_default();
        want.sort();
        assert_eq!(names(c.bounding()), want);
        assert_eq!(names(c.effective()), want);
        assert_eq!(names(c.permitted()), want);
        assert!(names(c.inheritable()).is_empty());
        assert!(names(c.ambient()).is_empty());
        assert!(s.linux().as_ref().unwrap().seccomp().is_some());
    }

    #[test]
    fn cap_add_all_drop_chown() {
        let s = spec_with(SecurityFlags {
            cap_add: vec!["all".into()],
            cap_drop: vec!["cap_chown".into()],
            ..Default::default()
        })
        .unwrap();
        let c = s
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap();
        let b = names(c.bounding());
        assert!(b.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(!b.contains(&"CAP_CHOWN".to_string()));
        assert!(spec_with(SecurityFlags {
            cap_add: vec!["NOPE".into()],
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn privileged_and_opts() {
        let s = spec_with(SecurityFlags {
            privileged: true,
            security_opt: vec![
                "apparmor=p1".into(),
                "label=type:t1".into(),
                "no-new-privileges=false".into(),
            ],
            ..Default::default()
        })
        .unwrap();
        let l = s.linux().as_ref().unwrap();
        assert!(l.seccomp().is_none());
        assert_eq!(l.masked_paths().as_ref().unwrap().len(), 0);
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.apparmor_profile().as_deref(), Some("p1"));
        assert_eq!(
            p.selinux_label().as_deref(),
            Some("system_u:system_r:t1:s0")
        );
        assert_eq!(p.no_new_privileges(), Some(false));
        let rules = l.resources().as_ref().unwrap().devices().clone().unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow());
        assert!(spec_with(SecurityFlags {
            security_opt: vec!["bogus".into()],
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn seccomp_file_in_docker_format() {
        let dir = std::env::temp_dir().join(format!("berth-sec-opt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("profile.json");
        std::fs::write(
            &file,
            r#"{"defaultAction": "SCMP_ACT_ALLOW",
                "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
                "syscalls": [
                    {"name": "mkdir", "action": "SCMP_ACT_ERRNO"},
                    {"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_CHOWN"]}}
                ]}"#,
        )
        .unwrap();
        let s = spec_with(SecurityFlags {
            security_opt: vec![format!("seccomp={}", file.display())],
            ..Default::default()
        })
        .unwrap();
        let sc = s.linux().as_ref().unwrap().seccomp().clone().unwrap();
        assert_eq!(sc.architectures().as_ref().unwrap().len(), 2);
        // docker's default set has CAP_CHOWN, so the reboot rule is dropped.
        let names: Vec<_> = sc
            .syscalls()
            .iter()
            .flatten()
            .map(|c| c.names().clone())
            .collect();
        assert_eq!(names, vec![vec!["mkdir".to_string()]]);
        std::fs::write(&file, "{").unwrap();
        let e = spec_with(SecurityFlags {
            security_opt: vec![format!("seccomp={}", file.display())],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(&format!("--security-opt seccomp={}: ", file.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn device_flag_reads_the_host_node() {
        let s = spec_with(SecurityFlags {
            device: vec!["/dev/null:/dev/mynull:r".into()],
            ..Default::default()
        })
        .unwrap();
        let l = s.linux().as_ref().unwrap();
        let d = &l.devices().as_ref().unwrap()[0];
        assert_eq!(d.path(), Path::new("/dev/mynull"));
        assert_eq!((d.typ(), d.major(), d.minor()), (LinuxDeviceType::C, 1, 3));
        let rules = l.resources().as_ref().unwrap().devices().clone().unwrap();
        assert_eq!(rules.last().unwrap().access().as_deref(), Some("r"));
        let e = spec_with(SecurityFlags {
            device: vec!["/etc/hostname".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("not a device"), "{e}");
    }
}
