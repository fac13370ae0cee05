//! Thin wrappers over control-file reads and writes that attach the path and value to errors.

use crate::error::{Error, Result};
use std::path::Path;

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads a control file that may legitimately be absent (kernel config, v1 vs v2).
pub(crate) fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Control files take one value per write(2); std::fs::write does open+write+close without
/// truncation semantics mattering for cgroupfs.
pub(crate) fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).map_err(|source| Error::Write {
        path: path.to_owned(),
        value: value.to_owned(),
        source,
    })
}

pub(crate) fn parse_u64(path: &Path, s: &str) -> Result<u64> {
    let t = s.trim();
    if t == "max" {
        return Ok(u64::MAX);
    }
    t.parse()
        .map_err(|e: std::num::ParseIntError| Error::Parse {
            path: path.to_owned(),
            value: t.to_owned(),
            reason: e.to_string(),
        })
}

pub(crate) fn read_u64(path: &Path) -> Result<u64> {
    parse_u64(path, &read(path)?)
}

/// Reads "key value" lines (memory.stat, cpu.stat, memory.events, ...).
pub(crate) fn read_flat_keyed(path: &Path) -> Result<Vec<(String, u64)>> {
    let text = read(path)?;
    let mut out = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        if let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k.to_owned(), parse_u64(path, v)?));
        }
    }
    Ok(out)
}

pub(crate) fn keyed(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or(0)
}
