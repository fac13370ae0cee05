//! The parent side of `create`: validate, claim the id, make the cgroup and
//! network, clone init, answer its requests, run createRuntime hooks, save
//! state. On any error, everything made so far is undone.

use std::fs;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Mount, MountBuilder, Spec};

use crate::caps::CapPlan;
use crate::config::{self, Bundle};
use crate::launch::{self, messages::ToChild, InitJob, Job, Kind};
use crate::namespaces::Plan;
use crate::seccomp::SeccompPlan;
use crate::state::{self, Intent, Lock, Root, Saved, Status, EXEC_FIFO};
use crate::sync;
use crate::{fault, hooks, invalid, network, sys, Error, Result};

#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    /// `--pidfd-socket`: receives a pidfd of the container's init once it is ready.
    pub pidfd_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `berth run` in the foreground: a terminal's master comes back to the caller.
    pub foreground: bool,
}

/// A created container, waiting for `start`.
pub struct Created {
    pub saved: Saved,
    /// The pty master, when the process has a terminal and no console socket was given.
    pub console: Option<OwnedFd>,
    /// init's launch channel, open until its program's execve (after `start`).
    chan: sync::Channel,
}

impl Created {
    /// After `start`: waits until init's program has replaced init. A failed
    /// execve is `NotStarted` with runc's text (`exec /x: no such file or
    /// directory`), which `run` prints as the container's own error.
    ///
    /// Meanwhile what the container writes to its pty (a startContainer
    /// hook's output) goes to `out`, so a full pty cannot stall the wait.
    pub fn wait_for_execve(&self, out: &mut dyn std::io::Write) -> Result<()> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::{AsFd, BorrowedFd};
        let p = self.saved.config.process().as_ref();
        let p = p.ok_or_else(|| Error::Init("the saved config has no process".into()))?;
        if let Some(master) = &self.console {
            // SAFETY: the channel's fd lives as long as self.
            let chan = unsafe { BorrowedFd::borrow_raw(self.chan.as_raw_fd()) };
            let mut buf = [0u8; 4096];
            loop {
                let mut fds = [
                    PollFd::new(chan, PollFlags::POLLIN),
                    PollFd::new(master.as_fd(), PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::NONE) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => r.map_err(|e| Error::sys("poll the launch channel", e))?,
                };
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                if ready(&fds[0]) {
                    break;
                }
                if ready(&fds[1]) {
                    match nix::unistd::read(master, &mut buf) {
                        Ok(n) if n > 0 => {
                            let _ = out.write_all(&buf[..n]);
                            let _ = out.flush();
                        }
                        _ => break,
                    }
                }
            }
        }
        launch::parent::wait_for_execve(&self.chan, p)
    }
}

/// Undoes a half-made container unless disarmed.
struct Undo<'a> {
    root: &'a Root,
    id: &'a str,
    lock: Option<Lock>,
    cgroup: Option<berth_cgroups::Manager>,
    network: bool,
    children: Vec<i32>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        for &pid in &self.children {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        }
        if self.network {
            if let Err(e) = network::teardown(self.root.path(), self.id) {
                log::warn!("cleanup: {e}");
            }
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = cg.destroy() {
                log::warn!("cleanup: {e}");
            }
        }
        if let Some(lock) = self.lock.take() {
            let _ = lock.remove();
        }
    }
}

