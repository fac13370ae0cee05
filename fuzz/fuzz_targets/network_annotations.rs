//! The `berth.network.*` annotations of an untrusted config.json: parsing must
//! never panic; an accepted config validates, writes back to annotations that
//! read back equal, and the /etc/hosts and /etc/resolv.conf made from it have
//! exactly one line per entry (no value can add a line, a name or a comment).
//!
//! Input: one annotation per line, `KEY=VALUE`; a KEY without a dot gets the
//! `berth.network.` prefix (so `mode=host` is `berth.network.mode`).
#![no_main]

use std::collections::HashMap;
use std::net::Ipv4Addr;

use berth_net::config::ANNOTATION_PREFIX;
use berth_net::files::{hosts, resolv, HostsInput};
use berth_net::NetworkConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut a = HashMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        let k = if k.contains('.') {
            k.to_string()
        } else {
            format!("{ANNOTATION_PREFIX}{k}")
        };
        a.insert(k, v.to_string());
    }
    let Ok(parsed) = NetworkConfig::from_annotations(&a) else {
        return;
    };
    let Some(cfg) = parsed else {
        assert!(!a.keys().any(|k| k.starts_with(ANNOTATION_PREFIX)));
        return;
    };
    cfg.validate().expect("an accepted config validates");
    let again = NetworkConfig::from_annotations(&cfg.to_annotations())
        .expect("written annotations parse")
        .expect("written annotations name the mode");
    assert_eq!(again, cfg, "annotations did not round-trip");

    // One line per entry in the generated files.
    let links: Vec<(String, Ipv4Addr)> = cfg
        .links
        .iter()
        .map(|(_, alias)| (alias.clone(), Ipv4Addr::new(10, 0, 0, 2)))
        .collect();
    let own = cfg
        .hostname
        .as_deref()
        .map(|h| (Ipv4Addr::new(10, 0, 0, 3), h));
    let h = hosts(&HostsInput {
        base: None,
        own,
        links: &links,
        extra: &cfg.add_hosts,
    });
    let lines: Vec<&str> = h.lines().collect();
    let localhost = 6;
    assert_eq!(
        lines.len(),
        localhost + own.is_some() as usize + links.len() + cfg.add_hosts.len(),
        "{h:?}"
    );
    for l in &lines[localhost..] {
        assert_eq!(l.split_whitespace().count(), 2, "hosts line {l:?}");
        assert!(!l.contains('#'), "hosts line {l:?}");
    }
    let r = resolv("", &cfg.dns, &cfg.dns_search, &cfg.dns_options, false);
    let want =
        cfg.dns.len() + !cfg.dns_search.is_empty() as usize + !cfg.dns_options.is_empty() as usize;
    assert_eq!(r.lines().count(), want, "{r:?}");
    // Read back as a host's resolv.conf, it gives the same file.
    assert_eq!(resolv(&r, &[], &[], &[], true), r);
});
