//! The container's root file system: mounts, devices, pivot_root, masked and
//! read-only paths, sysctls.
//!
//! Call order in the container init (see each function):
//! `validate` (runtime, before fork) → `prepare` (new mount ns, before pivot)
//! → `enter` → `mount_console` (if a terminal) → `finalize`.
//!
//! Every path from config.json is resolved inside the rootfs with openat2(2)
//! `RESOLVE_IN_ROOT` ([`safe_path`]) and mounted onto the resulting fd, so a
//! symlink or a race cannot redirect a mount to a host path.

mod bind_flags;
mod cgroup;
mod device_nodes;
pub mod idmap;
mod masked;
pub mod mount_options;
mod mount_source;
mod mounts;
mod pivot;
pub mod safe_path;
mod sysctl;
mod tmpcopyup;
mod tmpfs_mode;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{umask, Mode};
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use crate::{invalid, Error, Result};

pub use device_nodes::{mount_console, DEFAULT_DEVICES};
pub use mount_options::MountOptions;
use safe_path::clean;

/// What `prepare` needs.
pub struct RootfsCtx<'a> {
    pub spec: &'a Spec,
    /// Absolute, canonical host path of `root.path`.
    pub rootfs: &'a Path,
    /// Mounts the runtime adds (generated /etc/hosts, /etc/resolv.conf, ...):
    /// applied after the spec's, skipped when the spec mounts that destination.
    pub extra_mounts: &'a [Mount],
    /// mknod is not permitted: bind-mount device nodes from the host instead.
    pub in_user_ns: bool,
    /// init made its own mount namespace. Without one (the spec lists none)
    /// the mounts are made in the caller's namespace, under the rootfs only,
    /// and are left there (as runc).
    pub own_mount_ns: bool,
    /// Asks the runtime for spec mount N's source as a detached mount (see
    /// [`open_mount_source`]); used for id-mapped mounts, and for every bind
    /// mount when init is in a user namespace.
    pub runtime_source: &'a dyn Fn(usize) -> Result<OwnedFd>,
}

/// Files below /proc that may be mount destinations (lxcfs-style overrides), as runc allows.
const PROC_DEST_ALLOWED: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

