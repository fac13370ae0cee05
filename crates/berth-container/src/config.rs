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
    let mut spec = parse(&bytes)?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::missing("root", "it names the container's root file system"))?;
    let rootfs = dir.join(root.path());
    let rootfs = rootfs
        .canonicalize()
        .map_err(|e| Error::io("root.path: rootfs", &rootfs, e))?;
    if !rootfs.is_dir() {
        return invalid!("root.path", rootfs.display(), "not a directory");
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
/// Bytes that are not a config.json at all are `Invalid` with field `config.json`.
pub fn parse(bytes: &[u8]) -> Result<Spec> {
    let mut spec: Spec = typed(bytes, false)?;
    // A relative destination is taken relative to the container's / (as runc).
    for m in spec.mounts_mut().iter_mut().flatten() {
        if m.destination().is_relative() && !m.destination().as_os_str().is_empty() {
            let d = Path::new("/").join(m.destination());
            m.set_destination(d);
        }
    }
    validate(&spec)?;
    Ok(spec)
}

/// The typed parse, after `attrs::check_json` has given runc's messages for
/// values oci-spec's types would refuse with serde's (and renamed what it must).
fn typed<T: serde::de::DeserializeOwned>(bytes: &[u8], is_process: bool) -> Result<T> {
    let (file, what) = if is_process {
        ("process.json", "invalid process JSON")
    } else {
        ("config.json", "invalid JSON")
    };
    let bad = |e: serde_json::Error| Error::invalid(file, "", format!("{what}: {e}"));
    let mut raw: serde_json::Value = serde_json::from_slice(bytes).map_err(bad)?;
    // Read as runc's Go decoder reads it (key case, defaults), then runc's checks
    // and texts for the fields oci-spec would refuse with serde's words.
    if is_process {
        crate::config_json::normalize_process(&mut raw);
    } else {
        crate::config_json::normalize_spec(&mut raw);
    }
    crate::attrs::check_json(&mut raw, is_process)?;
    serde_json::from_value(raw).map_err(bad)
}

/// Structural checks that serde alone does not make.
pub fn validate(spec: &Spec) -> Result<()> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::missing("process", "it names the program to run"))?;
    validate_process(process)?;
    if let Some(linux) = spec.linux() {
        let mut seen = Vec::new();
        for ns in linux.namespaces().iter().flatten() {
            if seen.contains(&ns.typ()) {
                return invalid!("linux.namespaces", ns.typ(), "listed twice");
            }
            seen.push(ns.typ());
        }
        let has_userns = seen.contains(&oci_spec::runtime::LinuxNamespaceType::User);
        let uid_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        let gid_maps = linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
        if !has_userns && (uid_maps || gid_maps) {
            return Err(Error::conflict(
                if uid_maps {
                    "linux.uidMappings"
                } else {
                    "linux.gidMappings"
                },
                "linux.namespaces",
                "mappings given without a user namespace",
            ));
        }
        if let Some(hostname) = spec.hostname() {
            if !hostname.is_empty() && !seen.contains(&oci_spec::runtime::LinuxNamespaceType::Uts) {
                return Err(Error::conflict(
                    "hostname",
                    "linux.namespaces",
                    "setting the hostname needs a new UTS namespace",
                ));
            }
        }
    }
    for (kind, list) in hook_lists(spec) {
        for (i, hook) in list.iter().enumerate() {
            if !hook.path().is_absolute() {
                return invalid!(
                    format!("hooks.{kind}[{i}].path"),
                    hook.path().display(),
                    "not an absolute path"
                );
            }
            if let Some(t) = hook.timeout().filter(|&t| t <= 0) {
                return invalid!(
                    format!("hooks.{kind}[{i}].timeout"),
                    t,
                    "must be greater than zero"
                );
            }
        }
    }
    crate::attrs::Plan::new(spec, process)?;
    crate::timens::offsets(spec)?;
    crate::rootfs::validate(spec)
}

/// Parses and validates the process JSON of `exec -p`. Pure: the fuzz target calls it.
pub fn parse_process(bytes: &[u8]) -> Result<oci_spec::runtime::Process> {
    let p = typed(bytes, true)?;
    validate_process(&p)?;
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
        _ => {
            return Err(Error::missing(
                "process.args",
                "it names the program to run",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return invalid!(
            "process.cwd",
            process.cwd().display(),
            "not an absolute path"
        );
    }
    crate::affinity::validate(process)?;
    for (i, l) in process.rlimits().iter().flatten().enumerate() {
        if l.soft() > l.hard() {
            return invalid!(
                format!("process.rlimits[{i}]"),
                l.typ(),
                "soft limit {} exceeds hard limit {}",
                l.soft(),
                l.hard()
            );
        }
    }
    for (i, e) in process.env().iter().flatten().enumerate() {
        if !e.contains('=') {
            return invalid!(format!("process.env[{i}]"), e, "not KEY=value");
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
            (r#"{not json"#, "process.json"),
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
                "process.env[0]",
            ),
        ] {
            let e = parse_process(bad.as_bytes()).unwrap_err();
            let field = match &e {
                Error::Invalid { field, .. } | Error::Missing { field, .. } => field,
                e => panic!("{bad}: {e:?}"),
            };
            assert_eq!(field, want, "{bad}: {e}");
        }
        let e = parse_process(b"{not json").unwrap_err().to_string();
        assert!(e.starts_with("process.json: invalid process JSON: "), "{e}");
    }
}
