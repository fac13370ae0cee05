#!/usr/bin/env bash
# Runs files of runc's integration suite as an unprivileged user, the way runc's own
# rootless CI does (tests/rootless.sh, feature "idmap": subordinate ids through
# newuidmap/newgidmap, no cgroup delegation), against a runtime binary.
#
# A development tool, like scripts/runc-suite.sh, whose prepared work dir it reuses:
# run that once first (it extracts the suite, builds its helpers and images). Then,
# as root:
#
#   RUNTIME=target/debug/berth scripts/runc-suite-rootless.sh [FILE.bats ...]
#
# It makes the user "rootless" with subordinate ranges that useradd picks (free ones),
# runs each file as that user in a private temp dir, kills what a file left running
# (that user's processes by pid: a container's init among them, whose pid namespace
# takes the rest along), and removes the user at the end. One line per file
# and a closing `N passed, M failed, K skipped`; TAP logs under $WORK/rootless-runs/.
set -euo pipefail

die() { echo "runc-suite-rootless: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it makes and removes the test user)"
here=$(cd "$(dirname "$0")/.." && pwd)
RUNTIME=${RUNTIME:-$here/target/release/berth}
WORK=${WORK:-/var/tmp/runc-suite}
[ -x "$RUNTIME" ] || die "RUNTIME=$RUNTIME is not an executable (build it: cargo build --release -p berth-cli)"
RUNTIME=$(readlink -f "$RUNTIME")
src=$(find "$WORK" -maxdepth 1 -name 'suite-*' -type d | head -1)
if [ -z "$src" ] || [ ! -f "$src/.complete" ]; then
    die "no prepared suite under $WORK: run scripts/runc-suite.sh first"
fi
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    files=(start_hello.bats start_detached.bats create.bats run.bats exec.bats kill.bats
        delete.bats list.bats state.bats ps.bats pause.bats spec.bats userns.bats dev.bats
        cwd.bats env.bats mask.bats tty.bats hooks.bats update.bats cgroups.bats
        mounts.bats root.bats events.bats)
fi

user=rootless
id "$user" >/dev/null 2>&1 && die "user $user exists already; remove it first"
len=65536
useradd -M -s /bin/sh -K SUB_UID_COUNT=$len -K SUB_GID_COUNT=$len "$user"
uid=$(id -u "$user") gid=$(id -g "$user")
# The suite's idmap helpers map these ranges (runc's rootless.sh fixes them instead).
uid_start=$(awk -F: -v u="$user" '$1 == u {print $2; exit}' /etc/subuid)
gid_start=$(awk -F: -v u="$user" '$1 == u {print $2; exit}' /etc/subgid)
if [ -z "$uid_start" ] || [ -z "$gid_start" ]; then die "useradd gave $user no subordinate ranges"; fi
# A copy the user can read, outside the root-only work dir.
base=$(mktemp -d /tmp/rcsr.XXXXXX)
chmod 0755 "$base"
cp -a "$src/tests" "$base/tests"
mkdir -p "$base/home" "$base/xdg"
chown "$user:" "$base/home" "$base/xdg"
chmod 0700 "$base/xdg"
# cwd.bats wants a directory owned by a mapped uid (container uid 1024).
aux=$base/aux
mkdir "$aux"
chown "$((uid_start - 1000 + 1024))" "$aux"
run=$WORK/rootless-runs/$(basename "$RUNTIME")-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$run"

leftovers() {
    ps -eo pid=,uid= | awk -v u="$uid" '$2 == u {print $1}'
}
cleanup() {
    local p
    for p in $(leftovers); do kill -9 "$p" 2>/dev/null || true; done
    sleep 1
    userdel "$user" 2>/dev/null || true
    rm -rf "$base"
}
trap cleanup EXIT

tot_p=0 tot_f=0 tot_s=0
for f in "${files[@]}"; do
    tmp=$(mktemp -d "$base/t.XXXXXX")
    chown "$user:" "$tmp"
    log=$run/${f%.bats}.tap
    set +e
    (
        cd "$base/tests/integration"
        exec setpriv --reuid="$uid" --regid="$gid" --init-groups env -i \
            PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$base/home" \
            XDG_RUNTIME_DIR="$base/xdg" TERM=xterm RUNC="$RUNTIME" TMPDIR="$tmp" \
            ROOTLESS_FEATURES=idmap ROOTLESS_UIDMAP_START="$uid_start" ROOTLESS_UIDMAP_LENGTH=$len \
            ROOTLESS_GIDMAP_START="$gid_start" ROOTLESS_GIDMAP_LENGTH=$len \
            ROOTLESS_AUX_DIR="$aux" ROOTLESS_AUX_UID=1024 BATS_TEST_TIMEOUT=90 \
            timeout -k 10 900 script -q -e -c "bats --tap $f" /dev/null
    ) </dev/null 2>&1 | tr -d '\r' >"$log"
    set -e
    for p in $(leftovers); do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp" 2>/dev/null || true
    s=$(grep -ciE '^ok [0-9]+ .*# skip' "$log" || true)
    p=$(($(grep -cE '^ok [0-9]+ ' "$log" || true) - s))
    fl=$(grep -cE '^not ok [0-9]+ ' "$log" || true)
    printf '%-24s %4s passed %4s failed %4s skipped\n' "$f" "$p" "$fl" "$s"
    tot_p=$((tot_p + p)) tot_f=$((tot_f + fl)) tot_s=$((tot_s + s))
done
echo "runtime $RUNTIME as uid $uid (idmap); logs in $run"
echo "$tot_p passed, $tot_f failed, $tot_s skipped"
