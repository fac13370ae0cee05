//! The container's `/etc/passwd` and `/etc/group`, read as text: the home
//! directory of a uid (HOME of the process) and `exec --user NAME[:GROUP]`.
//!
//! Both files belong to the container image, so they are untrusted input. The
//! functions here only parse: the caller reads the files inside the
//! container's mount namespace and hands over their contents, which lets the
//! fuzz target (`fuzz/fuzz_targets/passwd.rs`) reach them. A missing or
//! unreadable file is the empty string.
//!
//! Lines are `:`-separated fields, as glibc reads them: passwd is
//! `name:password:uid:gid:gecos:home:shell`, group is `name:password:gid:members`.
//! The first matching line wins; lines with too few fields are skipped.

use crate::{Error, Result};

/// Home directory of `uid`: the sixth field of the first passwd line whose
/// uid field is `uid`, if any.
pub fn home_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
    })
}

/// Resolves `exec --user` given as `USER[:GROUP]`, where USER and GROUP are
/// each a name or a number, to `(uid, gid)`.
///
/// A user given by name takes its uid and, unless a group is named, its gid
/// from `passwd`; a numeric uid keeps `default_gid` (the process's gid). A
/// group name is looked up in `group`; a number is taken as the gid.
///
/// A name that is not listed is `Invalid` with field `--user` and runc's text
/// (`unable to find user NAME: no matching entries in passwd file`) as the reason.
pub fn lookup_user(passwd: &str, group: &str, spec: &str, default_gid: u32) -> Result<(u32, u32)> {
    let (user, group_spec) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, None),
        Err(_) => {
            let entry = passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 4 && f[0] == user)
                .ok_or_else(|| {
                    Error::invalid(
                        "--user",
                        user,
                        format!("unable to find user {user}: no matching entries in passwd file"),
                    )
                })?;
            let bad = |what: &str, v: &str| {
                Error::invalid("/etc/passwd", v, format!("bad {what} for user {user}"))
            };
            let uid = entry[2].parse().map_err(|_| bad("uid", entry[2]))?;
            let gid = entry[3].parse().map_err(|_| bad("gid", entry[3]))?;
            (uid, Some(gid))
        }
    };
    let gid = match group_spec {
        None => primary.unwrap_or(default_gid),
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => group
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    Error::invalid(
                        "--user",
                        spec,
                        format!("unable to find group {g}: no matching entries in group file"),
                    )
                })?,
        },
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
short:x:7
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1001::/home/app:/bin/sh
again:x:1000:5::/home/again:/bin/sh
baduid:x:12a:5::/home/b:/bin/sh
badgid:x:13:-1::/home/b:/bin/sh
noshell:x:14:14
";
    const GROUP: &str = "\
root:x:0:
wheel:x:10:app
tiny:x
broken:x:nan:
staff:x:50:
";

    fn err(spec: &str) -> String {
        lookup_user(PASSWD, GROUP, spec, 99)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn home_is_the_sixth_field_of_the_first_line_with_the_uid() {
        assert_eq!(home_of(PASSWD, 0).as_deref(), Some("/root"));
        assert_eq!(home_of(PASSWD, 65534).as_deref(), Some("/nonexistent"));
        // uid 1000 is listed twice: the first line wins.
        assert_eq!(home_of(PASSWD, 1000).as_deref(), Some("/home/app"));
        // Listed, but with fewer than six fields; or not listed at all.
        assert_eq!(home_of(PASSWD, 14), None);
        assert_eq!(home_of(PASSWD, 7), None);
        assert_eq!(home_of(PASSWD, 4242), None);
        assert_eq!(home_of("", 0), None);
        // An empty home field is a home of "".
        assert_eq!(home_of("u:x:3:3::::", 3).as_deref(), Some(""));
    }

    #[test]
    fn a_name_takes_uid_and_gid_from_passwd() {
        assert_eq!(lookup_user(PASSWD, GROUP, "app", 99).unwrap(), (1000, 1001));
        assert_eq!(lookup_user(PASSWD, GROUP, "root", 99).unwrap(), (0, 0));
        // Four fields are enough for a lookup by name.
        assert_eq!(lookup_user(PASSWD, GROUP, "noshell", 99).unwrap(), (14, 14));
    }

    #[test]
    fn a_number_keeps_the_default_gid() {
        assert_eq!(lookup_user(PASSWD, GROUP, "1000", 99).unwrap(), (1000, 99));
        // A numeric uid need not be listed at all.
        assert_eq!(lookup_user("", "", "4242", 7).unwrap(), (4242, 7));
    }

    #[test]
    fn a_group_overrides_the_gid() {
        assert_eq!(
            lookup_user(PASSWD, GROUP, "app:wheel", 99).unwrap(),
            (1000, 10)
        );
        assert_eq!(
            lookup_user(PASSWD, GROUP, "app:123", 99).unwrap(),
            (1000, 123)
        );
        assert_eq!(
            lookup_user(PASSWD, GROUP, "1000:staff", 99).unwrap(),
            (1000, 50)
        );
        assert_eq!(lookup_user("", "", "5:6", 99).unwrap(), (5, 6));
    }

    #[test]
    fn errors_name_the_missing_user_or_group() {
        assert_eq!(
            err("ghost"),
            "--user \"ghost\": unable to find user ghost: no matching entries in passwd file"
        );
        assert!(matches!(
            lookup_user(PASSWD, GROUP, "ghost", 99),
            Err(Error::Invalid { field, value, .. }) if field == "--user" && value == "ghost"
        ));
        // A line with fewer than four fields cannot match.
        assert!(
            err("short").ends_with("unable to find user short: no matching entries in passwd file")
        );
        assert_eq!(
            err("app:ghosts"),
            "--user \"app:ghosts\": unable to find group ghosts: no matching entries in group file"
        );
        // Too few fields, or a gid that is not a number: not found either.
        assert!(err("app:tiny")
            .ends_with("unable to find group tiny: no matching entries in group file"));
        assert!(err("app:broken")
            .ends_with("unable to find group broken: no matching entries in group file"));
        assert_eq!(
            err("baduid"),
            "/etc/passwd \"12a\": bad uid for user baduid"
        );
        assert_eq!(err("badgid"), "/etc/passwd \"-1\": bad gid for user badgid");
        // The user is looked up before the group.
        assert!(err("ghost:wheel")
            .ends_with("unable to find user ghost: no matching entries in passwd file"));
    }
}
