//! What the resources JSON of `update -r` (runc's `update --resources`) means:
//! read as runc's decoder reads it, with 0 (and "") in the fields runc's
//! update template carries meaning "unchanged", as engines send them (dockerd
//! fills every field it does not change with 0). Pure: a fuzz target calls it.

use oci_spec::runtime::LinuxResources;

/// Parses `update -r` bytes into the changes they ask for.
pub fn parse(bytes: &[u8]) -> Result<LinuxResources, String> {
    crate::config::parse_resources(bytes).map(drop_zeros)
}

fn nz_u(v: Option<u64>) -> Option<u64> {
    v.filter(|x| *x != 0)
}

fn nz_i(v: Option<i64>) -> Option<i64> {
    v.filter(|x| *x != 0)
}

/// runc treats 0 (and "") as "not set" for the fields `runc update` knows.
fn drop_zeros(mut r: LinuxResources) -> LinuxResources {
    if let Some(c) = r.cpu().clone() {
        let mut c2 = c.clone();
        c2.set_shares(nz_u(c.shares()));
        c2.set_quota(nz_i(c.quota()));
        c2.set_period(nz_u(c.period()));
        c2.set_burst(nz_u(c.burst()));
        c2.set_realtime_period(nz_u(c.realtime_period()));
        c2.set_realtime_runtime(nz_i(c.realtime_runtime()));
        c2.set_cpus(c.cpus().clone().filter(|s| !s.is_empty()));
        c2.set_mems(c.mems().clone().filter(|s| !s.is_empty()));
        r.set_cpu(Some(c2));
    }
    if let Some(m) = *r.memory() {
        let mut m2 = m;
        m2.set_limit(nz_i(m.limit()));
        m2.set_reservation(nz_i(m.reservation()));
        m2.set_swap(nz_i(m.swap()));
        m2.set_kernel(nz_i(m.kernel()));
        m2.set_kernel_tcp(nz_i(m.kernel_tcp()));
        r.set_memory(Some(m2));
    }
    if let Some(b) = r.block_io().clone() {
        let mut b2 = b.clone();
        b2.set_weight(b.weight().filter(|w| *w != 0));
        b2.set_leaf_weight(b.leaf_weight().filter(|w| *w != 0));
        r.set_block_io(Some(b2));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_json_zeros_are_unset() {
        let r = parse(
            br#"{"memory":{"limit":0,"swap":0},"cpu":{"shares":0,"quota":0,"cpus":""},"blockIO":{"weight":0},"pids":{"limit":0}}"#,
        )
        .unwrap();
        let m = r.memory().as_ref().unwrap();
        assert_eq!((m.limit(), m.swap()), (None, None));
        let c = r.cpu().as_ref().unwrap();
        assert_eq!(
            (c.shares(), c.quota(), c.cpus().clone()),
            (None, None, None)
        );
        assert_eq!(r.block_io().as_ref().unwrap().weight(), None);
    }
}
