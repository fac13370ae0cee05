//! Facts about host processes read from /proc: start time (to tell a live
//! init from a recycled pid) and run state.

use std::fs;

/// (state char, start time in clock ticks since boot) of `pid`, or None if it is gone.
pub fn stat(pid: i32) -> Option<(char, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // field 3 is state; starttime is field 22, i.e. the 20th after state.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// True if `pid` is alive, not a zombie, and is the process that started at `start_time`.
pub fn is_same_live_process(pid: i32, start_time: u64) -> bool {
    matches!(stat(pid), Some((s, t)) if t == start_time && s != 'Z' && s != 'X')
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_stat() {
        let (state, start) = super::stat(std::process::id() as i32).unwrap();
        assert!(state == 'R' || state == 'S', "{state}");
        assert!(start > 0);
        assert!(super::is_same_live_process(
            std::process::id() as i32,
            start
        ));
        assert!(!super::is_same_live_process(
            std::process::id() as i32,
            start + 1
        ));
    }
}
