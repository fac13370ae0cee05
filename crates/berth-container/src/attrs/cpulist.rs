//! The kernel's list format for CPU and NUMA node sets ("0-3,5,7-9"), as the
//! runtime spec uses it for `linux.memoryPolicy.nodes` and CPU affinities.

/// The highest id accepted: a bogus "0-4000000000" must not allocate gigabytes.
pub const MAX_ID: u32 = 64 * 1024;

/// A set of ids as a bitmap of 64-bit words (bit n of word n / 64 is id n).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdSet {
    pub words: Vec<u64>,
}

impl IdSet {
    pub fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    pub fn contains(&self, id: u32) -> bool {
        self.words
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

/// Parses a list: comma-separated ids and `a-b` ranges; spaces around an
/// element and empty elements are allowed (as runc allows them). An empty
/// string is the empty set.
pub fn parse(list: &str) -> Result<IdSet, String> {
    let mut ranges = Vec::new();
    for elem in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (lo, hi) = match elem.split_once('-') {
            Some((a, b)) => (id(a)?, id(b)?),
            None => (id(elem)?, id(elem)?),
        };
        if lo > hi {
            return Err(format!("invalid range {elem:?}"));
        }
        ranges.push((lo, hi));
    }
    if ranges.is_empty() && !list.trim().is_empty() {
        return Err(format!("no members in {list:?}"));
    }
    let top = ranges.iter().map(|r| r.1).max();
    let mut set = IdSet {
        words: vec![0; top.map_or(0, |t| t as usize / 64 + 1)],
    };
    for (lo, hi) in ranges {
        for n in lo..=hi {
            set.words[n as usize / 64] |= 1 << (n % 64);
        }
    }
    Ok(set)
}

fn id(s: &str) -> Result<u32, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a non-negative number"))?;
    if n > MAX_ID as u64 {
        return Err(format!("ids above {MAX_ID} are not supported"));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ranges_and_spacing() {
        let s = parse("0-2, 5,,64").unwrap();
        assert_eq!(s.count(), 5);
        assert!(s.contains(0) && s.contains(2) && s.contains(5) && s.contains(64));
        assert!(!s.contains(3) && !s.contains(63));
        assert_eq!(s.words.len(), 2);
        assert_eq!(parse("").unwrap().count(), 0);
        for bad in ["3-1", "x", "-1", "0-9876543210", ",", "1-"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
