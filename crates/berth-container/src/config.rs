//! Loading and validating a bundle's config.json before anything is created.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use crate::{invalid, Error, Result};

/// A loaded bundle: absolute paths and the parsed spec.
pub struct Bundle {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub spec: Spec,
}

/// Reads `<bundle>/config.json` and resolves the rootfs against the bundle.
pub fn load(bundle: &Path) -> Result<Bundle> {
    let dir = bundle
        .canonicalize()
        .map_err(|e| Error::io("open bundle", bundle, e))?;
    let file = dir.join("config.json");
    let bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
    let mut spec = parse(&bytes).map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::Invalid(format!("{}: root: missing", file.display())))?;
    let rootfs = dir.join(root.path());
    let rootfs = rootfs
        .canonicalize()
        .map_err(|e| Error::io("root.path: rootfs", &rootfs, e))?;
    if !rootfs.is_dir() {
        return invalid!("root.path: rootfs {} is not a directory", rootfs.display());
    }
    resolve_mount_paths(&mut spec, &dir, &rootfs);
    Ok(Bundle { dir, rootfs, spec })
}

/// Mount paths as runc reads them: a relative bind source is relative to the
/// bundle, and a destination already spelled with the rootfs's host path in
/// front means the path below the rootfs.
fn resolve_mount_paths(spec: &mut Spec, bundle: &Path, rootfs: &Path) {
    for m in spec.mounts_mut().iter_mut().flatten() {
        if let Ok(below) = m.destination().strip_prefix(rootfs) {
            let d = Path::new("/").join(below);
            m.set_destination(d);
        }
        let is_bind = m.typ().as_deref() == Some("bind")
            || m.options()
                .iter()
                .flatten()
                .any(|o| o == "bind" || o == "rbind");
        if let Some(src) = m.source().as_ref().filter(|s| is_bind && s.is_relative()) {
            let abs = bundle.join(src);
            m.set_source(Some(abs));
        }
    }
}

/// Parses and validates config.json bytes. Pure: the fuzz target calls it.
pub fn parse(bytes: &[u8]) -> std::result::Result<Spec, String> {
    let mut spec: Spec = typed(bytes, false)?;
    // A relative destination is taken relative to the container's / (as runc).
    for m in spec.mounts_mut().iter_mut().flatten() {
        if m.destination().is_relative() && !m.destination().as_os_str().is_empty() {
            let d = Path::new("/").join(m.destination());
            m.set_destination(d);
        }
    }
    validate(&spec).map_err(|e| e.to_string())?;
    Ok(spec)
}

/// The typed parse, after `attrs::check_json` has given runc's messages for
/// values oci-spec's types would refuse with serde's (and renamed what it must).
fn typed<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    is_process: bool,
) -> std::result::Result<T, String> {
    let what = if is_process {
        "invalid process JSON"
    } else {
        "invalid JSON"
    };
    let mut raw: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{what}: {e}"))?;
    // Read as runc's Go decoder reads it (key case, defaults), then runc's checks
    // and texts for the fields oci-spec would refuse with serde's words.
    if is_process {
        crate::config_json::normalize_process(&mut raw);
    } else {
        crate::config_json::normalize_spec(&mut raw);
    }
    crate::attrs::check_json(&mut raw, is_process).map_err(|e| e.to_string())?;
    serde_json::from_value(raw).map_err(|e| format!("{what}: {e}"))
}

/// Structural checks that serde alone does not make.
pub fn validate(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::Invalid("process: missing".into()))?;
    validate_process(process)?;
    if let Some(linux) = spec.linux() {
        let mut seen = Vec::new();
        for ns in linux.namespaces().iter().flatten() {
            if seen.contains(&ns.typ()) {
                return invalid!("linux.namespaces: {} listed twice", ns.typ());
            }
            seen.push(ns.typ());
        }
        let has_userns = seen.contains(&oci_spec::runtime::LinuxNamespaceType::User);
        if !has_userns
            && (linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
                || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty()))
        {
            return invalid!("linux.uidMappings: mappings given without a user namespace");
        }
        if let Some(hostname) = spec.hostname() {
            if !hostname.is_empty() && !seen.contains(&oci_spec::runtime::LinuxNamespaceType::Uts) {
                return invalid!("hostname: setting the hostname needs a new UTS namespace");
            }
        }
    }
    for hook in hook_lists(spec).into_iter().flat_map(|(_, h)| h) {
        if !hook.path().is_absolute() {
            return invalid!("hooks: path {:?} is not absolute", hook.path());
        }
        if hook.timeout().is_some_and(|t| t <= 0) {
            return invalid!(
                "hooks: timeout of {:?} must be greater than zero",
                hook.path()
            );
        }
    }
    crate::attrs::Plan::new(spec, process)?;
    crate::timens::offsets(spec)?;
    crate::rootfs::validate(spec)
}

