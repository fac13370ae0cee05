//! `process.ioPriority`: the I/O scheduling class and priority of the
//! container's process, set with ioprio_set(2); children inherit it.

use oci_spec::runtime::LinuxIOPriority;
use serde_json::Value;

use super::spec_name;
use crate::{invalid, Error, Result};

/// The classes by their runtime-spec names (uapi ioprio.h values).
pub const CLASSES: &[(&str, i32)] = &[
    ("IOPRIO_CLASS_RT", 1),
    ("IOPRIO_CLASS_BE", 2),
    ("IOPRIO_CLASS_IDLE", 3),
];

/// The class sits above the 13 bits of per-class data.
const CLASS_SHIFT: i32 = 13;

/// On the raw JSON: the class is required (oci-spec would default a missing
/// one to best-effort) and must be known (runc's message).
pub(super) fn check_json(io: &Value, field: &str) -> Result<()> {
    let class = io.get("class").and_then(Value::as_str).unwrap_or("");
    if !CLASSES.iter().any(|(n, _)| *n == class) {
        return Err(bad_class(field, class));
    }
    Ok(())
}

/// A class runc does not know, in its words.
fn bad_class(field: &str, name: &str) -> Error {
    Error::invalid(format!("{field}.class"), name, "invalid ioPriority.Class")
}

/// The value ioprio_set takes: class and priority (0 highest .. 7 lowest).
pub(super) fn plan(io: &LinuxIOPriority, field: &str) -> Result<i32> {
    let priority = io.priority();
    if !(0..=7).contains(&priority) {
        return invalid!(
            format!("{field}.priority"),
            priority,
            "invalid ioPriority.Priority"
        );
    }
    let name = spec_name(&io.class());
    let class = CLASSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| bad_class(field, &name))?;
    Ok(class << CLASS_SHIFT | priority as i32)
}

pub(super) fn apply(prio: i32) -> Result<()> {
    crate::sys::ioprio_set_self(prio)
        .map_err(|e| Error::sys("failed to set io priority (ioprio_set)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prio(json: &str) -> Result<i32> {
        let v: Value = serde_json::from_str(json).unwrap();
        check_json(&v, "process.ioPriority")?;
        plan(&serde_json::from_value(v).unwrap(), "process.ioPriority")
    }

    #[test]
    fn classes_and_priorities() {
        assert_eq!(
            prio(r#"{"class":"IOPRIO_CLASS_BE","priority":4}"#).unwrap(),
            2 << 13 | 4
        );
        assert_eq!(prio(r#"{"class":"IOPRIO_CLASS_IDLE"}"#).unwrap(), 3 << 13);
        for (bad, want) in [
            (
                r#"{"priority":1}"#,
                "process.ioPriority.class: invalid ioPriority.Class",
            ),
            (
                r#"{"class":"BE"}"#,
                "process.ioPriority.class \"BE\": invalid ioPriority.Class",
            ),
            (
                r#"{"class":"IOPRIO_CLASS_RT","priority":8}"#,
                "process.ioPriority.priority \"8\": invalid ioPriority.Priority",
            ),
        ] {
            let e = prio(bad).unwrap_err().to_string();
            assert!(e.contains(want), "{bad}: {e}");
        }
    }
}