pub fn create(root: &Root, opts: &CreateOptions) -> Result<Created> {
    crate::id::validate(&opts.id)?;
    let Bundle {
        dir: bundle,
        rootfs,
        spec,
    } = config::load(&opts.bundle)?;
    let process = spec.process().as_ref().expect("validated: process present");
    let terminal = process.terminal().unwrap_or(false);
    if terminal && opts.console_socket.is_none() && !opts.foreground {
        return Err(Error::conflict(
            "process.terminal",
            "--detach",
            "cannot allocate tty if berth will detach without setting console socket",
        ));
    }
    if !terminal && opts.console_socket.is_some() {
        return Err(Error::conflict(
            "--console-socket",
            "process.terminal",
            "cannot use console socket if berth will not allocate tty (process.terminal is false)",
        ));
    }
    let mut ns = Plan::from_spec(&spec)?;
    if ns.joins(LinuxNamespaceType::Mount) {
        let i = spec
            .linux()
            .iter()
            .flat_map(|l| l.namespaces().iter().flatten())
            .position(|n| n.typ() == LinuxNamespaceType::Mount)
            .unwrap_or_default();
        return Err(Error::unsupported(
            format!("linux.namespaces[{i}].path (joining a mount namespace by path)"),
            "berth sets the rootfs up in a mount namespace of its own",
        ));
    }
    let caps = CapPlan::new(process.capabilities().as_ref())?;
    let seccomp = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        Some(s) => Some(SeccompPlan::new(s)?),
        None => None,
    };
    crate::lsm::check(&spec)?;
    let attrs = crate::attrs::Plan::new(&spec, process)?;
    let time_offsets = crate::timens::offsets(&spec)?;
    let net_cfg = network::config(&spec, &ns)?;
    let net_devices = network::devices(&spec, &ns, net_cfg.as_ref())?;

    let linux = spec.linux().as_ref();
    let cgroups_path = linux
        .and_then(|l| l.cgroups_path().as_deref())
        .and_then(Path::to_str);
    let rootless = crate::rootless::active();
    if rootless {
        crate::rootless::check(&spec, &ns, net_cfg.as_ref())?;
    }
    // root of a user namespace (podman's and Docker's rootless engines run their runtime
    // so) has no more say over cgroups than the user it maps to.
    let unprivileged_cgroups = rootless || crate::rootless::in_user_namespace();
    let cgroup = if unprivileged_cgroups {
        berth_cgroups::Manager::unprivileged(
            cgroups_path,
            &opts.id,
            linux.and_then(|l| l.resources().as_ref()),
        )?
    } else {
        berth_cgroups::Manager::new(cgroups_path, &opts.id)?
    };
    let lock = Lock::create(root, &opts.id)?;
    let state_dir = lock.path.clone();
    // Intent first: a create killed from here on leaves a record that
    // `delete -f` undoes (every resource below is named in it before it exists).
    let intent = Intent {
        cgroup: Some(cgroup.clone()),
        network: net_cfg.is_some(),
        pid: None,
    };
    lock.record_intent(&intent)?;
    fault::point("intent-recorded");
    let mut undo = Undo {
        root,
        id: &opts.id,
        lock: Some(lock),
        cgroup: None,
        network: false,
        children: Vec::new(),
    };

    let mut extra_mounts = Vec::new();
    let mut prepared = None;
    if let Some(cfg) = &net_cfg {
        undo.network = true;
        let p = network::prepare(root.path(), &opts.id, cfg, &state_dir)?;
        fault::point("network-prepared");
        for (host, dest) in p.files() {
            extra_mounts.push(bind_mount(&host, dest)?);
        }
        if let Some(path) = p.netns_path() {
            ns.join_network(&path)?;
        }
        prepared = Some(p);
    }

    refuse_occupied_cgroup(&cgroup)?;
    cgroup.create()?;
    fault::point("cgroup-created");
    undo.cgroup = Some(cgroup.clone());
    // The device rules wait until init has made the device nodes (as runc
    // applies them after the rootfs): a node listed in linux.devices but
    // denied by the rules is then made, and unusable, instead of mknod failing.
    let mut resources = crate::device_access::cgroup_resources(&spec);
    let mut device_rules = oci_spec::runtime::LinuxResources::default();
    device_rules.set_devices(resources.devices_mut().take());
    if unprivileged_cgroups {
        // Device cgroups need privileges no user has (as runc, rootless ignores them):
        // the host nodes are bind-mounted with the host's permissions instead.
        device_rules.set_devices(None);
    }
    cgroup.apply(&resources)?;

    let fifo_path = state_dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&fifo_path, Mode::from_bits_truncate(0o600))
        .map_err(|e| Error::sys(format!("mkfifo {}", fifo_path.display()), e))?;
    // Read-write so opening never blocks and init's read waits for start's byte.
    let fifo: OwnedFd =
        nix::fcntl::open(&fifo_path, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| Error::sys(format!("open {}", fifo_path.display()), e))?;

    let (parent_end, child_end) = sync::pair()?;
    let second_fork = ns.needs_second_fork();
    let clone_flags = if !second_fork && ns.creates(LinuxNamespaceType::Pid) {
        libc::CLONE_NEWPID as libc::c_long
    } else {
        0
    };
    let forked = sys::fork_with(clone_flags).map_err(|e| Error::sys("clone container init", e))?;
    let first = match forked {
        None => {
            drop(parent_end);
            launch::child::run(
                Job {
                    process,
                    caps: &caps,
                    seccomp: seccomp.as_ref(),
                    attrs: &attrs,
                    preserve_fds: opts.preserve_fds,
                    chan: child_end,
                    kind: Kind::Init(InitJob {
                        spec: &spec,
                        rootfs: &rootfs,
                        ns: &ns,
                        fifo,
                        second_fork,
                        no_pivot: opts.no_pivot,
                        no_new_keyring: opts.no_new_keyring,
                        extra_mounts: &extra_mounts,
                        time_offsets: time_offsets.as_deref(),
                        lock_fd: undo.lock.as_ref().map_or(-1, Lock::raw_fd),
                    }),
                },
                1,
            )
        }
        Some(pid) => pid,
    };
    drop(child_end);
    drop(fifo);
    undo.children.push(first);
    // Placing the first child places everything it forks.
    cgroup.add_process(first)?;
    fault::point("init-forked");

    let mut talk = InitTalk {
        root,
        opts,
        spec: &spec,
        bundle,
        rootfs: rootfs.clone(),
        cgroup,
        prepared: prepared.as_ref(),
        net_devices: net_devices.as_ref(),
        seccomp: seccomp.as_ref(),
        device_rules,
        first,
        undo: &mut undo,
        saved: None,
        state_json: String::new(),
        console: None,
        intent,
    };
    launch::parent::converse(&parent_end, first, &mut talk)?;
    log::debug!(
        "container init: set up, waiting on the exec fifo for start (runc: init: closing the pipe to signal completion)"
    );
    let InitTalk { saved, console, .. } = talk;
    let mut saved = saved.ok_or_else(|| Error::Init("container init never sent its pid".into()))?;
    let pid = saved.pid;
    fault::point("init-ready");

    if let Some(sock) = &opts.pidfd_socket {
        crate::fd_socket::send_pidfd(sock, pid)?;
    }
    saved.config = spec;
    let lock = undo.lock.as_ref().expect("lock held until disarmed");
    lock.save(&saved)?;
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    // Success: keep everything, release the lock.
    undo.lock = None;
    undo.cgroup = None;
    undo.network = false;
    undo.children.clear();
    Ok(Created {
        saved,
        console,
        chan: parent_end,
    })
}

