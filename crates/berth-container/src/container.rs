//! A handle on an existing container: what `berth pause/resume/update/ps/events` do, for
//! library users too. Reading takes no lock (a snapshot of `state.json`); every operation
//! that changes the container takes the state dir's lock and re-reads the state under it,
//! so it acts on what is current, not on the snapshot.

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use oci_spec::runtime::{LinuxResources, Spec};

use crate::error::Operation;
use crate::state::{self, Lock, OciState, Root, Saved, Status};
use crate::{Error, Result};

/// One container under a state root, as last read from its `state.json`.
#[derive(Debug)]
pub struct Container {
    root: Root,
    saved: Saved,
}

impl Container {
    /// Reads the container's saved state without waiting for its lock (never blocks).
    pub fn load(root: &Root, id: &str) -> Result<Container> {
        Ok(Container {
            root: root.clone(),
            saved: state::peek(root, id)?,
        })
    }

    pub fn id(&self) -> &str {
        &self.saved.id
    }

    /// Init's pid in the host pid namespace.
    pub fn pid(&self) -> i32 {
        self.saved.pid
    }

    /// Derived now from init, the exec fifo and the freezer.
    pub fn status(&self) -> Status {
        self.saved.status(&self.root)
    }

    /// The OCI state as `berth state` prints it, with the current status.
    pub fn state(&self) -> OciState<'_> {
        self.saved.oci_state(self.status())
    }

    /// The config the container runs with, including every update made so far.
    pub fn config(&self) -> &Spec {
        &self.saved.config
    }

    /// The resources in force: the config's, with every update merged in.
    pub fn resources(&self) -> LinuxResources {
        resources_of(&self.saved.config)
    }

    /// The container's cgroup directory for `controller`, to read its files.
    pub fn cgroup_path(&self, controller: &str) -> Option<&Path> {
        self.saved.cgroup.path(controller)
    }

    /// Freezes every process of the container (runc refuses unless running or created).
    pub fn pause(&self) -> Result<()> {
        let (_lock, saved) = self.locked()?;
        match saved.status(&self.root) {
            Status::Running | Status::Created => {}
            // runc answers the same for a paused container.
            status => return Err(self.wrong(Operation::Pause, status)),
        }
        if !saved.cgroup.has_cgroup() {
            return Err(crate::no_cgroup::refuse("pause", &saved));
        }
        Ok(saved.cgroup.freeze()?)
    }

    /// Thaws a paused container.
    pub fn resume(&self) -> Result<()> {
        let (_lock, saved) = self.locked()?;
        let status = saved.status(&self.root);
        if status != Status::Paused {
            return Err(self.wrong(Operation::Resume, status));
        }
        Ok(saved.cgroup.thaw()?)
    }

    /// Changes the limits of a live container: only the fields set in `resources`, all of
    /// them or none (the cgroup manager restores on failure). Then merges them into the
    /// saved config, so later commands and `config()` see them.
    pub fn update(&mut self, resources: &LinuxResources) -> Result<()> {
        let (lock, mut saved) = self.locked()?;
        if saved.status(&self.root) == Status::Stopped {
            return Err(self.wrong(Operation::Update, Status::Stopped));
        }
        if !saved.cgroup.has_cgroup() {
            return Err(crate::no_cgroup::refuse("update", &saved));
        }
        let current = resources_of(&saved.config);
        let mut r = resources.clone();
        // Swap alone is checked against (and ordered with) the memory limit in force.
        if let Some(m) = *r.memory() {
            if m.swap().is_some() && m.limit().is_none() {
                if let Some(l) = current.memory().as_ref().and_then(|cm| cm.limit()) {
                    let mut m2 = m;
                    m2.set_limit(Some(l));
                    r.set_memory(Some(m2));
                }
            }
        }
        saved.cgroup.update(&r)?;
        let mut merged = current;
        merge(&mut merged, &r);
        if let Some(linux) = saved.config.linux_mut() {
            linux.set_resources(Some(merged));
        }
        lock.save(&saved)?;
        self.saved = saved;
        Ok(())
    }

    /// Resource usage now, in the shape `runc events --stats` prints.
    pub fn stats(&self) -> Result<berth_cgroups::Stats> {
        if !self.saved.cgroup.has_cgroup() {
            return Err(crate::no_cgroup::refuse("stats of", &self.saved));
        }
        Ok(self.saved.cgroup.stats()?)
    }

    /// Host pids of every process in the container's cgroup, sorted.
    pub fn processes(&self) -> Result<Vec<i32>> {
        if !self.saved.cgroup.has_cgroup() {
            return crate::no_cgroup::pids(&self.saved);
        }
        let mut pids = self.saved.cgroup.pids()?;
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Stats every `interval` and each OOM kill as it happens, until the container stops.
    /// OOM kills and the end come from the kernel (an OOM notification fd, a pidfd of
    /// init), not from polling; without them, both are checked ten times a second.
    pub fn events(&self, interval: Duration) -> Events<'_> {
        let ooms = self.saved.cgroup.oom_counts().ok();
        let oom_watch = match self.saved.cgroup.watch_oom() {
            Ok(w) => Some(w),
            Err(e) => {
                log::debug!("events: oom notifications for {}: {e}", self.id());
                None
            }
        };
        // Opened before the status check: a pidfd of a reused pid would wait on a stranger.
        let exit_fd = crate::sys::pidfd_open(self.pid())
            .ok()
            .filter(|_| self.status() != Status::Stopped);
        Events {
            c: self,
            interval,
            next_stats: Instant::now() + interval,
            ooms,
            oom_watch,
            exit_fd,
            settle_until: None,
            done: false,
        }
    }

    /// Takes the lock and reads the state as it is now.
    fn wrong(&self, op: Operation, status: Status) -> Error {
        Error::WrongState {
            id: self.id().to_string(),
            op,
            status,
        }
    }

    fn locked(&self) -> Result<(Lock, Saved)> {
        let lock = Lock::existing(&self.root, self.id())?;
        let saved = lock.load(self.id())?;
        Ok((lock, saved))
    }
}

