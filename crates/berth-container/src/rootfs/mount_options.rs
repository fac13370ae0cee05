//! Parser for the `options` array of an OCI mount (config.json `mounts[].options`).
//!
//! Every option is either a mount flag (`ro`, `nosuid`, `relatime`, ...), a
//! propagation change (`rprivate`, `shared`, ...), a bind request (`bind`,
//! `rbind`), a recursive mount attribute (`rro`, `rnosuid`, ... applied with
//! mount_setattr(2) and AT_RECURSIVE), or file-system data (`mode=755`,
//! `size=65536k`, `newinstance`). Data options are checked against what the
//! file system is known to take; anything else is refused here, before the
//! container is created, instead of failing half-way through the mounts.

use nix::mount::MsFlags;

/// What one mount's options mean, ready for mount(2) / mount_setattr(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `rbind`: clone the whole tree below the source.
    pub recursive: bool,
    /// Flags to pass to mount(2) for a new (non-bind) mount.
    pub flags: MsFlags,
    /// MOUNT_ATTR_* to set on the top mount (bind mounts).
    pub attr_set: u64,
    /// MOUNT_ATTR_* to clear on the top mount (bind mounts).
    pub attr_clr: u64,
    /// MOUNT_ATTR_* to set on the mount and everything below it (`rro`, ...).
    pub rec_attr_set: u64,
    /// MOUNT_ATTR_* to clear recursively (`rrw`, ...).
    pub rec_attr_clr: u64,
    /// Propagation changes, in the order given (MS_SHARED, MS_SLAVE|MS_REC, ...).
    pub propagation: Vec<MsFlags>,
    /// File-system data, comma-joined (`mode=755,size=65536k`).
    pub data: String,
    /// An id-mapped bind mount (`idmap`, `ridmap`, or uid/gid mappings on the mount).
    pub idmap: bool,
    /// `ridmap`: the mapping applies to every mount of an `rbind` tree, not only its top.
    pub idmap_recursive: bool,
    /// `tmpcopyup` (tmpfs only): the new tmpfs starts with a copy of what it covers.
    pub copy_up: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            bind: false,
            recursive: false,
            flags: MsFlags::empty(),
            attr_set: 0,
            attr_clr: 0,
            rec_attr_set: 0,
            rec_attr_clr: 0,
            propagation: Vec::new(),
            data: String::new(),
            idmap: false,
            idmap_recursive: false,
            copy_up: false,
        }
    }
}

impl MountOptions {
    /// True when a bind mount needs a mount_setattr(2) on its top mount.
    pub fn has_attrs(&self) -> bool {
        self.attr_set != 0 || self.attr_clr != 0
    }
    /// True when a recursive mount_setattr(2) is needed.
    pub fn has_rec_attrs(&self) -> bool {
        self.rec_attr_set != 0 || self.rec_attr_clr != 0
    }
}

const ATIME_MASK: u64 = libc::MOUNT_ATTR__ATIME;

#[derive(Clone, Copy)]
enum Opt {
    /// Accepted, no effect (`defaults`).
    Nop,
    /// Set a flag; `attr` is the matching mount attribute (0 if none).
    Set(libc::c_ulong, u64),
    /// Clear a flag; `attr` is the matching attribute to clear.
    Clear(libc::c_ulong, u64),
    /// An atime mode: set the flag, replace the attribute's atime bits.
    Atime(libc::c_ulong, u64),
    Prop(libc::c_ulong),
    Bind(bool),
    /// Recursive attribute: (set, clear).
    Rec(u64, u64),
    /// Id-mapped bind mount; true for the whole tree (`ridmap`).
    Idmap(bool),
}

