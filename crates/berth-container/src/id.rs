//! Container ids: they name a directory under the state root, so they must
//! never contain a path separator or a `..` that could walk out of it.

use crate::{invalid, Result};

pub fn validate(id: &str) -> Result<()> {
    if id.is_empty() {
        return invalid!("container id", "", "cannot be empty");
    }
    if id.len() > 1024 {
        return invalid!(
            "container id",
            format!("{}...", &id[..32]),
            "longer than 1024 bytes"
        );
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-');
    if !id.chars().all(allowed) || id.contains("..") || id == "." {
        return invalid!(
            "container id",
            id,
            "only [A-Za-z0-9_.+-] allowed, and no \"..\""
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_runc_style_ids() {
        for id in ["a", "web-1", "x_y.z+1", "0123456789abcdef"] {
            assert!(validate(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn refuses_paths_and_empty() {
        for id in ["", ".", "..", "a/b", "../x", "a..b", "sp ace", "é", "a\0b"] {
            assert!(validate(id).is_err(), "{id:?}");
        }
    }
}
