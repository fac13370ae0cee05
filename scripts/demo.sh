#!/usr/bin/env bash
# berth end to end: build it, assemble a busybox rootfs, and run a container
# with CPU shares, a memory limit and a pids limit on its own bridge network
# with a published port; then exec into it, look around, and clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release -p berth-cli
berth=$PWD/target/release/berth
root=/run/berth-demo
bundle=$(mktemp -d /tmp/berth-demo.XXXXXX)
cleanup() {
    "$berth" --root "$root" delete -f demo >/dev/null 2>&1 || true
    "$berth" --root "$root" network rm berth-demo >/dev/null 2>&1 || true
    rm -rf "$bundle"
}
trap cleanup EXIT
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

scripts/make-rootfs.sh "$bundle/rootfs" >/dev/null
mkdir -p "$bundle/rootfs/www" && echo "hello from a berth container" > "$bundle/rootfs/www/index.html"

say berth spec --cpu-shares 512 --memory 64m --pids-limit 64 --network bridge --bridge berth-demo --bip 10.77.0.1/24 -p 127.0.0.1:18080:8080 --hostname demo
"$berth" spec -b "$bundle" --cpu-shares 512 --memory 64m --pids-limit 64 \
    --network bridge --bridge berth-demo --bip 10.77.0.1/24 -p 127.0.0.1:18080:8080 --hostname demo
# Detached, no terminal, serve /www on port 8080.
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's/^\( *\)"sh"$/\1"httpd", "-f", "-p", "8080", "-h", "\/www"/' "$bundle/config.json"

say berth run -d demo
"$berth" --root "$root" run -d -b "$bundle" demo </dev/null
"$berth" --root "$root" state demo

say cgroup limits as the kernel holds them
echo "cpu.shares            = $(cat /sys/fs/cgroup/cpu/berth/demo/cpu.shares)"
echo "memory.limit_in_bytes = $(cat /sys/fs/cgroup/memory/berth/demo/memory.limit_in_bytes)"
echo "pids.max              = $(cat /sys/fs/cgroup/pids/berth/demo/pids.max)"

say berth exec demo hostname
"$berth" --root "$root" exec demo hostname
say berth exec demo ip -4 addr show eth0
"$berth" --root "$root" exec demo ip -4 addr show eth0
say berth exec demo ps
"$berth" --root "$root" exec demo ps

say "GET http://127.0.0.1:18080/   (from the host, through the published port)"
http_get() {
    exec 3<>/dev/tcp/127.0.0.1/18080 || return 1
    printf 'GET / HTTP/1.0\r\nHost: demo\r\n\r\n' >&3
    sed -n '/^\r$/,$p' <&3 | tail -n +2
    exec 3<&-
}
for _ in $(seq 1 50); do
    if http_get 2>/dev/null; then break; fi
    sleep 0.1
done

say berth delete -f demo
"$berth" --root "$root" delete -f demo
"$berth" --root "$root" network rm berth-demo
echo "done: container, cgroups, veth, lease, NAT rules and the bridge removed"