fn propagation_flag(s: &str) -> Option<MsFlags> {
    Some(match s {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

fn has_nul(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().contains(&0)
}

fn check_abs(field: &str, p: &Path) -> Result<()> {
    if has_nul(p) {
        return invalid!(field, p.display(), "contains a NUL byte");
    }
    if !p.is_absolute() {
        return invalid!(field, p.display(), "must be an absolute path");
    }
    Ok(())
}

/// A `linux.rootfsPropagation` that names no propagation type.
fn bad_propagation(p: &str) -> Error {
    Error::invalid(
        "linux.rootfsPropagation",
        p,
        "must be one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable",
    )
}

/// Validate and parse one mount; `field` is e.g. `mounts[3]`.
fn check_mount(field: &str, m: &Mount) -> Result<MountOptions> {
    let dest = m.destination();
    let dest_field = format!("{field}.destination");
    check_abs(&dest_field, dest)?;
    let cleaned = clean(dest);
    if cleaned == Path::new("/") {
        return invalid!(
            dest_field,
            dest.display(),
            "mounting over the container's root is not allowed"
        );
    }
    let typ = m.typ().as_deref();
    if let Some(t) = typ {
        if t.is_empty() || t.contains('\0') {
            return invalid!(format!("{field}.type"), t, "not a file system type");
        }
    }
    let mut opts =
        mount_options::parse(typ, m.options().as_deref().unwrap_or(&[])).map_err(|e| {
            // The parser's message quotes the offending option.
            Error::invalid(
                format!("{field}.options"),
                "",
                format!("{e} (destination {})", dest.display()),
            )
        })?;
    idmap::check(field, m)?;
    if idmap::mappings(m).is_some() {
        if !opts.bind {
            return Err(Error::conflict(
                format!("{field}.uidMappings"),
                format!("{field}.type"),
                "id-mapped mounts are only supported for bind mounts",
            ));
        }
        opts.idmap = true;
    }
    if opts.bind {
        match m.source() {
            Some(s) if !s.as_os_str().is_empty() && !has_nul(s) => {}
            Some(s) if has_nul(s) => {
                return invalid!(
                    format!("{field}.source"),
                    s.display(),
                    "contains a NUL byte"
                )
            }
            _ => {
                return Err(Error::missing(
                    format!("{field}.source"),
                    format!("a bind mount on {} needs a source path", dest.display()),
                ))
            }
        }
    }
    let is_proc = !opts.bind && typ == Some("proc");
    // A bind onto /proc itself is allowed when its source is a procfs (a
    // rootless container sharing the host's pid namespace): checked in `prepare`.
    if cleaned.starts_with("/proc")
        && !((is_proc || opts.bind) && cleaned == Path::new("/proc"))
        && !PROC_DEST_ALLOWED.iter().any(|a| cleaned == Path::new(a))
    {
        return invalid!(
            dest_field,
            dest.display(),
            "mounts over /proc are not allowed"
        );
    }
    Ok(opts)
}

/// proc and sysfs go on ordinary directories only (as runc): an image whose
/// /proc is a symlink would otherwise have procfs mounted wherever it points,
/// and the masked and read-only paths set up under /proc would miss it.
fn refuse_symlinked_destination(
    root: std::os::fd::BorrowedFd<'_>,
    field: &str,
    dest: &Path,
) -> Result<()> {
    let rel = dest.strip_prefix("/").unwrap_or(dest);
    match nix::sys::stat::fstatat(root, rel, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => invalid!(
            format!("{field}.destination"),
            dest.display(),
            "must be mounted on ordinary directory (it is a symbolic link in the image)"
        ),
        _ => Ok(()),
    }
}

/// A new (not bind) file system on /dev with `ro`: runc mounts it writable
/// and makes it read-only once everything under it exists.
fn read_only_dev(dest: &Path, o: &MountOptions) -> bool {
    !o.bind && dest == Path::new("/dev") && o.flags.contains(MsFlags::MS_RDONLY)
}

/// A bind mount onto /proc must bring a procfs (runc's rule): anything else
/// there would hide the container's /proc behind a directory of the host's.
fn refuse_non_proc_source(field: &str, m: &Mount) -> Result<()> {
    let source = m.source().as_deref().unwrap_or(Path::new(""));
    let fs = nix::sys::statfs::statfs(source)
        .map_err(|e| Error::sys(format!("{field}.source: statfs {}", source.display()), e))?;
    if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return invalid!(
            format!("{field}.source"),
            source.display(),
            "mounts over /proc are not allowed (the bind source is not a procfs)"
        );
    }
    Ok(())
}

/// Before fork, in the runtime: reject bad mounts, devices, paths and sysctls
/// with one-line errors naming the field.
pub fn validate(spec: &Spec) -> Result<()> {
    let has_userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    for (i, m) in spec.mounts().as_deref().unwrap_or(&[]).iter().enumerate() {
        let o = check_mount(&format!("mounts[{i}]"), m)?;
        // idmap alone borrows the container's mapping: there must be one.
        if o.idmap && idmap::mappings(m).is_none() && !has_userns {
            return Err(Error::conflict(
                format!("mounts[{i}].options"),
                "linux.namespaces",
                format!(
                    "idmap without uidMappings/gidMappings needs a user namespace (destination {})",
                    m.destination().display()
                ),
            ));
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    for (i, d) in linux.devices().as_deref().unwrap_or(&[]).iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        check_abs(&format!("{field}.path"), d.path())?;
        let cleaned = clean(d.path());
        if !cleaned.starts_with("/dev") || cleaned == Path::new("/dev") {
            return invalid!(
                format!("{field}.path"),
                d.path().display(),
                "must be below /dev"
            );
        }
        if device_nodes::sflag(d.typ()).is_none() {
            return invalid!(
                format!("{field}.type"),
                d.typ().as_str(),
                "must be one of c, b, u, p"
            );
        }
        if !(0..=0xfff).contains(&d.major()) {
            return invalid!(
                format!("{field}.major"),
                d.major(),
                "out of range (0..=4095)"
            );
        }
        if !(0..=0xfffff).contains(&d.minor()) {
            return invalid!(
                format!("{field}.minor"),
                d.minor(),
                "out of range (0..=1048575)"
            );
        }
        if let Some(m) = d.file_mode() {
            if m & !(0o7777 | libc::S_IFMT) != 0 {
                return invalid!(
                    format!("{field}.fileMode"),
                    format!("{m:#o}"),
                    "not a file mode"
                );
            }
        }
    }
    for (field, paths) in [
        ("linux.maskedPaths", linux.masked_paths()),
        ("linux.readonlyPaths", linux.readonly_paths()),
    ] {
        for (i, p) in paths.iter().flatten().enumerate() {
            check_abs(&format!("{field}[{i}]"), Path::new(p))?;
        }
    }
    if let Some(s) = linux.sysctl() {
        for (k, v) in s {
            sysctl::check_key(k)?;
            if v.contains('\0') {
                return invalid!(format!("linux.sysctl[{k:?}]"), v, "contains a NUL byte");
            }
        }
    }
    if let Some(p) = linux.rootfs_propagation() {
        if !p.is_empty() && propagation_flag(p).is_none() {
            return Err(bad_propagation(p));
        }
    }
    Ok(())
}

fn sys<E: Into<String>>(op: E) -> impl FnOnce(nix::Error) -> Error {
    move |e| Error::sys(op, e)
}

/// In the container init, in its own mount namespace, before `enter`.
///
/// Makes `/` recursively slave (private when rootfsPropagation asks for
/// private) so nothing propagates to the host, bind-mounts the rootfs onto
/// itself, performs the spec mounts and then `extra_mounts`, creates the
/// default devices, `linux.devices` and /dev symlinks (unless /dev is a bind
/// mount). Needs the host's /proc.
pub fn prepare(ctx: &RootfsCtx) -> Result<()> {
    let old = umask(Mode::empty());
    let r = prepare_inner(ctx);
    umask(old);
    r
}

fn prepare_inner(ctx: &RootfsCtx) -> Result<()> {
    let linux = ctx.spec.linux().as_ref();
    let prop = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|p| !p.is_empty());
    let prop_flag = match prop {
        Some(p) => Some(propagation_flag(p).ok_or_else(|| bad_propagation(p))?),
        None => None,
    };
    // Never shared here: pivot_root refuses a shared parent, and a shared
    // copy of the host's / would leak every mount below back to the host.
    let root_prop = if prop_flag.is_some_and(|f| f.contains(MsFlags::MS_PRIVATE)) {
        MsFlags::MS_PRIVATE
    } else {
        MsFlags::MS_SLAVE
    };
    // Never on the caller's own namespace: that would change the host's /.
    if ctx.own_mount_ns {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            root_prop | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(sys("make / a recursive slave"))?;
    }
    mount(
        Some(ctx.rootfs),
        ctx.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(sys(format!("bind mount rootfs {}", ctx.rootfs.display())))?;
    let root = open(
        ctx.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("open rootfs {}", ctx.rootfs.display())))?;

    let mut cg = cgroup::CgroupCtx::new(
        linux
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup)),
    );
    let spec_mounts = ctx.spec.mounts().as_deref().unwrap_or(&[]);
    let dests: Vec<PathBuf> = spec_mounts.iter().map(|m| clean(m.destination())).collect();
    let mut dev_is_bind = false;
    let context = crate::lsm::mount_context(ctx.spec);
    let check_mount = |what: &str, m: &Mount| -> Result<MountOptions> {
        let mut o = check_mount(what, m)?;
        // linux.mountLabel labels new file systems that take a context (as runc: not proc, sysfs, mqueue, cgroup).
        if let (Some(c), false) = (&context, o.bind) {
            if !matches!(
                m.typ().as_deref(),
                Some("proc" | "sysfs" | "mqueue" | "cgroup" | "cgroup2")
            ) {
                o.data = if o.data.is_empty() {
                    c.clone()
                } else {
                    format!("{},{c}", o.data)
                };
            }
        }
        Ok(o)
    };
    for (i, m) in spec_mounts.iter().enumerate() {
        let mut o = check_mount(&format!("mounts[{i}]"), m)?;
        if read_only_dev(&dests[i], &o) {
            // /dev is filled (nodes, /dev/pts, the console) first; `finalize` makes it read-only.
            o.flags -= MsFlags::MS_RDONLY;
        }
        if o.bind && dests[i] == Path::new("/dev") {
            dev_is_bind = true;
        }
        if o.bind && dests[i] == Path::new("/proc") {
            refuse_non_proc_source(&format!("mounts[{i}]"), m)?;
        }
        if !o.bind && matches!(m.typ().as_deref(), Some("proc" | "sysfs")) {
            refuse_symlinked_destination(root.as_fd(), &format!("mounts[{i}]"), &dests[i])?;
        }
        // A runtime without root cannot enter init's mount namespace, and needs not:
        // init's root is the runtime's own uid and reaches what the runtime reaches.
        let by_runtime = o.idmap || (ctx.in_user_ns && !crate::rootless::active());
        let tree = if o.bind && by_runtime {
            Some((ctx.runtime_source)(i)?)
        } else {
            None
        };
        mounts::mount_one(root.as_fd(), m, &o, tree, ctx.in_user_ns, &mut cg)?;
    }
    for (i, m) in ctx.extra_mounts.iter().enumerate() {
        let d = clean(m.destination());
        if dests.contains(&d) {
            log::debug!(
                "extra mount on {} skipped: config.json mounts it",
                d.display()
            );
            continue;
        }
        let o = check_mount(&format!("extra mount [{i}]"), m)?;
        if o.bind && d == Path::new("/dev") {
            dev_is_bind = true;
        }
        mounts::mount_one(root.as_fd(), m, &o, None, ctx.in_user_ns, &mut cg)?;
    }
    if !dev_is_bind {
        let has_kcore = nix::unistd::access("/proc/kcore", nix::unistd::AccessFlags::F_OK).is_ok();
        let devs = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
        device_nodes::setup(root.as_fd(), devs, ctx.in_user_ns, has_kcore)?;
    }
    Ok(())
}