/// The runtime's side of init's launch (see `launch`'s header).
struct InitTalk<'t, 'a> {
    root: &'t Root,
    opts: &'t CreateOptions,
    spec: &'t Spec,
    bundle: PathBuf,
    rootfs: PathBuf,
    cgroup: berth_cgroups::Manager,
    prepared: Option<&'t network::Network>,
    /// linux.netDevices, moved once init is in its network namespace.
    net_devices: Option<&'t network::Devices>,
    seccomp: Option<&'t SeccompPlan>,
    /// linux.resources.devices and the defaults, applied once init made the nodes.
    device_rules: oci_spec::runtime::LinuxResources,
    first: i32,
    undo: &'t mut Undo<'a>,
    saved: Option<Saved>,
    state_json: String,
    console: Option<OwnedFd>,
    intent: Intent,
}

impl InitTalk<'_, '_> {
    fn state_value(&self) -> serde_json::Value {
        self.saved
            .as_ref()
            .map(|s| serde_json::to_value(s.oci_state(Status::Creating)).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl launch::parent::Conversation for InitTalk<'_, '_> {
    fn who(&self) -> &'static str {
        "container init"
    }

    fn write_id_maps(&mut self) -> Result<()> {
        crate::id_maps::write(self.first, self.spec)
    }

    fn pid_known(&mut self, pid: i32) -> Result<ToChild> {
        self.undo.children = vec![pid];
        let start_time = crate::procfs::stat(pid)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::Init("container init exited during setup".into()))?;
        self.intent.pid = Some((pid, start_time));
        if let Some(lock) = &self.undo.lock {
            lock.record_intent(&self.intent)?;
        }
        fault::point("pid-recorded");
        let process = self
            .spec
            .process()
            .as_ref()
            .expect("validated: process present");
        if let Some(adj) = process.oom_score_adj() {
            let path = format!("/proc/{pid}/oom_score_adj");
            fs::write(&path, adj.to_string())
                .map_err(|e| Error::io("process.oomScoreAdj: write", path, e))?;
        }
        // Without root only modes none and host get here: init has its loopback up
        // already, and nothing else needs doing from outside (nor could be done).
        if let Some(p) = self.prepared.filter(|_| !crate::rootless::active()) {
            p.attach(self.root.path(), &self.opts.id, pid)?;
            fault::point("network-attached");
        }
        // Never moved back (see berth-net's netdevices): should create fail from
        // here on, init's death frees the namespace and the kernel takes over.
        if let Some(d) = self.net_devices {
            d.move_into(pid)?;
            fault::point("netdevices-moved");
        }
        let saved = Saved {
            oci_version: self.spec.version().clone(),
            id: self.opts.id.clone(),
            pid,
            start_time,
            bundle: self.bundle.clone(),
            rootfs: self.rootfs.clone(),
            created: state::now_rfc3339(),
            annotations: self.spec.annotations().clone().unwrap_or_default(),
            cgroup: self.cgroup.clone(),
            network: self.prepared.is_some(),
            config: Spec::default(),
        };
        self.state_json =
            serde_json::to_string(&saved.oci_state(Status::Creating)).unwrap_or_default();
        self.saved = Some(saved);
        Ok(ToChild::Setup {
            state_json: self.state_json.clone(),
        })
    }

    fn run_create_hooks(&mut self) -> Result<()> {
        // init's mounts and device nodes exist now.
        self.cgroup.apply(&self.device_rules)?;
        for kind in ["prestart", "createRuntime"] {
            hooks::run_all(kind, config::hooks(self.spec, kind), &self.state_json, None)?;
        }
        fault::point("create-hooks-done");
        Ok(())
    }

    fn mount_source(&mut self, index: usize) -> Result<OwnedFd> {
        let pid = self
            .saved
            .as_ref()
            .map(|s| s.pid)
            .ok_or_else(|| self.unexpected("MountSource before Pid"))?;
        crate::rootfs::open_mount_source(pid, self.spec, index)
    }

    fn console(&mut self, master: OwnedFd) -> Result<()> {
        match &self.opts.console_socket {
            Some(sock) => crate::console::send_to_socket(sock, raw(&master)),
            None => {
                self.console = Some(master);
                Ok(())
            }
        }
    }

    fn seccomp_listener(&mut self, pid: i32, listener: OwnedFd) -> Result<()> {
        crate::notify::deliver(self.seccomp, pid, &self.state_value(), listener)
    }
}

/// A cgroup that already holds processes belongs to something else, and a
/// frozen one would stop init mid-setup (create would hang): both are
/// refused, as runc does, before undo owns the cgroup (it is not ours to remove).
fn refuse_occupied_cgroup(cgroup: &berth_cgroups::Manager) -> Result<()> {
    let path = || {
        cgroup
            .paths()
            .next()
            .map_or_else(String::new, |p| p.display().to_string())
    };
    let pids = cgroup.pids().unwrap_or_default();
    if !pids.is_empty() {
        return invalid!(
            "linux.cgroupsPath",
            path(),
            "container's cgroup is not empty: {} process(es) already in it",
            pids.len()
        );
    }
    if cgroup.is_frozen().unwrap_or(false) {
        return invalid!(
            "linux.cgroupsPath",
            path(),
            "container's cgroup unexpectedly frozen (thaw it or choose another cgroupsPath)"
        );
    }
    Ok(())
}

fn raw(fd: &OwnedFd) -> RawFd {
    std::os::fd::AsRawFd::as_raw_fd(fd)
}

fn bind_mount(host: &Path, dest: &str) -> Result<Mount> {
    MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(host)
        .options(vec!["rbind".to_string(), "rprivate".to_string()])
        .build()
        .map_err(|e| Error::invalid("mounts", dest, e.to_string()))
}

/// Writes the pid file atomically (temp file + rename), as runc does.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write pid file", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::io("write pid file", path, e))
}
