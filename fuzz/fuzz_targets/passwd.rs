//! A container's /etc/passwd and /etc/group are the image's, so untrusted:
//! lookups must never panic; a home directory found is one field of one line;
//! `exec --user` resolves only to what it names or the files list, and its
//! errors are one line.
//!
//! Input: the first line is the `--user` value (also tried as a uid for
//! `home_of`), then the passwd text, then, after a line `--`, the group text.
#![no_main]

use berth_container::passwd::{home_of, lookup_user};
use libfuzzer_sys::fuzz_target;

const DEFAULT_GID: u32 = 4_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (spec, files) = text.split_once('\n').unwrap_or((text, ""));
    let (passwd, group) = files.split_once("\n--\n").unwrap_or((files, ""));

    let uid_guess = spec
        .split(':')
        .next()
        .and_then(|u| u.parse().ok())
        .unwrap_or(0);
    for uid in [uid_guess, 0, 65534] {
        if let Some(home) = home_of(passwd, uid) {
            assert!(!home.contains(':') && !home.contains('\n'), "home {home:?}");
            assert!(
                passwd
                    .lines()
                    .any(|l| l.split(':').nth(5) == Some(home.as_str())),
                "home {home:?} is no line's home field"
            );
        }
    }

    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    match lookup_user(passwd, group, spec, DEFAULT_GID) {
        Ok((uid, gid)) => {
            match user.parse::<u32>() {
                Ok(n) => assert_eq!(uid, n),
                Err(_) => {
                    let line = passwd
                        .lines()
                        .find(|l| l.split(':').next() == Some(user) && l.split(':').count() >= 4)
                        .expect("a user found by name has a passwd line");
                    assert_eq!(
                        line.split(':').nth(2).and_then(|u| u.parse().ok()),
                        Some(uid)
                    );
                }
            }
            match grp.map(|g| (g, g.parse::<u32>())) {
                Some((_, Ok(n))) => assert_eq!(gid, n),
                Some((g, Err(_))) => assert!(
                    group.lines().any(|l| l.split(':').next() == Some(g)
                        && l.split(':').nth(2).and_then(|x| x.parse().ok()) == Some(gid)),
                    "gid {gid} is not group {g:?}'s"
                ),
                None if user.parse::<u32>().is_ok() => assert_eq!(gid, DEFAULT_GID),
                None => {}
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error {msg:?}");
            assert!(
                msg.contains(user) || grp.is_some_and(|g| msg.contains(g)),
                "{msg:?}"
            );
        }
    }
});