/// After `prepare` (and the createContainer hooks): makes the rootfs the
/// process's root (see [`pivot::enter`]), then applies linux.rootfsPropagation
/// to the new / (as runc: pivot_root refuses a shared root, and applied
/// before, `shared` would reach the host's /). Not in the caller's own mount
/// namespace, whose / is not the container's to change.
pub fn enter(ctx: &RootfsCtx, no_pivot: bool) -> Result<()> {
    pivot::enter(ctx.rootfs, no_pivot, ctx.own_mount_ns)?;
    let prop = ctx
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .filter(|p| !p.is_empty());
    if let (Some(p), true) = (prop, ctx.own_mount_ns) {
        let f = propagation_flag(p).ok_or_else(|| bad_propagation(p))?;
        mount(None::<&str>, "/", None::<&str>, f, None::<&str>)
            .map_err(sys("apply linux.rootfsPropagation to /"))?;
    }
    Ok(())
}

/// In the runtime, for init `init_pid`: spec mount `index` opened from
/// inside init's mount namespace with the runtime's credentials, id-mapped
/// when it asks for it, as a detached mount for init to attach.
pub fn open_mount_source(init_pid: i32, spec: &Spec, index: usize) -> Result<OwnedFd> {
    let field = format!("mounts[{index}]");
    let m = spec
        .mounts()
        .as_deref()
        .and_then(|m| m.get(index))
        .ok_or_else(|| {
            Error::Init(format!(
                "container init asked for {field}, which does not exist"
            ))
        })?;
    let o = check_mount(&field, m)?;
    if !o.bind {
        return Err(Error::Init(format!(
            "container init asked for {field}, which is not a bind mount"
        )));
    }
    mount_source::open_for_init(init_pid, &field, m, &o)
}

