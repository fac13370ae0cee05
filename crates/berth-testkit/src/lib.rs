//! How berth's tests skip. A test that cannot run here calls [`skip`] and
//! returns; the harness would still print `ok` for it, so the skip is also
//! appended as a line to `$BERTH_SKIP_LOG`, which scripts/test.sh counts for
//! its closing `N passed, M failed, K skipped` line.
//!
//! With `BERTH_NO_SKIP=1` (set by .ci/run: CI machines meet every test's
//! requirements) a skip is a test failure instead, except through
//! [`skip_even_in_ci`], kept for what CI cannot provide by itself.

use std::io::Write;

/// Skips the calling test: visibly, counted, and as a failure under `BERTH_NO_SKIP=1`.
pub fn skip(why: &str) {
    if no_skip() {
        panic!("this test would skip ({why}), but BERTH_NO_SKIP=1 says this machine must run it");
    }
    record(why);
}

/// Skips the calling test even under `BERTH_NO_SKIP=1`: only for a requirement
/// outside the machine (Debian's archive unreachable, a foreign daemon in the way).
pub fn skip_even_in_ci(why: &str) {
    record(why);
}

fn no_skip() -> bool {
    std::env::var("BERTH_NO_SKIP").is_ok_and(|v| v == "1")
}

/// libtest names each test's thread after the test.
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed test")
        .to_string()
}

fn record(why: &str) {
    let line = format!("SKIP {}: {why}", test_name());
    eprintln!("{line}");
    if let Ok(path) = std::env::var("BERTH_SKIP_LOG") {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        if let Ok(mut f) = file {
            // One write per line: tests in parallel do not interleave within a line.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}