/// What `Container::events` yields.
#[derive(Debug)]
pub enum Event {
    Stats(Box<berth_cgroups::Stats>),
    /// The memory cgroup recorded one or more OOM kills since the last event.
    Oom,
}

/// The event stream of one container; ends when the container stops. A failed stats read
/// is an `Err` item, and the stream goes on.
pub struct Events<'a> {
    c: &'a Container,
    interval: Duration,
    next_stats: Instant,
    /// The OOM counters as last seen; None without a memory controller.
    ooms: Option<berth_cgroups::OomCounts>,
    oom_watch: Option<berth_cgroups::OomWatch>,
    /// Readable when init exits.
    exit_fd: Option<OwnedFd>,
    /// The kernel tells of an OOM (v1's eventfd, v2's `oom` count) before the killer
    /// has counted its kill: after that, the kill count is looked at again briefly
    /// until this time.
    settle_until: Option<Instant>,
    done: bool,
}

/// How often to look when the kernel cannot tell: no OOM watch, or no pidfd.
const FALLBACK_POLL: Duration = Duration::from_millis(100);
/// How long, and how often, to look for the kill after an OOM notification.
const SETTLE: Duration = Duration::from_millis(500);
const SETTLE_POLL: Duration = Duration::from_millis(10);

impl Events<'_> {
    /// Reads the counters: whether a kill was counted since the last look, and
    /// whether an OOM began (v2 counts it before the kill; its inotify event comes
    /// later, from a kernel worker, and can arrive after init's exit).
    fn look(&mut self) -> (bool, bool) {
        let (Some(seen), Ok(now)) = (self.ooms, self.c.saved.cgroup.oom_counts()) else {
            return (false, false);
        };
        self.ooms = Some(now);
        (now.kills > seen.kills, now.ooms > seen.ooms)
    }

    /// Sleeps until the next stats are due, an OOM notification or init's exit.
    fn wait(&self) {
        let left = self.next_stats.saturating_duration_since(Instant::now());
        let left = if self.settle_until.is_some_and(|t| Instant::now() < t) {
            left.min(SETTLE_POLL)
        } else if self.oom_watch.is_none() || self.exit_fd.is_none() {
            left.min(FALLBACK_POLL)
        } else {
            left
        };
        let mut fds: Vec<PollFd<'_>> = [
            self.oom_watch.as_ref().map(|w| w.as_fd()),
            self.exit_fd.as_ref().map(|f| f.as_fd()),
        ]
        .into_iter()
        .flatten()
        .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
        .collect();
        let ms =
            PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        // An interruption or error only ends this wait early; the caller looks again.
        let _ = poll(&mut fds, ms);
    }
}

impl Iterator for Events<'_> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        while !self.done {
            let notified = self.oom_watch.as_ref().is_some_and(|w| w.drain());
            let (killed, began) = self.look();
            if killed {
                self.settle_until = None;
                return Some(Ok(Event::Oom));
            }
            if notified || began {
                self.settle_until = Some(Instant::now() + SETTLE);
            }
            if self.c.status() == Status::Stopped {
                self.done = true;
                // The OOM killer counts its kill after sending SIGKILL, so init can be
                // gone first: after a notification, give the counter its settle time.
                loop {
                    if self.look().0 {
                        return Some(Ok(Event::Oom));
                    }
                    if self.settle_until.is_none_or(|t| Instant::now() >= t) {
                        return None;
                    }
                    std::thread::sleep(SETTLE_POLL);
                }
            }
            if Instant::now() >= self.next_stats {
                self.next_stats += self.interval;
                if self.next_stats < Instant::now() {
                    self.next_stats = Instant::now() + self.interval;
                }
                return Some(self.c.stats().map(|s| Event::Stats(Box::new(s))));
            }
            self.wait();
        }
        None
    }
}

