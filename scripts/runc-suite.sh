#!/usr/bin/env bash
# Runs runc's own integration suite (tests/integration/*.bats of the runc
# repository) against a runtime binary and prints a per-file table and a
# closing line `N passed, M failed, K skipped`.
#
# A development tool, not part of .ci/run: it needs a local git copy of runc's
# repository (CI cannot fetch one) and installs packages from Debian's archive.
# Run as root on this machine type:
#
#   RUNC_REPO=/work/.mirror/opencontainers+runc/repo RUNTIME=target/release/berth \
#       scripts/runc-suite.sh [FILE.bats ...]
#
# Environment:
#   RUNC_REPO       runc's repository, a (bare) git dir; only read, never changed
#   RUNTIME         the runtime under test (default: target/release/berth); the suite
#                   calls it through its RUNC variable
#   SUITE_REF       the revision whose tests/integration runs (default: main)
#   HELPERS_REF     the revision whose contrib/cmd helpers are built (default: 17380da2,
#                   the last one whose vendored tree Debian 12's Go 1.19 builds)
#   WORK            work dir: checkouts, helpers, images (cached), logs (default: /var/tmp/runc-suite)
#   LABEL           name of this run's log dir (default: the runtime's file name)
#   TEST_TIMEOUT    seconds per test (BATS_TEST_TIMEOUT, default 90)
#   FILE_TIMEOUT    seconds per file (default 1200)
#   NO_TIMEOUT_FILES  files run with the file-level timeout only (default: events.bats,
#                   whose tests `wait` on a background job and so always trip bats' watchdog)
#
# Output, under $WORK/runs/$LABEL-<UTC time>/: one TAP log per file (<file>.tap),
# results.txt (one line per test: file, ok|fail|skip|notrun, name), table.txt and
# summary.txt (the table and the closing line, also printed).
set -euo pipefail