/// After `enter`: a read-only /dev made read-only, linux.sysctl (verified procfs writes), readonlyPaths
/// (bind + read-only, other flags kept), maskedPaths (files: /dev/null,
/// verified 1:3; directories: empty read-only tmpfs), root.readonly.
///
/// sysctls are written before readonlyPaths because the default readonly
/// paths include /proc/sys; masking comes after read-only binds as in runc.
/// Needs /proc mounted in the container when sysctls or masked paths exist.
pub fn finalize(spec: &Spec) -> Result<()> {
    let root = open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys("open /"))?;
    let ro_dev = spec.mounts().iter().flatten().any(|m| {
        mount_options::parse(m.typ().as_deref(), m.options().as_deref().unwrap_or(&[]))
            .is_ok_and(|o| read_only_dev(&clean(m.destination()), &o))
    });
    if ro_dev {
        let dev = safe_path::open_in_root(
            root.as_fd(),
            Path::new("/dev"),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )
        .map_err(sys("open /dev"))?;
        mounts::mount_setattr(dev.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, 0)
            .map_err(sys("make /dev read-only"))?;
    }
    if let Some(linux) = spec.linux() {
        if let Some(s) = linux.sysctl() {
            sysctl::apply(s)?;
        }
        masked::readonly_paths(
            root.as_fd(),
            linux.readonly_paths().as_deref().unwrap_or(&[]),
        )?;
        masked::masked_paths(root.as_fd(), linux.masked_paths().as_deref().unwrap_or(&[]))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        masked::readonly_root(root.as_fd())?;
    }
    Ok(())
}
