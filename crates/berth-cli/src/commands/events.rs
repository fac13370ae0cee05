//! `berth events`: resource usage and OOM notifications of a container, one JSON object per
//! line, as `runc events` prints them. `--stats` prints one stats event and exits; otherwise
//! it prints what `Container::events` yields (stats every `--interval`, an `oom` event
//! whenever the memory cgroup records an OOM kill) until the container stops.

use std::io::Write;
use std::time::Duration;

use berth_container::{Container, Root, Status};
use serde::Serialize;

use super::Result;

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// Print the container's stats once and exit
    #[arg(long)]
    pub stats: bool,
    /// Time between stats events, e.g. 5s, 500ms, 1m30s
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub interval: String,
    /// Container id
    pub id: String,
}

#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    typ: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a berth_cgroups::Stats>,
}

/// Parses a Go-style duration ("5s", "250ms", "1m30s", "1.5h"); it must be positive.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = |why: &str| -> Box<dyn std::error::Error> {
        format!("invalid --interval {s:?}: {why}").into()
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad("expected a duration such as 5s or 500ms"));
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_end);
        let n: f64 = num
            .parse()
            .map_err(|_| bad("expected a duration such as 5s or 500ms"))?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(bad("missing unit (ns, us, ms, s, m, h)")),
            _ => return Err(bad("unknown unit (use ns, us, ms, s, m or h)")),
        };
        total += n * scale;
        rest = tail;
    }
    if !(total > 0.0 && total < 1e9) {
        return Err(bad("must be positive"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Writes one event line; false once stdout is gone (the reader went away).
fn emit(out: &mut impl Write, e: &Event) -> bool {
    match serde_json::to_string(e) {
        Ok(line) => writeln!(out, "{line}").and_then(|_| out.flush()).is_ok(),
        Err(_) => true,
    }
}

pub fn run(root: &Root, a: &EventsArgs) -> Result<u8> {
    let interval = parse_duration(&a.interval)?;
    let c = Container::load(root, &a.id)?;
    if c.status() == Status::Stopped {
        return Err(format!("container with id {} is not running", a.id).into());
    }
    let id = c.id();
    let mut out = std::io::stdout().lock();
    if a.stats {
        let s = c.stats()?;
        emit(
            &mut out,
            &Event {
                typ: "stats",
                id,
                data: Some(&s),
            },
        );
        return Ok(0);
    }
    for ev in c.events(interval) {
        let printed = match ev {
            Ok(berth_container::Event::Stats(s)) => emit(
                &mut out,
                &Event {
                    typ: "stats",
                    id,
                    data: Some(&s),
                },
            ),
            Ok(berth_container::Event::Oom) => emit(
                &mut out,
                &Event {
                    typ: "oom",
                    id,
                    data: None,
                },
            ),
            Err(e) => {
                log::error!("events: stats of {id}: {e}");
                true
            }
        };
        if !printed {
            break;
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        for bad in ["", "5", "0s", "-1s", "5x", "s", "1..2s"] {
            let e = parse_duration(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn event_shapes() {
        let oom = serde_json::to_string(&Event {
            typ: "oom",
            id: "c1",
            data: None,
        })
        .unwrap();
        assert_eq!(oom, r#"{"type":"oom","id":"c1"}"#);
        let s = berth_cgroups::Stats::default();
        let v: serde_json::Value = serde_json::from_str(
            &serde_json::to_string(&Event {
                typ: "stats",
                id: "c1",
                data: Some(&s),
            })
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["type"], "stats");
        assert!(v["data"]["memory"]["usage"].is_object());
    }
}