/// Parses and validates the process JSON of `exec -p`. Pure: the fuzz target calls it.
pub fn parse_process(bytes: &[u8]) -> std::result::Result<oci_spec::runtime::Process, String> {
    let p = typed(bytes, true)?;
    validate_process(&p).map_err(|e| e.to_string())?;
    Ok(p)
}

/// Parses the resources JSON of `update -r` as runc's decoder reads it.
pub fn parse_resources(
    bytes: &[u8],
) -> std::result::Result<oci_spec::runtime::LinuxResources, String> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    crate::config_json::normalize_resources(&mut value);
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Checks on a process, for config.json's and for `exec`'s.
pub fn validate_process(process: &oci_spec::runtime::Process) -> Result<()> {
    match process.args() {
        Some(args) if !args.is_empty() && !args[0].is_empty() => {}
        _ => return invalid!("process.args: must name the program to run"),
    }
    if !process.cwd().is_absolute() {
        return invalid!("process.cwd: {:?} is not an absolute path", process.cwd());
    }
    crate::affinity::validate(process)?;
    for l in process.rlimits().iter().flatten() {
        if l.soft() > l.hard() {
            return invalid!(
                "process.rlimits {}: soft limit {} exceeds hard limit {}",
                l.typ(),
                l.soft(),
                l.hard()
            );
        }
    }
    for e in process.env().iter().flatten() {
        if !e.contains('=') {
            return invalid!("process.env: {e:?} is not KEY=value");
        }
    }
    Ok(())
}

/// Every hook list of the spec with its name, in runtime-spec order.
pub fn hook_lists(spec: &Spec) -> Vec<(&'static str, &[oci_spec::runtime::Hook])> {
    let Some(hooks) = spec.hooks() else {
        return Vec::new();
    };
    #[allow(deprecated)]
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    lists
        .into_iter()
        .filter_map(|(n, l)| l.as_deref().map(|l| (n, l)))
        .collect()
}

/// The hooks of one kind ("createRuntime", ...), empty if none.
pub fn hooks<'a>(spec: &'a Spec, kind: &str) -> &'a [oci_spec::runtime::Hook] {
    hook_lists(spec)
        .into_iter()
        .find(|(n, _)| *n == kind)
        .map(|(_, l)| l)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_read_as_runc_reads_them() {
        let j =
            br#"{"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
            "root":{"path":"rootfs"},
            "mounts":[{"destination":"tmp/rel","source":"src","options":["bind"]},
                      {"destination":"/b/rootfs/abs","source":"/abs","options":["rbind"]},
                      {"destination":"/t","type":"tmpfs","source":"tmpfs"}]}"#;
        let mut spec = parse(j).unwrap();
        resolve_mount_paths(&mut spec, Path::new("/b"), Path::new("/b/rootfs"));
        let m = spec.mounts().as_ref().unwrap();
        assert_eq!(m[0].destination(), Path::new("/tmp/rel"));
        assert_eq!(m[0].source().as_deref(), Some(Path::new("/b/src")));
        assert_eq!(m[1].destination(), Path::new("/abs"));
        assert_eq!(m[1].source().as_deref(), Some(Path::new("/abs")));
        // Not a bind: the source names the file system, not a path.
        assert_eq!(m[2].source().as_deref(), Some(Path::new("tmpfs")));
    }

    #[test]
    fn parse_process_checks_what_exec_needs() {
        let p = parse_process(
            br#"{"user": {"uid": 1, "gid": 2}, "args": ["sh", "-c", "true"], "env": ["A=1"], "cwd": "/tmp"}"#,
        )
        .unwrap();
        assert_eq!(p.args().as_deref().unwrap()[0], "sh");
        assert_eq!((p.user().uid(), p.user().gid()), (1, 2));
        for (bad, want) in [
            (r#"{not json"#, "invalid process JSON: "),
            (
                r#"{"user": {"uid": 0, "gid": 0}, "cwd": "/"}"#,
                "process.args",
            ),
            (
                r#"{"user": {"uid": 0, "gid": 0}, "args": [""], "cwd": "/"}"#,
                "process.args",
            ),
            (
                r#"{"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "rel"}"#,
                "process.cwd",
            ),
            (
                r#"{"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/", "env": ["NOEQUALS"]}"#,
                "process.env",
            ),
        ] {
            let e = parse_process(bad.as_bytes()).unwrap_err();
            assert!(e.starts_with(want), "{bad}: {e}");
        }
    }
}
