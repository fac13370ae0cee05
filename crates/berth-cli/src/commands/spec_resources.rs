//! `berth spec` resource flags, named as `docker run` names them: they fill
//! `linux.resources` of the generated config. Sizes take docker's units (b, k, m, g; a bare
//! number is bytes).

use berth_cgroups::parse_memory_size;
use oci_spec::runtime::{LinuxCpu, LinuxPids, Spec};

use super::Result;

#[derive(clap::Args, Debug, Default, PartialEq)]
#[command(next_help_heading = "Resources (docker run names)")]
pub struct ResourceFlags {
    /// CPU shares, relative weight 2-262144 (docker's -c)
    #[arg(long = "cpu-shares", value_name = "N", allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,
    /// Memory limit, e.g. 1024m, 1g, 512k (bare number: bytes; -1: unlimited)
    #[arg(long = "memory", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory + swap limit, at least --memory (-1: unlimited swap)
    #[arg(long = "memory-swap", value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids (-1: unlimited)
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// CPUs the container may use, e.g. 0-1,3
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
}

fn bad(flag: &str, value: &str, why: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("--{flag} {value:?}: {why}").into()
}

fn size(flag: &str, v: &str) -> Result<i64> {
    let n = parse_memory_size(v).map_err(|e| bad(flag, v, e))?;
    if n == 0 {
        return Err(bad(flag, v, "must be -1 (unlimited) or a positive size"));
    }
    Ok(n)
}

/// "0-3,5": comma-separated cpu numbers or ranges.
fn check_cpu_list(v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.split(',').all(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            matches!((a.parse::<u32>(), b.parse::<u32>()), (Ok(a), Ok(b)) if a <= b)
        });
    if ok {
        Ok(())
    } else {
        Err(bad("cpuset-cpus", v, "expected a list of cpus like 0-3,5"))
    }
}

impl ResourceFlags {
    pub fn apply(&self, spec: &mut Spec) -> Result<()> {
        let shares = match &self.cpu_shares {
            Some(v) => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad("cpu-shares", v, "expected a whole number"))?;
                if !(2..=262_144).contains(&n) {
                    return Err(bad("cpu-shares", v, "must be between 2 and 262144"));
                }
                Some(n as u64)
            }
            None => None,
        };
        let limit = self
            .memory
            .as_deref()
            .map(|v| size("memory", v))
            .transpose()?;
        let swap = self
            .memory_swap
            .as_deref()
            .map(|v| size("memory-swap", v))
            .transpose()?;
        if let (Some(s), Some(v)) = (swap, &self.memory_swap) {
            match limit {
                None => return Err(bad("memory-swap", v, "needs --memory as well")),
                Some(l) if s != -1 && (l == -1 || s < l) => {
                    return Err(bad(
                        "memory-swap",
                        v,
                        "must be -1 or at least --memory (it is memory + swap)",
                    ))
                }
                _ => {}
            }
        }
        let pids = match &self.pids_limit {
            Some(v) => {
                let n: i64 = v
                    .trim()
                    .parse()
                    .map_err(|_| bad("pids-limit", v, "expected a whole number"))?;
                if n == 0 || n < -1 {
                    return Err(bad(
                        "pids-limit",
                        v,
                        "must be -1 (unlimited) or a positive number",
                    ));
                }
                Some(n)
            }
            None => None,
        };
        if let Some(v) = &self.cpuset_cpus {
            check_cpu_list(v.trim())?;
        }
        if shares.is_none() && limit.is_none() && pids.is_none() && self.cpuset_cpus.is_none() {
            return Ok(());
        }
        let Some(linux) = spec.linux_mut() else {
            return Err("berth spec: the config has no linux section".into());
        };
        let mut r = linux.resources().clone().unwrap_or_default();
        if shares.is_some() || self.cpuset_cpus.is_some() {
            let mut c = r.cpu().clone().unwrap_or_else(LinuxCpu::default);
            if shares.is_some() {
                c.set_shares(shares);
            }
            if let Some(v) = &self.cpuset_cpus {
                c.set_cpus(Some(v.trim().to_string()));
            }
            r.set_cpu(Some(c));
        }
        if limit.is_some() {
            let mut m = r.memory().unwrap_or_default();
            m.set_limit(limit);
            if swap.is_some() {
                m.set_swap(swap);
            }
            r.set_memory(Some(m));
        }
        if let Some(n) = pids {
            let mut p = LinuxPids::default();
            p.set_limit(n);
            r.set_pids(Some(p));
        }
        linux.set_resources(Some(r));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        f: ResourceFlags,
    }

    fn spec_with(args: &[&str]) -> Result<Spec> {
        let t = T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))?;
        let mut spec = Spec::default();
        t.f.apply(&mut spec)?;
        Ok(spec)
    }

    #[test]
    fn flags_fill_resources() {
        let s = spec_with(&[
            "--cpu-shares",
            "10",
            "--memory",
            "1024m",
            "--memory-swap",
            "2g",
            "--pids-limit",
            "50",
            "--cpuset-cpus",
            "0-1",
        ])
        .unwrap();
        let r = s.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(10));
        assert_eq!(r.cpu().as_ref().unwrap().cpus().as_deref(), Some("0-1"));
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(1_073_741_824));
        assert_eq!(r.memory().as_ref().unwrap().swap(), Some(2 << 30));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 50);
        for (m, want) in [
            ("512k", 512 << 10),
            ("1G", 1 << 30),
            ("100", 100),
            ("-1", -1),
        ] {
            let s = spec_with(&["--memory", m]).unwrap();
            let r = s.linux().as_ref().unwrap().resources().as_ref().unwrap();
            assert_eq!(r.memory().as_ref().unwrap().limit(), Some(want), "{m}");
        }
    }

    #[test]
    fn no_flags_no_change() {
        assert_eq!(spec_with(&[]).unwrap(), Spec::default());
    }

    #[test]
    fn bad_values_are_one_line_and_named() {
        for (args, named) in [
            (&["--cpu-shares", "0"][..], "\"0\""),
            (&["--cpu-shares", "-5"], "-5"),
            (&["--cpu-shares", "ten"], "ten"),
            (&["--memory", "1024x"], "1024x"),
            (&["--memory", "0"], "--memory"),
            (&["--memory", "1.5g"], "1.5g"),
            (&["--memory", "1g", "--memory-swap", "512m"], "512m"),
            (&["--memory-swap", "1g"], "--memory-swap"),
            (&["--pids-limit", "0"], "--pids-limit"),
            (&["--cpuset-cpus", "1-0"], "1-0"),
            (&["--cpuset-cpus", "a"], "cpuset-cpus"),
        ] {
            let e = spec_with(args).unwrap_err().to_string();
            assert!(e.contains(named), "{args:?}: {e}");
            assert!(!e.trim_end().contains('\n'), "{args:?}: {e}");
        }
    }
}