/// Every option name berth understands, with what it does. `features`
/// reports these names, so what it advertises is what this table parses.
#[rustfmt::skip]
const OPTIONS: &[(&str, Opt)] = {
    use Opt::*;
    &[
        ("defaults", Nop),
        ("ro", Set(libc::MS_RDONLY, libc::MOUNT_ATTR_RDONLY)),
        ("rw", Clear(libc::MS_RDONLY, libc::MOUNT_ATTR_RDONLY)),
        ("nosuid", Set(libc::MS_NOSUID, libc::MOUNT_ATTR_NOSUID)),
        ("suid", Clear(libc::MS_NOSUID, libc::MOUNT_ATTR_NOSUID)),
        ("nodev", Set(libc::MS_NODEV, libc::MOUNT_ATTR_NODEV)),
        ("dev", Clear(libc::MS_NODEV, libc::MOUNT_ATTR_NODEV)),
        ("noexec", Set(libc::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC)),
        ("exec", Clear(libc::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC)),
        ("nosymfollow", Set(libc::MS_NOSYMFOLLOW, libc::MOUNT_ATTR_NOSYMFOLLOW)),
        ("symfollow", Clear(libc::MS_NOSYMFOLLOW, libc::MOUNT_ATTR_NOSYMFOLLOW)),
        ("nodiratime", Set(libc::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME)),
        ("diratime", Clear(libc::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME)),
        ("noatime", Atime(libc::MS_NOATIME, libc::MOUNT_ATTR_NOATIME)),
        ("relatime", Atime(libc::MS_RELATIME, libc::MOUNT_ATTR_RELATIME)),
        ("strictatime", Atime(libc::MS_STRICTATIME, libc::MOUNT_ATTR_STRICTATIME)),
        // Turning one atime mode off falls back to the kernel default (relatime).
        ("atime", Clear(libc::MS_NOATIME, 0)),
        ("norelatime", Clear(libc::MS_RELATIME, 0)),
        ("nostrictatime", Clear(libc::MS_STRICTATIME, 0)),
        // Superblock flags: meaningful for new mounts only, bind mounts ignore them.
        ("sync", Set(libc::MS_SYNCHRONOUS, 0)),
        ("async", Clear(libc::MS_SYNCHRONOUS, 0)),
        ("dirsync", Set(libc::MS_DIRSYNC, 0)),
        ("mand", Set(libc::MS_MANDLOCK, 0)),
        ("nomand", Clear(libc::MS_MANDLOCK, 0)),
        ("silent", Set(libc::MS_SILENT, 0)),
        ("loud", Clear(libc::MS_SILENT, 0)),
        ("iversion", Set(libc::MS_I_VERSION, 0)),
        ("noiversion", Clear(libc::MS_I_VERSION, 0)),
        ("lazytime", Set(libc::MS_LAZYTIME, 0)),
        ("nolazytime", Clear(libc::MS_LAZYTIME, 0)),
        ("bind", Bind(false)),
        ("rbind", Bind(true)),
        ("private", Prop(libc::MS_PRIVATE)),
        ("rprivate", Prop(libc::MS_PRIVATE | libc::MS_REC)),
        ("shared", Prop(libc::MS_SHARED)),
        ("rshared", Prop(libc::MS_SHARED | libc::MS_REC)),
        ("slave", Prop(libc::MS_SLAVE)),
        ("rslave", Prop(libc::MS_SLAVE | libc::MS_REC)),
        ("unbindable", Prop(libc::MS_UNBINDABLE)),
        ("runbindable", Prop(libc::MS_UNBINDABLE | libc::MS_REC)),
        ("rro", Rec(libc::MOUNT_ATTR_RDONLY, 0)),
        ("rrw", Rec(0, libc::MOUNT_ATTR_RDONLY)),
        ("rnosuid", Rec(libc::MOUNT_ATTR_NOSUID, 0)),
        ("rsuid", Rec(0, libc::MOUNT_ATTR_NOSUID)),
        ("rnodev", Rec(libc::MOUNT_ATTR_NODEV, 0)),
        ("rdev", Rec(0, libc::MOUNT_ATTR_NODEV)),
        ("rnoexec", Rec(libc::MOUNT_ATTR_NOEXEC, 0)),
        ("rexec", Rec(0, libc::MOUNT_ATTR_NOEXEC)),
        ("rnodiratime", Rec(libc::MOUNT_ATTR_NODIRATIME, 0)),
        ("rdiratime", Rec(0, libc::MOUNT_ATTR_NODIRATIME)),
        ("rnosymfollow", Rec(libc::MOUNT_ATTR_NOSYMFOLLOW, 0)),
        ("rsymfollow", Rec(0, libc::MOUNT_ATTR_NOSYMFOLLOW)),
        ("rnoatime", Rec(libc::MOUNT_ATTR_NOATIME, ATIME_MASK)),
        ("rrelatime", Rec(libc::MOUNT_ATTR_RELATIME, ATIME_MASK)),
        ("rstrictatime", Rec(libc::MOUNT_ATTR_STRICTATIME, ATIME_MASK)),
        ("ratime", Rec(libc::MOUNT_ATTR_RELATIME, ATIME_MASK)),
        ("rnorelatime", Rec(libc::MOUNT_ATTR_RELATIME, ATIME_MASK)),
        ("rnostrictatime", Rec(libc::MOUNT_ATTR_RELATIME, ATIME_MASK)),
        ("idmap", Idmap(false)),
        ("ridmap", Idmap(true)),
    ]
};