die() { echo "runc-suite: $*" >&2; exit 1; }
say() { echo "runc-suite: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (the suite creates containers and cgroups)"

here=$(cd "$(dirname "$0")/.." && pwd)
RUNC_REPO=${RUNC_REPO:-/work/.mirror/opencontainers+runc/repo}
RUNTIME=${RUNTIME:-$here/target/release/berth}
SUITE_REF=${SUITE_REF:-main}
HELPERS_REF=${HELPERS_REF:-17380da2}
WORK=${WORK:-/var/tmp/runc-suite}
TEST_TIMEOUT=${TEST_TIMEOUT:-90}
FILE_TIMEOUT=${FILE_TIMEOUT:-1200}
NO_TIMEOUT_FILES=${NO_TIMEOUT_FILES:-events.bats}

git --git-dir="$RUNC_REPO" rev-parse -q --verify "$SUITE_REF^{commit}" >/dev/null \
    || die "RUNC_REPO=$RUNC_REPO: no git repository with revision $SUITE_REF (fetch runc's repository first)"
[ -x "$RUNTIME" ] || die "RUNTIME=$RUNTIME is not an executable (build it: cargo build --release -p berth-cli)"
RUNTIME=$(readlink -f "$RUNTIME")
LABEL=${LABEL:-$(basename "$RUNTIME")}

# ---------------------------------------------------------------- packages
need_pkgs=()
for p in bats jq gawk iproute2 util-linux xz-utils libseccomp-dev pkg-config gcc golang-go debootstrap busybox-static; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
    say "installing from Debian's archive: ${need_pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >&2 \
        || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >&2; } \
        || die "could not install ${need_pkgs[*]}"
fi

mkdir -p "$WORK"
WORK=$(readlink -f "$WORK")

# ---------------------------------------------------------------- the suite
suite_commit=$(git --git-dir="$RUNC_REPO" rev-parse "$SUITE_REF^{commit}")
helpers_commit=$(git --git-dir="$RUNC_REPO" rev-parse "$HELPERS_REF^{commit}")
src=$WORK/suite-${suite_commit:0:12}
if [ ! -f "$src/.complete" ]; then
    say "extracting tests/ of runc $suite_commit into $src"
    rm -rf "$src"
    mkdir -p "$src"
    git --git-dir="$RUNC_REPO" archive "$suite_commit" tests | tar -x -C "$src"
    touch "$src/.complete"
fi
integ=$src/tests/integration
bindir=$src/tests/cmd/_bin # helpers.bash's TESTBINDIR

# ---------------------------------------------------------------- helpers
# The suite's helper programs (tests/cmd at main) need Go >= 1.22; the same
# programs live in contrib/cmd at $HELPERS_REF with a vendored tree Go 1.19 builds.
hsrc=$WORK/helpers-${helpers_commit:0:12}
helpers=(recvtty seccompagent fs-idmap pidfd-kill remap-rootfs sd-helper key_label)
if [ ! -f "$hsrc/.complete" ]; then
    say "building the suite's helpers from runc $helpers_commit (contrib/cmd, -mod=vendor)"
    rm -rf "$hsrc"
    mkdir -p "$hsrc/src" "$hsrc/bin"
    git --git-dir="$RUNC_REPO" archive "$helpers_commit" | tar -x -C "$hsrc/src"
    # key_label is not in that tree: its single file (x/sys/unix only) builds there.
    mkdir -p "$hsrc/src/contrib/cmd/key_label"
    git --git-dir="$RUNC_REPO" show "$suite_commit:tests/cmd/key_label/key_label.go" \
        >"$hsrc/src/contrib/cmd/key_label/key_label.go"
    (
        cd "$hsrc/src"
        export GOFLAGS=-mod=vendor GOPATH=$hsrc/gopath GOCACHE=$hsrc/gocache GOTOOLCHAIN=local
        for h in "${helpers[@]}"; do
            tags=()
            # Without the seccomp tag seccompagent only prints "Not supported" and
            # every SCMP_ACT_NOTIFY test waits for its socket until the timeout.
            [ "$h" = seccompagent ] && tags=(-tags seccomp)
            CGO_ENABLED=1 go build "${tags[@]}" -o "$hsrc/bin/$h" "./contrib/cmd/$h" >&2 \
                || die "go build of $h failed"
        done
    )
    touch "$hsrc/.complete"
fi
mkdir -p "$bindir"
for h in "${helpers[@]}"; do install -m 0755 "$hsrc/bin/$h" "$bindir/$h"; done

# ---------------------------------------------------------------- images
# get-images.sh downloads only what is missing from testdata/; nothing may download.
images=$WORK/images
mkdir -p "$images"
if [ ! -f "$images/busybox-amd64.tar.xz" ]; then
    say "making busybox-amd64.tar.xz from Debian's busybox-static"
    r=$(mktemp -d "$images/busybox.XXXXXX")
    chmod 0755 "$r" # the image's "." becomes the rootfs: mktemp's 0700 would lock out non-root users
    # the docker busybox image's layout
    mkdir -p "$r"/{bin,dev,etc,home,proc,root,sys,tmp,usr/sbin,var/spool/mail,var/www}
    chmod 1777 "$r/tmp"
    chmod 0700 "$r/root"
    cp /bin/busybox "$r/bin/busybox"
    for applet in $(/bin/busybox --list); do
        # the list includes busybox itself: linking it would make a self-symlink
        [ "$applet" = busybox ] && continue
        [ -e "$r/bin/$applet" ] || ln -s busybox "$r/bin/$applet"
    done
    cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
    cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
EOF
    printf 'root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n' >"$r/etc/shadow"
    chmod 0600 "$r/etc/shadow"
    XZ_OPT=-T0 tar --numeric-owner -C "$r" -cJf "$images/busybox-amd64.tar.xz.tmp" .
    mv "$images/busybox-amd64.tar.xz.tmp" "$images/busybox-amd64.tar.xz"
    rm -rf "$r"
fi
if [ ! -f "$images/debian-amd64.tar.xz" ]; then
    say "making debian-amd64.tar.xz with debootstrap --variant=minbase bookworm (a few minutes)"
    r=$(mktemp -d "$images/debian.XXXXXX")
    chmod 0755 "$r"
    debootstrap --variant=minbase bookworm "$r" >"$images/debootstrap.log" 2>&1 \
        || die "debootstrap failed, see $images/debootstrap.log"
    rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/*
    XZ_OPT=-T0 tar --numeric-owner -C "$r" -cJf "$images/debian-amd64.tar.xz.tmp" .
    mv "$images/debian-amd64.tar.xz.tmp" "$images/debian-amd64.tar.xz"
    rm -rf "$r"
fi
mkdir -p "$integ/testdata"
for i in busybox-amd64.tar.xz debian-amd64.tar.xz; do
    ln -f "$images/$i" "$integ/testdata/$i" 2>/dev/null || cp "$images/$i" "$integ/testdata/$i"
done

# curl that fails at once, first on PATH: nothing in a run may download.
fakebin=$WORK/fakebin
mkdir -p "$fakebin"
printf '#!/bin/sh\necho "curl disabled by runc-suite.sh (no downloads): $*" >&2\nexit 7\n' >"$fakebin/curl"
chmod 0755 "$fakebin/curl"

# ---------------------------------------------------------------- files to run
if [ $# -gt 0 ]; then
    files=()
    for f in "$@"; do
        f=$(basename "$f")
        [ -f "$integ/$f" ] || die "no $f in runc's tests/integration"
        files+=("$f")
    done
else
    mapfile -t files < <(cd "$integ" && ls -1 -- *.bats)
fi

run=$WORK/runs/$LABEL-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$run"
marker="RUNC_SUITE_RUN=$(basename "$run")"
runtime_commit=$(git -C "$(dirname "$RUNTIME")" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    echo "runtime: $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -1 || true))"
    echo "runtime repo commit: $runtime_commit"
    echo "runc suite: $suite_commit ($SUITE_REF of $RUNC_REPO)"
    echo "helpers: $helpers_commit contrib/cmd"
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "timeouts: ${TEST_TIMEOUT}s per test, ${FILE_TIMEOUT}s per file"
} | tee "$run/header.txt" >&2

# ---------------------------------------------------------------- cleanup between files
# Processes of a file: its temp dir on their command line, or this run's marker
# in their environment. Never ourselves or our ancestors.
ancestors=" "
p=$$
while [ "$p" -gt 1 ]; do
    ancestors+="$p "
    p=$(awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 1)
done
file_pids() {
    local tmp=$1 d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ "$ancestors" == *" $pid "* ]] && continue
        [ "$pid" = "$BASHPID" ] && continue
        if tr "\0" " " 2>/dev/null <"$d/cmdline" | grep -qF -- "$tmp" \
            || tr "\0" "\n" 2>/dev/null <"$d/environ" | grep -qxF -- "$marker"; then
            echo "$pid"
        fi
    done
}

# Frozen cgroups (v1 freezer, v2 cgroup.freeze) as "path" lines.
frozen_cgroups() {
    local f
    if [ -d /sys/fs/cgroup/freezer ]; then
        find /sys/fs/cgroup/freezer -mindepth 2 -name freezer.state 2>/dev/null | while read -r f; do
            if [ "$(cat "$f" 2>/dev/null)" = FROZEN ]; then echo "${f%/freezer.state}"; fi
        done
    fi
    for base in /sys/fs/cgroup/unified /sys/fs/cgroup; do
        [ -f "$base/cgroup.controllers" ] || continue
        find "$base" -mindepth 2 -name cgroup.freeze 2>/dev/null | while read -r f; do
            if [ "$(cat "$f" 2>/dev/null)" = 1 ]; then echo "${f%/cgroup.freeze}"; fi
        done
    done
    return 0
}
thaw() {
    local cg=$1
    if [ -f "$cg/freezer.state" ]; then
        echo THAWED >"$cg/freezer.state" 2>/dev/null || true
    elif [ -f "$cg/cgroup.freeze" ]; then
        echo 0 >"$cg/cgroup.freeze" 2>/dev/null || true
    fi
    say "thawed $cg"
}

# While a file runs, every 10 s:
# - a cgroup that was not there when the file started and has stayed frozen for
#   longer than a test may take is this run's leftover: thaw it (a process in a
#   frozen cgroup ignores SIGKILL, so bats would wait forever);
# - a process with the file's temp dir on its command line that was orphaned
#   (parent 1) and is older than a test may take outlived its test: kill it. A
#   runtime left running in the foreground with a terminal (a test expected
#   `run` to fail and the shell started instead) or a `recvtty --mode single`
#   nobody connected to keeps bats' TAP pipe open, and the file never ends.
watchdog() {
    local tmp=$1 before=$2 limit=$3
    declare -A since=()
    local cg now pid
    while sleep 10; do
        now=$(date +%s)
        while read -r cg; do
            [ -n "$cg" ] || continue
            grep -qxF -- "$cg" "$before" && continue
            [ -n "${since[$cg]:-}" ] || since[$cg]=$now
            if [ $((now - since[$cg])) -ge "$limit" ]; then
                thaw "$cg"
                unset "since[$cg]"
            fi
        done < <(frozen_cgroups)
        ps -eo pid=,ppid=,etimes=,args= | awk -v t="$tmp/" -v l="$limit" \
            '$2 == 1 && $3 > l && index($0, t) {print $1}' | while read -r pid; do
            say "killing orphan $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"
            kill -9 "$pid" 2>/dev/null || true
        done
    done
}

cleanup_file() {
    local tmp=$1 before=$2 pids cg st root ct i
    # thaw what this file froze, so that its processes can die
    while read -r cg; do
        if [ -n "$cg" ] && ! grep -qxF -- "$cg" "$before"; then thaw "$cg"; fi
    done < <(frozen_cgroups)
    for i in 1 2 3; do
        pids=$(file_pids "$tmp")
        [ -n "$pids" ] || break
        say "killing leftovers of $(basename "$tmp"): $(echo $pids)"
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        sleep 1
    done
    # leftover containers: every --root dir under the file's temp dir
    while read -r st; do
        root=$(dirname "$(dirname "$st")")
        ct=$(basename "$(dirname "$st")")
        say "deleting leftover container $ct (--root $root)"
        timeout 30 "$RUNTIME" --root "$root" delete -f "$ct" >/dev/null 2>&1 || true
    done < <(find "$tmp" -name state.json -path '*/state/*' 2>/dev/null)
    # mounts left under the temp dir, deepest first
    awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf "$tmp" 2>/dev/null || true
    # empty cgroups the suite left under its own parent (update.bats' pod cgroups
    # stay in the cgroup2 hierarchy of a hybrid host), deepest first
    find /sys/fs/cgroup -depth -mindepth 2 -type d -path '*/runc-cgroups-integration-test*' \
        -exec rmdir {} \; 2>/dev/null || true
}

