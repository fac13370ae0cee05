//! Launching a process into a container: one child routine ([`child`]) and
//! one parent routine ([`parent::converse`]) shared by a container's init
//! (`create`) and by `exec`, with typed messages ([`messages`]) between them.
//!
//! The conversation, in order (`[..]` only when the config asks for it):
//! ```text
//! runtime (parent)                          launched process (child)
//! ----------------                          ------------------------
//! fork ───────────────────────────────────▶ isolate: non-dumpable, close every fd
//! place the child in the cgroup              but stdio, --preserve-fds and its own;
//!                                           exec stage memfd
//! exec: InCgroup ─────────────────────────▶ exec: setns(pidfd, every namespace)
//!                                           init: join namespaces by path, unshare
//!   ◀───────────────────────────────────── [init: NeedIdMaps]
//! write uid_map/gid_map, IdMapsWritten ───▶
//!                                           [init: new time namespace, its offsets]
//!                                           [second fork: the intermediate sends
//!                                            Pid(n) and exits; n is the real process]
//!   ◀───────────────────────────────────── Pid
//! init: oom_score_adj, network attach,
//!   Setup(state JSON) ────────────────────▶ cgroup ns, setsid, hostname, mounts
//!   ◀───────────────────────────────────── [init: MountSource(n), per bind mount
//!                                             that is id-mapped or in a user namespace]
//! open it in init's mount ns, hand it back ▶
//! exec: PidRecorded ──────────────────────▶ setsid, --user
//!   ◀───────────────────────────────────── [init: RunCreateHooks]
//! device rules (the nodes exist now),
//! prestart, createRuntime hooks,
//!   CreateHooksDone ──────────────────────▶ createContainer hooks, pivot_root
//!   ◀───────────────────────────────────── [Console(pty master)]
//!                                           init: sysctls, masked paths, keyring
//!                                           every CPU; scheduler, ioprio, personality,
//!                                           memory policy; close fds again; resolve the program;
//!                                           LSM labels; rlimits, caps, user, cwd
//!   ◀───────────────────────────────────── [SeccompListener(fd)]
//! hand it to the agent, ListenerDelivered ▶
//!   ◀───────────────────────────────────── Ready
//! init: [pidfd to --pidfd-socket],
//!   save state, exit                        init: wait on the exec fifo (start);
//!                                           startContainer hooks
//! exec: wait                                seccomp; exec stage ──▶ program
//!   ◀───────────────────────────────────── end of stream (the stage's execve
//!                                           closed the channel) or ExecFailed(errno)
//! exec: [pidfd to --pidfd-socket]
//! ```
//! Any step that fails sends `Failed(why)` and exits.

pub(crate) mod child;
pub(crate) mod messages;
pub(crate) mod parent;

pub(crate) use child::{ExecJob, InitJob, Job, Kind};
