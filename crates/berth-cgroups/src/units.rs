//! Values people type (docker-style sizes) and runc's v1 -> v2 numeric conversions.

use crate::error::{invalid, Result};

/// Parses a docker-style size: a decimal integer with an optional unit `b`, `k`, `m`, `g`
/// (any case, optionally followed by `b`, so `512kb` is accepted as docker does).
/// A bare number is bytes; `-1` means unlimited.
pub fn parse_memory_size(s: &str) -> Result<i64> {
    let field = "memory size";
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    if num.is_empty() {
        return Err(invalid(
            field,
            s,
            "expected a number of bytes with optional unit b, k, m or g",
        ));
    }
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" => 10,
        "m" | "mb" => 20,
        "g" | "gb" => 30,
        _ => {
            return Err(invalid(
                field,
                s,
                format!("unknown unit {unit:?} (use b, k, m or g)"),
            ))
        }
    };
    let n: i64 = num
        .parse()
        .map_err(|_| invalid(field, s, "number too large"))?;
    n.checked_mul(1i64 << shift)
        .ok_or_else(|| invalid(field, s, "size overflows 64 bits"))
}

/// runc's conversion of v1 cpu shares [2, 262144] to v2 cpu.weight [1, 10000].
/// 0 stays 0 ("not set"); out-of-range inputs are clamped to the v1 range first.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// runc's conversion of a v1 blkio weight [10, 1000] to v2 io.weight [1, 10000].
pub(crate) fn blkio_weight_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_memory_size("1024m").unwrap(), 1 << 30);
        assert_eq!(parse_memory_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory_size("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_memory_size("512KB").unwrap(), 512 * 1024);
        assert_eq!(parse_memory_size("100b").unwrap(), 100);
        assert_eq!(parse_memory_size("100").unwrap(), 100);
        assert_eq!(parse_memory_size("-1").unwrap(), -1);
        assert_eq!(parse_memory_size(" 2M ").unwrap(), 2 << 20);
    }

    #[test]
    fn bad_sizes_name_the_value() {
        for bad in [
            "",
            "m",
            "1t",
            "1.5g",
            "-2",
            "--1",
            "1 g",
            "99999999999999999999",
            "9000000000g",
            "1gg",
        ] {
            let e = parse_memory_size(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn weights_match_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
    }
}
