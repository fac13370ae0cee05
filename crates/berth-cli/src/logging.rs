//! runc-style logging: `--log FILE` (default stderr), `--log-format text|json`
//! (JSON lines with level, msg, time, which containerd parses), `--debug`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

pub struct Logger {
    json: bool,
    file: Option<Mutex<File>>,
}

impl Logger {
    pub fn install(path: Option<&Path>, json: bool, debug: bool) -> std::io::Result<()> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            )),
            None => None,
        };
        log::set_boxed_logger(Box::new(Logger { json, file })).ok();
        log::set_max_level(if debug {
            LevelFilter::Debug
        } else {
            LevelFilter::Warn
        });
        Ok(())
    }

    fn line(&self, level: Level, msg: &str) -> String {
        let level = level.as_str().to_ascii_lowercase();
        if self.json {
            let time = berth_container::state::now_rfc3339();
            format!(
                "{}\n",
                serde_json::json!({ "level": level, "msg": msg, "time": time })
            )
        } else {
            // logrus's text form, which engines and people grep (`level=`).
            let time = berth_container::state::now_rfc3339();
            let level = if level == "warn" {
                "warning"
            } else {
                level.as_str()
            };
            format!("time={time:?} level={level} msg={msg:?}\n")
        }
    }
}

impl Log for Logger {
    fn enabled(&self, m: &Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let line = self.line(r.level(), &r.args().to_string());
        match &self.file {
            Some(f) => {
                if let Ok(mut f) = f.lock() {
                    let _ = f.write_all(line.as_bytes());
                }
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

/// Reports a fatal error: to the log (when it is a file) and as one line on stderr.
pub fn fatal(msg: &str, logging_to_file: bool) {
    if logging_to_file {
        log::error!("{msg}");
    }
    eprintln!("berth: {msg}");
}
