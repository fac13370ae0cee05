//! `berth`: runc's command line over the berth crates. This file only parses
//! arguments and hands them to the commands; no container logic lives here.

mod commands;
mod default_root;
mod foreground;
mod logging;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    disable_version_flag = true,
    about = "a drop-in for \"runc - Open Container Initiative runtime\": a low-level Linux container runtime with networking built in"
)]
pub struct Cli {
    /// Root directory for container state [default: /run/berth, or $XDG_RUNTIME_DIR/berth for a user other than root]
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Log file (default: stderr)
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Enable debug logging
    #[arg(long, global = true)]
    debug: bool,
    // An id other than "version": clap drops an arg of that id when its own
    // version flag is disabled.
    /// Print the version
    #[arg(short = 'v', long = "version", id = "print_version")]
    print_version: bool,
    /// runc's flag for its systemd cgroup driver: refused, berth has none (it manages cgroupfs)
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility (checkpointing is not supported)
    #[arg(long, global = true, hide = true)]
    criu: Option<String>,
    /// Accepted for runc compatibility (true|false|auto)
    #[arg(long = "rootless", id = "global_rootless", hide = true)]
    rootless: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct CreateArgs {
    /// Path to the bundle directory
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when process.terminal is true
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the container's init
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
    /// File to write the container init's pid to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Do not create a new session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3 .. 3+N-1) to the container
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Container id
    pub id: String,
}

// Only the subcommand that runs gets its arguments built: building all of them
// (spec's docker flags, update, network, ...) on every call cost time and pages.
#[derive(Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Create a container (it waits for `start`)
    Create(CreateArgs),
    /// Start a created container
    Start { id: String },
    /// Create and start a container
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Detach from the container's process
        #[arg(short, long)]
        detach: bool,
        /// Do not delete the container after it exits
        #[arg(long)]
        keep: bool,
        /// Disable the use of the subreaper used to reap reparented processes
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
    },
    /// Print the state of a container as OCI state JSON
    State { id: String },
    /// Send a signal (default SIGTERM) to the container's init
    Kill {
        /// Signal every process in the container's cgroup
        #[arg(short, long)]
        all: bool,
        id: String,
        #[arg(default_value = "SIGTERM")]
        signal: String,
    },
    /// Delete a stopped container and everything it holds
    Delete {
        /// Kill the container first if it is running
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// List containers
    List {
        #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
        /// Print only ids
        #[arg(short, long)]
        quiet: bool,
    },
    /// Write a default config.json
    Spec(commands::spec::SpecArgs),
    /// Run a new process inside a running container
    Exec(commands::exec::ExecArgs),
    /// Change the resource limits of a running container
    Update(commands::update::UpdateArgs),
    /// Freeze every process of a container
    Pause { id: String },
    /// Thaw a paused container
    Resume { id: String },
    /// List the processes of a container
    Ps(commands::ps::PsArgs),
    /// Print resource usage and OOM events of a container
    Events(commands::events::EventsArgs),
    /// Manage berth's bridge networks
    Network(commands::network::NetworkArgs),
    /// Print what this runtime supports, as JSON
    Features,
    /// Checkpoint a running container (not supported: berth has no CRIU integration)
    Checkpoint(commands::Unsupported),
    /// Restore a checkpointed container (not supported: berth has no CRIU integration)
    Restore(commands::Unsupported),
}

/// Commands that only print, as opposed to those that run or proxy a container
/// (which keep SIGPIPE ignored and see EPIPE as an error).
fn prints_a_report(c: &Command) -> bool {
    matches!(
        c,
        Command::State { .. }
            | Command::List { .. }
            | Command::Spec(_)
            | Command::Ps(_)
            | Command::Features
    )
}

fn main() -> ExitCode {
    let cli = match usage::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let to_file = cli.log.is_some();
    if let Err(e) =
        logging::Logger::install(cli.log.as_deref(), cli.log_format == "json", cli.debug)
    {
        eprintln!("berth: open log file: {e}");
        return ExitCode::from(1);
    }
    if cli.systemd_cgroup {
        // Accepting it and writing cgroupfs anyway would put the container
        // where the engine (and systemd) will never look for it.
        logging::fatal(
            "--systemd-cgroup: berth has no systemd cgroup driver; configure the engine for cgroupfs",
            to_file,
        );
        return ExitCode::from(1);
    }
    if prints_a_report(&cli.command) {
        // `berth features | head`: a reader that goes away ends the report
        // quietly (SIGPIPE), instead of println! panicking on EPIPE.
        // SAFETY: restores the default disposition; no handler involved.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    match commands::dispatch(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            logging::fatal(&e.to_string(), to_file);
            ExitCode::from(
                e.downcast_ref::<commands::ExitError>()
                    .map_or(1, |x| x.code),
            )
        }
    }
}
