//! Validation of the names berth-net turns into interface names, file names,
//! nft comments and hosts-file entries.

use crate::{Error, Result};

/// Linux's limit on interface names (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// A bridge name must be a valid Linux interface name.
pub fn check_bridge_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        what: "bridge name",
        value: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name.len() > IFNAME_MAX {
        return Err(bad("longer than 15 bytes"));
    }
    if name == "." || name == ".." {
        return Err(bad("not a usable interface name"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(bad("only letters, digits, '-', '_' and '.' are allowed"));
    }
    Ok(())
}

/// A container id: becomes a file name and part of an nft comment.
pub fn check_container_id(id: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        what: "container id",
        value: id.to_string(),
        reason: reason.to_string(),
    };
    if id.is_empty() {
        return Err(bad("empty"));
    }
    if id.len() > 100 {
        return Err(bad("longer than 100 bytes"));
    }
    if id == "." || id == ".." || id.starts_with('.') {
        return Err(bad("may not start with '.'"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(bad("only letters, digits, '-', '_' and '.' are allowed"));
    }
    Ok(())
}

/// A host name as it may appear in `/etc/hosts` and as a UTS hostname:
/// dot-separated labels of letters, digits, '-' and '_', at most 253 bytes.
pub fn check_hostname(what: &'static str, name: &str) -> Result<()> {
    let bad = |reason: &str| Error::InvalidName {
        what,
        value: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() || name.len() > 253 {
        return Err(bad("must be 1 to 253 bytes"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each dot-separated label must be 1 to 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("only letters, digits, '-', '_' and '.' are allowed"));
        }
        if label.starts_with('-') {
            return Err(bad("a label may not start with '-'"));
        }
    }
    Ok(())
}

/// A resolv.conf word (search domain or option): printable, no whitespace.
pub fn check_resolv_word(what: &'static str, word: &str) -> Result<()> {
    if word.is_empty()
        || word.len() > 253
        || !word
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'#' && b != b';')
    {
        return Err(Error::InvalidName {
            what,
            value: word.to_string(),
            reason: "must be 1 to 253 printable characters without spaces, '#' or ';'".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names() {
        assert!(check_bridge_name("berth0").is_ok());
        assert!(check_bridge_name("fifteen-chars-x").is_ok());
        let e = check_bridge_name("sixteen-chars-xx").unwrap_err();
        assert!(
            e.to_string().contains("sixteen-chars-xx") && e.to_string().contains("15"),
            "{e}"
        );
        for bad in ["", "a b", "a/b", "..", "é"] {
            assert!(check_bridge_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_hostnames() {
        assert!(check_container_id("abc-123_x.y").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(101)] {
            assert!(check_container_id(bad).is_err(), "{bad}");
        }
        assert!(check_hostname("hostname", "web.example_1").is_ok());
        for bad in ["", "a..b", "-a", "a b", "a\nb", &"x".repeat(64)] {
            assert!(check_hostname("hostname", bad).is_err(), "{bad}");
        }
        assert!(check_resolv_word("dns option", "ndots:2").is_ok());
        assert!(check_resolv_word("dns option", "a b").is_err());
    }
}