# ---------------------------------------------------------------- run
fifo=$run/stdin.fifo
mkfifo "$fifo"
# stdin of script(1) must be a FIFO held open read-write: with </dev/null
# script forwards an EOF byte into the pty and corrupts the first TAP line.
exec 3<>"$fifo"

: >"$run/results.txt"
printf '%-32s %6s %7s %7s %8s  %s\n' file tests passed failed skipped note >"$run/table.txt"
tot_p=0 tot_f=0 tot_s=0 tot_n=0
for f in "${files[@]}"; do
    name=${f%.bats}
    # The file's temp dir (TMPDIR, under which bats makes its run dir) must be
    # short: the suite puts unix sockets in it (console, seccomp agent), and
    # sun_path holds 108 bytes.
    tmp=$(mktemp -d /tmp/rcs.XXXXXX)
    chmod 0755 "$tmp"
    log=$run/$name.tap
    before=$run/frozen-before-$name
    frozen_cgroups >"$before"
    test_timeout=$TEST_TIMEOUT
    for nf in $NO_TIMEOUT_FILES; do if [ "$nf" = "$f" ]; then test_timeout=; fi; done

    say "running $f (temp dir $tmp)"
    start=$(date +%s)
    watchdog "$tmp" "$before" $((${test_timeout:-$FILE_TIMEOUT} + 30)) &
    watcher=$!
    set +e
    (
        cd "$integ"
        unset RUNC_USE_SYSTEMD ROOTLESS ROOTLESS_FEATURES
        export RUNC="$RUNTIME" TMPDIR="$tmp" PATH="$fakebin:$PATH" "${marker%%=*}=${marker#*=}"
        if [ -n "$test_timeout" ]; then export BATS_TEST_TIMEOUT=$test_timeout; else unset BATS_TEST_TIMEOUT; fi
        exec timeout -k 15 "$FILE_TIMEOUT" script -q -e -c "bats --tap $f" /dev/null
    ) <&3 >"$log.raw" 2>&1
    rc=$?
    set -e
    kill "$watcher" 2>/dev/null || true
    wait "$watcher" 2>/dev/null || true
    cleanup_file "$tmp" "$before"
    rm -f "$before"
    secs=$(($(date +%s) - start))
    tr -d '\r' <"$log.raw" >"$log"
    rm -f "$log.raw"

    # TAP: "1..N", "ok I name", "ok I name # skip (reason)", "not ok I name"
    plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$log" | cut -d. -f3 || true)
    # no plan line: bats did not get to run the file
    [ -n "$plan" ] || plan=$(grep -cE '^@test ' "$integ/$f" || true)
    awk -v f="$f" '
        /^ok [0-9]+ / {
            line = $0; sub(/^ok [0-9]+ /, "", line)
            if (line ~ / # [Ss][Kk][Ii][Pp]/) { sub(/ # [Ss][Kk][Ii][Pp].*/, "", line); r = "skip" } else r = "ok"
            seen[$3] = 1; printf "%s\t%s\t%s\n", f, r, line; next
        }
        /^not ok [0-9]+ / {
            line = $0; sub(/^not ok [0-9]+ /, "", line); sub(/ # in test file.*/, "", line); sub(/ # timeout after [0-9]+s$/, "", line)
            seen[$4] = 1; printf "%s\t%s\t%s\n", f, "fail", line
        }' "$log" >"$run/$name.results"
    p=$(awk -F'\t' '$2=="ok"' "$run/$name.results" | wc -l)
    fl=$(awk -F'\t' '$2=="fail"' "$run/$name.results" | wc -l)
    s=$(awk -F'\t' '$2=="skip"' "$run/$name.results" | wc -l)
    n=$((plan - p - fl - s))
    if [ "$n" -lt 0 ]; then n=0; fi
    # tests that never reported (file timeout or bats died) count as failed
    if [ "$n" -gt 0 ]; then
        grep -E '^@test ' "$integ/$f" | sed -E 's/^@test "(.*)" \{.*/\1/; s/^@test (.*) \{.*/\1/' >"$run/$name.all"
        cut -f3 "$run/$name.results" >"$run/$name.seen"
        grep -vxF -f "$run/$name.seen" "$run/$name.all" | head -n "$n" \
            | awk -v f="$f" '{printf "%s\tnotrun\t%s\n", f, $0}' >>"$run/$name.results" || true
        rm -f "$run/$name.all" "$run/$name.seen"
    fi
    cat "$run/$name.results" >>"$run/results.txt"
    rm -f "$run/$name.results"
    note="${secs}s"
    [ "$rc" = 124 ] || [ "$rc" = 137 ] && note+=", file timeout"
    if [ "$n" -gt 0 ]; then note+=", $n not run"; fi
    printf '%-32s %6s %7s %7s %8s  %s\n' "$f" "$plan" "$p" $((fl + n)) "$s" "$note" | tee -a "$run/table.txt" >&2
    tot_p=$((tot_p + p)) tot_f=$((tot_f + fl + n)) tot_s=$((tot_s + s)) tot_n=$((tot_n + plan))
done
exec 3<&-
rm -f "$fifo"

summary="$tot_p passed, $tot_f failed, $tot_s skipped"
{ cat "$run/header.txt"; echo; cat "$run/table.txt"; echo; echo "$summary"; } >"$run/summary.txt"
cat "$run/table.txt"
echo
echo "runc suite $suite_commit, runtime $RUNTIME; logs in $run"
echo "$summary"
