#!/usr/bin/env bash
# Installs the Debian packages berth's demo and tests need, if missing
# (gcc and libc6-dev build the static attacker of tests/escapes.rs; binutils'
# as and ld the i386 probe of tests/security.rs; runc's
# own `runc spec` is what tests/lifecycle.rs compares `berth spec` with; uidmap's
# newuidmap/newgidmap map subordinate ids for rootless containers, tests/rootless.rs).
set -euo pipefail
need=()
for pkg in busybox-static iproute2 nftables iptables procps gcc libc6-dev binutils runc uidmap; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