fn lookup(name: &str) -> Option<Opt> {
    OPTIONS.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

/// The option names `parse` accepts as flags, propagation, bind or recursive attributes.
pub fn known_options() -> Vec<&'static str> {
    let mut names: Vec<&str> = OPTIONS.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names
}

/// Which data options a file-system type takes: bare words and `key=` keys.
/// `None` means the type is not one berth knows; its data is passed through
/// to the kernel unchecked (beyond the syntax rules in [`parse`]).
fn data_rules(typ: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match typ {
        "tmpfs" => (
            &[
                "noswap", "inode32", "inode64", "quota", "usrquota", "grpquota",
            ],
            &[
                "size",
                "nr_blocks",
                "nr_inodes",
                "mode",
                "uid",
                "gid",
                "huge",
                "mpol",
            ],
        ),
        "devpts" => (&["newinstance"], &["mode", "ptmxmode", "gid", "uid", "max"]),
        "proc" => (&[], &["hidepid", "gid", "subset"]),
        "sysfs" | "mqueue" | "bind" | "none" => (&[], &[]),
        "cgroup" | "cgroup2" => (
            &[
                "nsdelegate",
                "memory_localevents",
                "memory_recursiveprot",
                "memory_hugetlb_accounting",
                "favordynmods",
                "pids_localevents",
            ],
            &[],
        ),
        _ => return None,
    })
}

fn check_value(typ: &str, key: &str, value: &str) -> Result<(), String> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match key {
        "mode" | "ptmxmode" => {
            !value.is_empty()
                && value.len() <= 5
                && value.bytes().all(|b| (b'0'..=b'7').contains(&b))
                && u32::from_str_radix(value, 8).is_ok_and(|m| m <= 0o7777)
        }
        "uid" | "gid" | "max" => digits(value) && value.parse::<u32>().is_ok(),
        "size" | "nr_blocks" | "nr_inodes" => {
            let num = value
                .strip_suffix(|c: char| "kKmMgGtTpPeE%".contains(c))
                .unwrap_or(value);
            digits(num) && num.parse::<u64>().is_ok() && !(key != "size" && value.ends_with('%'))
        }
        "huge" => matches!(
            value,
            "never" | "always" | "within_size" | "advise" | "deny" | "force"
        ),
        "hidepid" => matches!(
            value,
            "0" | "1" | "2" | "4" | "off" | "noaccess" | "invisible" | "ptraceable"
        ),
        "subset" => value == "pid",
        "mpol" => !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value {value:?} for {typ} option {key:?}"))
    }
}

