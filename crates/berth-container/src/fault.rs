//! Crash points for the crash-safety tests. In debug builds,
//! `BERTH_CRASH_AT=<name>` makes the runtime SIGKILL itself when it reaches
//! the point of that name, as an engine killing it would; `delete -f` must
//! then undo everything. Release builds compile every point to nothing.

/// Dies here when `BERTH_CRASH_AT` names this point (debug builds only).
#[inline(always)]
pub(crate) fn point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("BERTH_CRASH_AT").is_some_and(|v| v == name) {
        // SAFETY: kill of our own pid; SIGKILL cannot be caught.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
