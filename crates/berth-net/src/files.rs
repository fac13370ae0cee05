//! The container's `/etc/hosts` and `/etc/resolv.conf`, generated as text and
//! written into its state directory for the container crate to bind-mount.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::store::write_atomic;
use crate::Result;

/// Name of the generated hosts file inside the state directory.
pub const HOSTS_NAME: &str = "hosts";
/// Name of the generated resolv.conf inside the state directory.
pub const RESOLV_NAME: &str = "resolv.conf";

const LOCALHOST_LINES: &str = "127.0.0.1\tlocalhost\n\
::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\n\
ff00::0\tip6-mcastprefix\n\
ff02::1\tip6-allnodes\n\
ff02::2\tip6-allrouters\n";

/// What goes into a hosts file.
pub struct HostsInput<'a> {
    /// The host's own hosts file, used instead of the localhost lines (host mode).
    pub base: Option<&'a str>,
    /// The container's address and host name, when it has both.
    pub own: Option<(Ipv4Addr, &'a str)>,
    /// `(alias, linked container's address)`.
    pub links: &'a [(String, Ipv4Addr)],
    /// `--add-host` entries.
    pub extra: &'a [(String, IpAddr)],
}

/// Builds the hosts file text.
pub fn hosts(input: &HostsInput) -> String {
    let mut out = String::new();
    match input.base {
        Some(base) => {
            out.push_str(base);
            if !base.is_empty() && !base.ends_with('\n') {
                out.push('\n');
            }
        }
        None => out.push_str(LOCALHOST_LINES),
    }
    if let Some((ip, name)) = input.own {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    for (alias, ip) in input.links {
        out.push_str(&format!("{ip}\t{alias}\n"));
    }
    for (name, ip) in input.extra {
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    out
}

fn is_loopback(word: &str) -> bool {
    // A nameserver may carry a scope (`fe80::1%eth0`); loopback ones never matter.
    let addr = word.split('%').next().unwrap_or(word);
    addr.parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Builds resolv.conf text. Each of name servers, search domains and options
/// comes from the request when it gives any, else from `host` (the host's
/// resolv.conf). Loopback name servers of the host are dropped unless
/// `keep_loopback` (host mode, where they are reachable).
pub fn resolv(
    host: &str,
    dns: &[IpAddr],
    search: &[String],
    options: &[String],
    keep_loopback: bool,
) -> String {
    let mut host_ns = Vec::new();
    let mut host_search: Vec<String> = Vec::new();
    let mut host_opts: Vec<String> = Vec::new();
    for line in host.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next() {
                    if keep_loopback || !is_loopback(ns) {
                        host_ns.push(ns.to_string());
                    }
                }
            }
            // The last of `search`/`domain` wins in glibc; keep that behaviour.
            Some("search") | Some("domain") => host_search = words.map(str::to_string).collect(),
            Some("options") => host_opts.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    let mut out = String::new();
    if dns.is_empty() {
        for ns in host_ns {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    } else {
        for ns in dns {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    let search: Vec<String> = if search.is_empty() {
        host_search
    } else {
        search.to_vec()
    };
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    let options: Vec<String> = if options.is_empty() {
        host_opts
    } else {
        options.to_vec()
    };
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Writes both files into `state_dir` and returns their paths. On error
/// nothing written by this call is left behind.
pub fn write(state_dir: &Path, hosts_text: &str, resolv_text: &str) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(state_dir)
        .map_err(|e| crate::Error::io("create directory", state_dir, e))?;
    let hosts_path = state_dir.join(HOSTS_NAME);
    let resolv_path = state_dir.join(RESOLV_NAME);
    write_atomic(&hosts_path, hosts_text.as_bytes())?;
    if let Err(e) = write_atomic(&resolv_path, resolv_text.as_bytes()) {
        let _ = std::fs::remove_file(&hosts_path);
        return Err(e);
    }
    Ok((hosts_path, resolv_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines() {
        let links = vec![("db".to_string(), Ipv4Addr::new(10, 0, 0, 3))];
        let extra = vec![("mirror".to_string(), "fd00::1".parse().unwrap())];
        let text = hosts(&HostsInput {
            base: None,
            own: Some((Ipv4Addr::new(10, 0, 0, 2), "web")),
            links: &links,
            extra: &extra,
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "127.0.0.1\tlocalhost");
        assert!(lines.contains(&"10.0.0.2\tweb"));
        assert!(lines.contains(&"10.0.0.3\tdb"));
        assert_eq!(*lines.last().unwrap(), "fd00::1\tmirror");
        let text = hosts(&HostsInput {
            base: Some("1.2.3.4 h"),
            own: None,
            links: &[],
            extra: &[],
        });
        assert_eq!(text, "1.2.3.4 h\n");
    }

    const HOST: &str =
        "# generated\nnameserver 127.0.0.53\nnameserver 10.1.1.1 # corp\nnameserver ::1\n\
nameserver fe80::1%eth0\noptions edns0 trust-ad\nsearch a.example b.example\n";

    #[test]
    fn resolv_from_host_drops_loopback() {
        let text = resolv(HOST, &[], &[], &[], false);
        assert_eq!(text, "nameserver 10.1.1.1\nnameserver fe80::1%eth0\nsearch a.example b.example\noptions edns0 trust-ad\n");
        let text = resolv(HOST, &[], &[], &[], true);
        assert!(text.starts_with("nameserver 127.0.0.53\n"));
    }

    #[test]
    fn resolv_overrides_each_part() {
        let dns = vec!["10.0.0.53".parse().unwrap()];
        let text = resolv(HOST, &dns, &[], &["ndots:2".to_string()], false);
        assert_eq!(
            text,
            "nameserver 10.0.0.53\nsearch a.example b.example\noptions ndots:2\n"
        );
        let text = resolv("", &[], &["x.example".to_string()], &[], false);
        assert_eq!(text, "search x.example\n");
    }

    #[test]
    fn write_both() {
        let dir = std::env::temp_dir().join(format!("berth-net-files-{}", std::process::id()));
        let (h, r) = write(&dir, "hosts\n", "resolv\n").unwrap();
        assert_eq!(std::fs::read_to_string(&h).unwrap(), "hosts\n");
        assert_eq!(std::fs::read_to_string(&r).unwrap(), "resolv\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