/// Parse the options of one mount of type `typ` (None when the mount has no
/// type, which is only valid for bind mounts). Returns a message naming the
/// offending option on error; the caller prefixes the field.
pub fn parse(typ: Option<&str>, options: &[String]) -> Result<MountOptions, String> {
    let mut out = MountOptions::default();
    let mut flags: libc::c_ulong = 0;
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        if opt.is_empty() {
            return Err("empty mount option".into());
        }
        if opt
            .bytes()
            .any(|b| b == b',' || b == 0 || b.is_ascii_control())
        {
            return Err(format!(
                "mount option {opt:?} contains a comma or control character"
            ));
        }
        match lookup(opt) {
            Some(Opt::Nop) => {}
            Some(Opt::Set(f, attr)) => {
                flags |= f;
                out.attr_set |= attr;
                out.attr_clr &= !attr;
            }
            Some(Opt::Clear(f, attr)) => {
                flags &= !f;
                out.attr_clr |= attr;
                out.attr_set &= !attr;
            }
            Some(Opt::Atime(f, attr)) => {
                flags &= !(libc::MS_NOATIME | libc::MS_RELATIME | libc::MS_STRICTATIME);
                flags |= f;
                out.attr_set = (out.attr_set & !ATIME_MASK) | attr;
                out.attr_clr |= ATIME_MASK;
            }
            Some(Opt::Prop(p)) => out.propagation.push(MsFlags::from_bits_retain(p)),
            Some(Opt::Bind(rec)) => {
                out.bind = true;
                out.recursive |= rec;
            }
            Some(Opt::Rec(set, clr)) => {
                out.rec_attr_set = (out.rec_attr_set & !clr) | set;
                out.rec_attr_clr = (out.rec_attr_clr & !set) | clr;
            }
            Some(Opt::Idmap(rec)) => {
                out.idmap = true;
                out.idmap_recursive |= rec;
            }
            None => {
                if opt == "tmpcopyup" {
                    if typ != Some("tmpfs") {
                        return Err("mount option \"tmpcopyup\" is only for tmpfs mounts".into());
                    }
                    out.copy_up = true;
                    continue;
                }
                if opt == "remount" {
                    return Err(
                        "mount option \"remount\" is not supported in config.json mounts".into(),
                    );
                }
                data.push(opt);
            }
        }
    }
    // An atime clear only means something when no mode was chosen; it maps to relatime.
    if out.attr_clr & ATIME_MASK != 0 && out.attr_set & ATIME_MASK == 0 {
        out.attr_set &= !ATIME_MASK;
    }
    if typ == Some("bind") {
        out.bind = true;
    }
    if out.idmap && !out.bind {
        return Err("id-mapped mounts (idmap, ridmap) are only supported for bind mounts".into());
    }
    let effective = match (typ, out.bind) {
        (_, true) => "bind",
        (Some(t), false) => t,
        (None, false) => {
            return Err(
                "mount has no type and is not a bind mount (add \"bind\" or \"rbind\")".into(),
            )
        }
    };
    if let Some((bare, keyed)) = data_rules(effective) {
        for d in &data {
            match d.split_once('=') {
                Some((k, v)) if keyed.contains(&k) => check_value(effective, k, v)?,
                None if bare.contains(d) => {}
                // A bind mount takes no data; runc passes it to the kernel, which
                // ignores it (configs carry e.g. `mode=755` on binds), so do we.
                _ if effective == "bind" => {
                    log::debug!("mount option {d:?} has no meaning for a bind mount; ignored");
                }
                _ => {
                    return Err(format!(
                        "unknown mount option {d:?} for a {effective} mount"
                    ))
                }
            }
        }
    } else {
        for d in &data {
            if d.starts_with('=') {
                return Err(format!("mount option {d:?} has no key"));
            }
        }
    }
    out.flags = MsFlags::from_bits_retain(flags);
    out.data = data.join(",");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(typ: Option<&str>, o: &[&str]) -> Result<MountOptions, String> {
        parse(typ, &o.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn docker_tmpfs_dev() {
        let m = p(
            Some("tmpfs"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )
        .unwrap();
        assert!(!m.bind);
        assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(m.data, "mode=755,size=65536k");
        assert!(m.propagation.is_empty());
    }

    #[test]
    fn bind_ro_with_propagation() {
        let m = p(
            Some("bind"),
            &["rbind", "rprivate", "ro", "nosuid", "nodev"],
        )
        .unwrap();
        assert!(m.bind && m.recursive);
        assert_eq!(
            m.attr_set,
            libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV
        );
        assert_eq!(m.attr_clr, 0);
        assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
        assert_eq!(m.data, "");
    }

    #[test]
    fn later_option_wins() {
        let m = p(None, &["bind", "ro", "rw"]).unwrap();
        assert_eq!(m.attr_set & libc::MOUNT_ATTR_RDONLY, 0);
        assert_eq!(m.attr_clr, libc::MOUNT_ATTR_RDONLY);
        assert!(!m.flags.contains(MsFlags::MS_RDONLY));
        let m = p(Some("tmpfs"), &["noatime", "relatime"]).unwrap();
        assert_eq!(m.flags, MsFlags::MS_RELATIME);
    }

    #[test]
    fn atime_attrs_replace_mode() {
        let m = p(None, &["bind", "noatime"]).unwrap();
        assert_eq!(m.attr_set, libc::MOUNT_ATTR_NOATIME);
        assert_eq!(m.attr_clr, libc::MOUNT_ATTR__ATIME);
        let m = p(None, &["bind", "rnoexec", "rexec", "rro"]).unwrap();
        assert_eq!(m.rec_attr_set, libc::MOUNT_ATTR_RDONLY);
        assert_eq!(m.rec_attr_clr, libc::MOUNT_ATTR_NOEXEC);
    }

    #[test]
    fn propagation_order_kept() {
        let m = p(Some("tmpfs"), &["shared", "rslave", "unbindable"]).unwrap();
        assert_eq!(
            m.propagation,
            vec![
                MsFlags::MS_SHARED,
                MsFlags::MS_SLAVE | MsFlags::MS_REC,
                MsFlags::MS_UNBINDABLE
            ]
        );
    }

    #[test]
    fn devpts_options() {
        let m = p(
            Some("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )
        .unwrap();
        assert_eq!(m.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
    }

    #[test]
    fn refuses_unknown_and_bad_values() {
        // A bind mount takes no data: the kernel ignores it, and so does berth (as runc).
        assert!(p(Some("bind"), &["bind", "mode=755"]).is_ok());
        assert!(p(Some("tmpfs"), &["bogus"]).unwrap_err().contains("bogus"));
        assert!(p(Some("tmpfs"), &["mode=999"])
            .unwrap_err()
            .contains("mode"));
        assert!(p(Some("tmpfs"), &["mode=07777"]).is_ok());
        assert!(p(Some("tmpfs"), &["mode=17777"]).is_err());
        assert!(p(Some("tmpfs"), &["size=12x"]).is_err());
        assert!(p(Some("tmpfs"), &["size=50%"]).is_ok());
        assert!(p(Some("tmpfs"), &["nr_inodes=5%"]).is_err());
        assert!(p(Some("tmpfs"), &["uid=-1"]).is_err());
        assert!(p(Some("proc"), &["hidepid=invisible"]).is_ok());
        assert!(p(Some("proc"), &["hidepid=7"]).is_err());
        assert!(p(Some("sysfs"), &["mode=755"]).is_err());
        assert!(p(Some("tmpfs"), &["size=1k,mode=777"])
            .unwrap_err()
            .contains("comma"));
        assert!(p(Some("tmpfs"), &[""]).is_err());
        assert!(p(Some("tmpfs"), &["mode=7\u{0}"]).is_err());
        assert!(p(None, &["ro"]).unwrap_err().contains("no type"));
        assert!(p(Some("tmpfs"), &["idmap"])
            .unwrap_err()
            .contains("bind mounts"));
        assert!(p(Some("tmpfs"), &["remount"]).is_err());
    }

    #[test]
    fn tmpcopyup_is_a_tmpfs_option_not_data() {
        let m = p(Some("tmpfs"), &["tmpcopyup", "mode=755"]).unwrap();
        assert!(m.copy_up);
        assert_eq!(m.data, "mode=755");
        assert!(p(None, &["bind", "tmpcopyup"]).is_err());
    }

    #[test]
    fn idmap_options() {
        let m = p(None, &["rbind", "idmap"]).unwrap();
        assert!(m.idmap && !m.idmap_recursive && m.recursive);
        let m = p(Some("bind"), &["ridmap"]).unwrap();
        assert!(m.idmap && m.idmap_recursive);
        assert_eq!(m.data, "");
        assert!(!p(None, &["bind"]).unwrap().idmap);
    }

    #[test]
    fn unknown_fs_type_passes_data_through() {
        let m = p(
            Some("overlay"),
            &["lowerdir=/a:/b", "upperdir=/u", "workdir=/w", "ro"],
        )
        .unwrap();
        assert_eq!(m.data, "lowerdir=/a:/b,upperdir=/u,workdir=/w");
        assert_eq!(m.flags, MsFlags::MS_RDONLY);
        assert!(p(Some("overlay"), &["=x"]).is_err());
    }
}