fn resources_of(config: &Spec) -> LinuxResources {
    config
        .linux()
        .as_ref()
        .and_then(|l| l.resources().clone())
        .unwrap_or_default()
}

/// Merges the fields set in `new` into `old` (the saved config's resources).
fn merge(old: &mut LinuxResources, new: &LinuxResources) {
    if let Some(c) = new.cpu() {
        let mut o = old.cpu().clone().unwrap_or_default();
        macro_rules! take {
            ($get:ident, $set:ident) => {
                if c.$get().is_some() {
                    o.$set(c.$get().clone());
                }
            };
        }
        take!(shares, set_shares);
        take!(quota, set_quota);
        take!(period, set_period);
        take!(burst, set_burst);
        take!(realtime_period, set_realtime_period);
        take!(realtime_runtime, set_realtime_runtime);
        take!(cpus, set_cpus);
        take!(mems, set_mems);
        take!(idle, set_idle);
        old.set_cpu(Some(o));
    }
    if let Some(m) = new.memory() {
        let mut o = old.memory().unwrap_or_default();
        macro_rules! take {
            ($get:ident, $set:ident) => {
                if m.$get().is_some() {
                    o.$set(m.$get());
                }
            };
        }
        take!(limit, set_limit);
        take!(reservation, set_reservation);
        take!(swap, set_swap);
        take!(swappiness, set_swappiness);
        take!(disable_oom_killer, set_disable_oom_killer);
        take!(kernel_tcp, set_kernel_tcp);
        old.set_memory(Some(o));
    }
    // A pids without limit never reaches here (see config_json); 0 is a limit of 1.
    if let Some(p) = new.pids() {
        old.set_pids(Some(*p));
    }
    if let Some(b) = new.block_io() {
        let mut o = old.block_io().clone().unwrap_or_default();
        if b.weight().is_some() {
            o.set_weight(b.weight());
        }
        if b.leaf_weight().is_some() {
            o.set_leaf_weight(b.leaf_weight());
        }
        if b.weight_device().as_ref().is_some_and(|v| !v.is_empty()) {
            o.set_weight_device(b.weight_device().clone());
        }
        if b.throttle_read_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            o.set_throttle_read_bps_device(b.throttle_read_bps_device().clone());
        }
        if b.throttle_write_bps_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            o.set_throttle_write_bps_device(b.throttle_write_bps_device().clone());
        }
        if b.throttle_read_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            o.set_throttle_read_iops_device(b.throttle_read_iops_device().clone());
        }
        if b.throttle_write_iops_device()
            .as_ref()
            .is_some_and(|v| !v.is_empty())
        {
            o.set_throttle_write_iops_device(b.throttle_write_iops_device().clone());
        }
        old.set_block_io(Some(o));
    }
    if let Some(h) = new.hugepage_limits() {
        if !h.is_empty() {
            let mut o = old.hugepage_limits().clone().unwrap_or_default();
            for l in h {
                o.retain(|x| x.page_size() != l.page_size());
                o.push(l.clone());
            }
            old.set_hugepage_limits(Some(o));
        }
    }
    if let Some(n) = new.network() {
        old.set_network(Some(n.clone()));
    }
    if let Some(u) = new.unified() {
        let mut o = old.unified().clone().unwrap_or_default();
        o.extend(u.iter().map(|(k, v)| (k.clone(), v.clone())));
        old.set_unified(Some(o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn merge_keeps_unchanged_fields() {
        let mut old = res(
            r#"{"memory":{"limit":1000000,"reservation":5},"cpu":{"shares":100,"quota":50000},"pids":{"limit":20}}"#,
        );
        merge(
            &mut old,
            &res(r#"{"memory":{"limit":2097152},"cpu":{"shares":300}}"#),
        );
        let m = old.memory().as_ref().unwrap();
        assert_eq!((m.limit(), m.reservation()), (Some(2 << 20), Some(5)));
        let c = old.cpu().as_ref().unwrap();
        assert_eq!((c.shares(), c.quota()), (Some(300), Some(50000)));
        assert_eq!(old.pids().as_ref().unwrap().limit(), 20);
    }

    #[test]
    fn merge_replaces_hugepage_limits_by_size_and_adds_sections() {
        let mut old = res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#);
        merge(
            &mut old,
            &res(
                r#"{"hugepageLimits":[{"pageSize":"2MB","limit":8388608}],"pids":{"limit":7},"blockIO":{"weight":300}}"#,
            ),
        );
        let h = old.hugepage_limits().as_ref().unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].limit(), 8388608);
        assert_eq!(old.pids().as_ref().unwrap().limit(), 7);
        assert_eq!(old.block_io().as_ref().unwrap().weight(), Some(300));
    }
}
