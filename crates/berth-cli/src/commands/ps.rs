//! `berth ps`: the processes in a container's cgroup, as `runc ps` shows them: a JSON array
//! of host pids, or the host's `ps` output (default `ps -ef`) cut down to those pids.

use std::process::Command;

use berth_container::{Container, Root};

use super::Result;

#[derive(clap::Args, Debug)]
pub struct PsArgs {
    /// Output format: table (the host's ps) or json (an array of pids)
    #[arg(short, long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Container id
    pub id: String,
    /// Arguments for ps (default -ef)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PS ARGS"
    )]
    pub ps_args: Vec<String>,
}

pub fn run(root: &Root, a: &PsArgs) -> Result<u8> {
    let pids = Container::load(root, &a.id)?.processes()?;
    if a.format == "json" {
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(0);
    }
    let args: Vec<&str> = if a.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        a.ps_args.iter().map(String::as_str).collect()
    };
    let out = Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| format!("running ps: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "ps {}: {}",
            args.join(" "),
            err.lines().next().unwrap_or("failed")
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{}", filter(&text, &pids)?);
    Ok(0)
}

/// Keeps ps's header and the lines whose PID column holds one of `pids`.
pub fn filter(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let idx = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or("couldn't find PID field in ps output")?;
    let mut out = format!("{header}\n");
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let field = line.split_whitespace().nth(idx).unwrap_or("");
        let pid: i32 = field
            .parse()
            .map_err(|_| format!("unable to parse pid {field:?} in ps output line {line:?}"))?;
        if pids.contains(&pid) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: PsArgs,
    }

    #[test]
    fn ps_args_after_id() {
        let t = T::try_parse_from(["t", "c1", "-eo", "pid,comm"]).unwrap();
        assert_eq!(t.a.id, "c1");
        assert_eq!(t.a.ps_args, ["-eo", "pid,comm"]);
        let t = T::try_parse_from(["t", "--format", "json", "c1"]).unwrap();
        assert_eq!(t.a.format, "json");
        assert!(t.a.ps_args.is_empty());
        let t = T::try_parse_from(["t", "c1", "--", "-ef"]).unwrap();
        assert_eq!(t.a.ps_args, ["-ef"]);
    }

    #[test]
    fn keeps_header_and_container_pids() {
        let ps = "UID   PID  PPID  C STIME TTY TIME CMD\nroot  1  0  0 10:00 ? 00:00:01 init\nroot  42  1  0 10:00 ? 00:00:00 sleep 60\nroot  420  1  0 10:00 ? 00:00:00 other\n";
        assert_eq!(
            filter(ps, &[42]).unwrap(),
            "UID   PID  PPID  C STIME TTY TIME CMD\nroot  42  1  0 10:00 ? 00:00:00 sleep 60\n"
        );
        let ps2 = "  PID COMMAND\n   42 sleep\n  43 sh\n";
        assert_eq!(filter(ps2, &[43]).unwrap(), "  PID COMMAND\n  43 sh\n");
        assert!(filter("USER COMMAND\nroot x\n", &[1])
            .unwrap_err()
            .to_string()
            .contains("PID"));
    }
}
