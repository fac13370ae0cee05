//! The command line's own texts, laid out as runc's (urfave/cli) are, because
//! scripts and runc's tests read them: `NAME:` first, then `<bin> <cmd> - what`;
//! `-v`/`--version` as `… version X.Y.Z`, `commit:`, `spec:`; an unknown
//! command is `No help topic for '<name>'`.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use crate::Cli;

const ROOT_HELP: &str = "\
NAME:
   {bin} - {about}

USAGE:
   {usage}

COMMANDS:
{subcommands}

GLOBAL OPTIONS:
{options}
";

// `{name}` and `{cmd}` are filled in per command: clap's own `{bin}` would
// read `berth-create`. The name is the one the binary was called by, as runc's is.
const COMMAND_HELP: &str = "\
NAME:
   {name} {cmd} - {about}

USAGE:
   {usage}

{all-args}
";

/// The OCI runtime-spec version this build implements.
pub const SPEC_VERSION: &str = "1.2.1";

/// runc's release whose command line (and integration suite) berth follows.
const RUNC_CLI_VERSION: &str = "1.5.0";

/// The `-v` text: berth's own version first, then the runc command line it
/// follows in runc's `runc version X.Y.Z` words (which runc's tests look for).
fn version_text() -> String {
    format!(
        "berth version {} (command line of runc version {RUNC_CLI_VERSION})\ncommit: {}\nspec: {SPEC_VERSION}\n",
        env!("CARGO_PKG_VERSION"),
        option_env!("BERTH_GIT_COMMIT").unwrap_or("unknown"),
    )
}

/// The file name berth was run by (`berth`, or a link's name).
fn called_as() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "berth".to_string())
}

/// `berth spec -h NAME` is docker's hostname flag, but runc's `spec -h` (with
/// nothing after it) asks for help: when clap finds `-h` without its value at
/// the very end, the line is read again with `--help` there.
fn trailing_h_as_help(
    cmd: &mut clap::Command,
    mut args: Vec<std::ffi::OsString>,
) -> Result<clap::ArgMatches, clap::Error> {
    match cmd.try_get_matches_from_mut(args.clone()) {
        Err(e) if e.kind() == ErrorKind::InvalidValue && args.last().is_some_and(|a| a == "-h") => {
            if let Some(last) = args.last_mut() {
                *last = "--help".into();
            }
            cmd.try_get_matches_from_mut(args)
        }
        r => r,
    }
}

/// Parses the command line, or prints help, version or the error and returns the exit code.
pub fn parse() -> Result<Cli, ExitCode> {
    // Without a command, `-v` prints the version and nothing prints the help.
    let mut cmd = Cli::command()
        .subcommand_required(false)
        .arg_required_else_help(false)
        .help_template(ROOT_HELP)
        .mut_subcommands(|c| {
            let text = COMMAND_HELP
                .replace("{name}", &called_as())
                .replace("{cmd}", c.get_name());
            c.help_template(text)
        });
    let matches = match trailing_h_as_help(&mut cmd, std::env::args_os().collect()) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::InvalidSubcommand => {
            let name = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            eprintln!("berth: No help topic for '{name}'");
            return Err(ExitCode::from(1));
        }
        Err(e) => e.exit(),
    };
    if matches.subcommand().is_none() {
        if matches.get_flag("print_version") {
            print!("{}", version_text());
        } else {
            let _ = cmd.print_help();
        }
        return Err(ExitCode::SUCCESS);
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.exit())
}
