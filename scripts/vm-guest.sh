#!/bin/bash
# init= of the pure cgroup v2 guest that scripts/vm-test.sh boots: PID 1 on a
# tmpfs overlay over the host's read-only /. Sets the machine up as a pure v2
# host (cgroup2 alone at /sys/fs/cgroup, every controller delegated), runs the
# test binaries of the plan one test at a time, writes the results to the
# host's out directory (a writable 9p share) and always powers off.
# As PID 1, bash also reaps the containers' orphaned processes.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

poweroff() {
    sync
    echo o >/proc/sysrq-trigger
    sleep 60 2>/dev/null
}
trap poweroff EXIT

say() { echo "vm-guest: $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue

work=
read -ra cmdline </proc/cmdline
for arg in "${cmdline[@]}"; do
    case "$arg" in berth_vm=*) work=${arg#berth_vm=} ;; esac
done
if [ -z "$work" ] || [ ! -r "$work/plan" ]; then
    say "no berth_vm=DIR with a plan on the kernel command line"
    exit 1
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
set -a
# shellcheck disable=SC1091
. "$work/env"
set +a

# A private /tmp and /run, as a booted host has: /tmp on ext4, as Debian 12
# has it (the test directories live there; 6.1's tmpfs cannot be id-mapped),
# made on the guest's virtio disk, which also gives block I/O limits a device.
# Should the repository or the target directory live under them on the host,
# they stay visible (through the overlay) at the same paths.
mkdir -p /mnt/vm-host
mount --bind / /mnt/vm-host
modprobe virtio_blk || say "modprobe virtio_blk failed"
if mkfs.ext4 -q -F /dev/vda && mount /dev/vda /tmp; then
    chmod 1777 /tmp
else
    say "no ext4 /tmp on /dev/vda: a tmpfs instead"
    mount -t tmpfs -o mode=1777 tmpfs /tmp
fi
mount -t tmpfs -o mode=0755 tmpfs /run
for p in "$repo" "$CARGO_TARGET_DIR"; do
    case "$p/" in
    /tmp/* | /run/*)
        mkdir -p "$p"
        mount --bind "/mnt/vm-host$p" "$p"
        ;;
    esac
done
umount -l /mnt/vm-host

out=$work/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out "$out" || {
    say "cannot mount the out share"
    exit 1
}

# Pure cgroup v2, as systemd mounts it, every controller enabled for children.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || {
    say "mounting cgroup2 failed"
    exit 1
}
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
for c in $controllers; do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || say "cannot enable controller $c"
done
say "kernel $(uname -r), cgroup2 at /sys/fs/cgroup: $(findmnt -no FSTYPE /sys/fs/cgroup);" \
    "delegated: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
if awk '$3 == "cgroup" {found = 1} END {exit !found}' /proc/self/mounts; then
    say "a cgroup v1 hierarchy is mounted: not a pure v2 host"
    exit 1
fi

hostname berth-v2-guest
ip link set lo up
# What the tests use; the rest (nft expressions, NAT) the kernel loads on demand
# with this root's modprobe and /lib/modules.
for m in bridge veth br_netfilter nf_tables tun fuse loop; do
    modprobe "$m" || say "modprobe $m failed"
done

export BERTH_SKIP_LOG=$out/skips
: >"$BERTH_SKIP_LOG"
: >"$out/failures"
per_test=${BERTH_VM_TEST_TIMEOUT:-240}

# The count before WORD in libtest's summary line TEXT (bash only: under
# emulation every extra process per test costs a tenth of a second).
count() {
    if [[ $2 =~ test\ result:.*\ ([0-9]+)\ $1 ]]; then echo "${BASH_REMATCH[1]}"; else echo 0; fi
}

status=0
passed=0
failed=0
ignored=0
# Each test is its own process with its own timeout: a test that hangs costs
# its timeout and no other test of its binary.
while IFS=$'\t' read -r name exe dir harness; do
    log=$out/${name//\//_}.log
    : >"$log"
    say "running $name"
    t0=$SECONDS
    # cargo test runs a test binary in its package's directory.
    cd "$dir" || exit 1
    if [ "$harness" = custom ]; then
        # Its own main: one run, one test, passed when it exits 0.
        timeout --kill-after=10 "$per_test" "$exe" </dev/null >"$log" 2>&1
        rc=$?
        echo "$name: exit $rc, $((SECONDS - t0)) s" | tee -a "$out/times"
        if [ "$rc" -eq 0 ]; then
            passed=$((passed + 1))
            echo "test $name ... ok"
        else
            cat "$log"
            case $rc in
            124 | 137) why="timed out after ${per_test}s" ;;
            *) why="exited $rc: $(grep -m1 -A1 'panicked at' "$log" | tail -1)" ;;
            esac
            echo "$name: $why" | tee -a "$out/failures"
            failed=$((failed + 1))
            status=1
        fi
        cd / || exit 1
        continue
    fi
    mapfile -t tests < <("$exe" --list 2>/dev/null | sed -n 's/: test$//p')
    if [ ${#tests[@]} -eq 0 ]; then
        echo "$name: lists no tests: counted as 1 failure" | tee -a "$out/failures"
        failed=$((failed + 1))
        status=1
        continue
    fi
    for t in "${tests[@]}"; do
        s0=$SECONDS
        timeout --kill-after=10 "$per_test" "$exe" --exact "$t" --test-threads=1 </dev/null >/tmp/one.log 2>&1
        rc=$?
        text=$(</tmp/one.log)
        printf '%s\n' "$text" >>"$log"
        echo "$name $t: exit $rc, $((SECONDS - s0)) s" >>"$out/times"
        p=$(count passed "$text")
        f=$(count failed "$text")
        i=$(count ignored "$text")
        passed=$((passed + p))
        failed=$((failed + f))
        ignored=$((ignored + i))
        if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
            [[ $text =~ (test [^$'\n']* \.\.\. [^$'\n']*) ]] && echo "${BASH_REMATCH[1]}"
            continue
        fi
        status=1
        printf '%s\n' "$text"
        # The failed test with the first line of its panic message.
        awk -v bin="$name" '
            /^---- .* stdout ----$/ { t = $2; want = 0; next }
            t != "" && /panicked at/ { want = 1; next }
            want { print bin ": " t ": " $0; want = 0; t = "" }
        ' /tmp/one.log >>"$out/failures"
        if [ "$f" -eq 0 ]; then
            # A hang or a crash names no failed test.
            case $rc in
            124 | 137) why="timed out after ${per_test}s" ;;
            *) why="exited $rc without a test result" ;;
            esac
            echo "$name: $t: $why: counted as 1 failure" | tee -a "$out/failures"
            failed=$((failed + 1))
        fi
    done
    cd / || exit 1
    echo "$name: ${#tests[@]} tests, $((SECONDS - t0)) s" | tee -a "$out/times"
done <"$work/plan"

# As scripts/test.sh: a skipping test returns early and libtest counts it as passed.
logged=$(wc -l <"$BERTH_SKIP_LOG")
skipped=$((logged + ignored))
if [ "$skipped" -gt 0 ]; then
    echo "skipped tests:"
    sed 's/^/  /' "$BERTH_SKIP_LOG"
fi
if [ -s "$out/failures" ]; then
    echo "failed tests:"
    sed 's/^/  /' "$out/failures"
fi
[ "$failed" -eq 0 ] || status=1
summary="pure cgroup v2 guest: $((passed - logged)) passed, $failed failed, $skipped skipped"
echo "$summary"
echo "$status" >"$out/status"
echo "$summary" >"$out/summary"
sync
