//! One function per command: translate arguments, call the crates, print.

pub mod events;
pub mod exec;
pub mod features;
pub mod network;
pub mod pause;
pub mod ps;
pub mod spec;
pub mod spec_network;
pub mod spec_resources;
pub mod spec_security;
pub mod update;

use berth_container::{Container, CreateOptions, Root, Status};
use std::path::Path;

use crate::{Cli, Command, CreateArgs};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// An error that exits with a code other than 1 (runc's 255 for an exec that could not start).
#[derive(Debug)]
pub struct ExitError {
    pub code: u8,
    msg: String,
}

impl ExitError {
    pub fn new(code: u8, msg: String) -> ExitError {
        ExitError { code, msg }
    }
}

impl std::fmt::Display for ExitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ExitError {}

// A runc command berth does not implement: its flags are taken as they come
// so that `-h` works and the refusal names the command, not a flag. (Not a doc
// comment: clap would show it in place of the command's own line in its help.)
#[derive(clap::Args)]
pub struct Unsupported {
    /// runc's flags and the container id
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

pub fn dispatch(cli: &Cli) -> Result<u8> {
    let root = Root::new(
        cli.root
            .clone()
            .unwrap_or_else(crate::default_root::default_root),
    );
    match &cli.command {
        Command::Create(a) => {
            berth_container::create(&root, &options(a, false))?;
            Ok(0)
        }
        Command::Start { id } => {
            berth_container::start(&root, id)?;
            Ok(0)
        }
        Command::Run {
            create,
            detach,
            keep,
            no_subreaper,
        } => {
            let mode = crate::foreground::Mode {
                detach: *detach,
                keep: *keep,
                subreaper: !no_subreaper,
            };
            crate::foreground::run(&root, &options(create, !detach), mode)
        }
        Command::State { id } => {
            let c = Container::load(&root, id)?;
            println!("{}", serde_json::to_string_pretty(&c.state())?);
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            berth_container::kill(&root, id, berth_container::parse_signal(signal)?, *all)?;
            Ok(0)
        }
        Command::Delete { force, id } => {
            berth_container::delete(&root, id, *force)?;
            Ok(0)
        }
        Command::List { format, quiet } => {
            // The default root may not exist yet (nothing created); a root
            // the caller named must (as runc).
            if let Some(r) = cli.root.as_deref().filter(|r| !r.exists()) {
                return Err(format!("open {}: no such file or directory", r.display()).into());
            }
            list(&root, format, *quiet)
        }
        Command::Spec(a) => spec::run(a),
        Command::Exec(a) => exec::run(&root, a),
        Command::Update(a) => update::run(&root, a),
        Command::Pause { id } => pause::pause(&root, id),
        Command::Resume { id } => pause::resume(&root, id),
        Command::Ps(a) => ps::run(&root, a),
        Command::Events(a) => events::run(&root, a),
        Command::Network(a) => network::run(&root, a),
        Command::Features => {
            println!("{}", serde_json::to_string_pretty(&features::features())?);
            Ok(0)
        }
        Command::Checkpoint(_) | Command::Restore(_) => {
            Err("checkpoint/restore: not supported (berth has no CRIU integration)".into())
        }
    }
}

fn options(a: &CreateArgs, foreground: bool) -> CreateOptions {
    CreateOptions {
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        console_socket: a.console_socket.clone(),
        pidfd_socket: a.pidfd_socket.clone(),
        pid_file: a.pid_file.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        foreground,
    }
}

fn list(root: &Root, format: &str, quiet: bool) -> Result<u8> {
    let all = berth_container::list(root)?;
    if quiet {
        for c in &all {
            println!("{}", c.saved.id());
        }
    } else if format == "json" {
        let states: Vec<_> = all.iter().map(|c| c.saved.oci_state(c.status)).collect();
        println!("{}", serde_json::to_string(&states)?);
    } else {
        let mut rows =
            vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
        for c in &all {
            let pid = if c.status == Status::Stopped {
                0
            } else {
                c.saved.pid()
            };
            rows.push([
                c.saved.id().to_string(),
                pid.to_string(),
                c.status.to_string(),
                c.saved.bundle().display().to_string(),
                c.saved.created().to_string(),
                owner(&c.saved.state_dir(root)),
            ]);
        }
        print_table(&rows);
    }
    Ok(0)
}

/// The user owning a container's state directory, as runc's list shows it.
fn owner(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = dir.metadata().map(|m| m.uid()) else {
        return String::new();
    };
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("#{uid}"),
    }
}

/// Prints rows as left-aligned columns three spaces apart, the first row being the header.
pub fn print_table<const N: usize>(rows: &[[String; N]]) {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
}
