#!/usr/bin/env bash
# berth's tests on a real pure cgroup v2 host: Debian 12's kernel 6.1 booted in
# a QEMU guest under full emulation (TCG; /dev/kvm does not work here).
#
# The guest's root is this host's / exported read-only over virtio-9p, with a
# tmpfs overlay on top, so the test binaries built here run there at the same
# paths (they find tests/rootfs through paths compiled into them). Its init
# (scripts/vm-guest.sh) mounts cgroup2 alone at /sys/fs/cgroup with every
# controller delegated, runs the selected test binaries one test at a time
# and powers off. Ends with `pure cgroup v2 guest: N passed, M failed, K skipped`
# and exits non-zero when a test failed or the guest did not report.
#
# Usage: scripts/vm-test.sh [BINARY...]   (default: the list below; a BINARY is
# `package/target`, e.g. berth/cgroups_cli, berth-cgroups/lib, berth-cli/bin-berth)
# BERTH_NO_SKIP is honoured as by scripts/test.sh; BERTH_VM_TIMEOUT bounds the
# whole guest run, BERTH_VM_TEST_TIMEOUT each test (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

# What runs in the guest. The integration tests run real containers; the
# crates' test binaries that touch the kernel (cgroups, netlink, mounts,
# seccomp) come next. Not here: tests/engines.rs (dockerd, podman, containerd
# under emulation would take most of CI's time), and berth-cgroups'
# hybrid_host tests, which are about the hybrid layout this guest does not have.
default_binaries=(
    berth/cgroups_cli berth/lifecycle berth/exec berth/security berth/escapes
    berth/console berth/network berth/library_api berth/examples berth/mounts
    berth/process_attrs berth/cli berth/crash berth/rootless
    berth-cgroups/lib berth-container/lib berth-net/lib berth-cli/bin-berth
    berth-container/rootfs_container berth-container/rootfs_validate
    berth-container/security_caps berth-container/security_seccomp
    berth-net/bridge berth-net/cni berth-net/concurrent_prepare
    berth-net/files_modes berth-net/ipam berth-net/traffic
)
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("${default_binaries[@]}")
timeout_s=${BERTH_VM_TIMEOUT:-1800}

# --- what the host needs ------------------------------------------------------
scripts/deps.sh
need=()
for pkg in qemu-system-x86 linux-image-amd64 busybox-static cpio kmod jq coreutils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The kernel linux-image-amd64 stands for (Debian 12: 6.1.0-N-amd64).
kver=$(dpkg-query -W -f '${Depends}' linux-image-amd64 | grep -oE 'linux-image-[0-9][^ ,]*' | head -1)
kver=${kver#linux-image-}
kernel=/boot/vmlinuz-$kver
if [ ! -r "$kernel" ] || [ ! -d "/lib/modules/$kver" ]; then
    echo "vm-test: $kernel or /lib/modules/$kver missing (reinstall linux-image-$kver)" >&2
    exit 1
fi

# --- the test binaries, built here --------------------------------------------
scripts/make-rootfs.sh tests/rootfs >/dev/null
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build -p berth-cli
work=$target/vm-test
rm -rf "$work"
mkdir -p "$work/out"
cargo test --workspace --no-run --message-format=json-render-diagnostics >"$work/artifacts.json"

# Test targets with a main of their own (harness = false) take no libtest
# flags: the guest runs them once, as one test.
: >"$work/custom"
for manifest in $(jq -r --arg repo "$repo/" 'select(.reason == "compiler-artifact" and (.manifest_path | startswith($repo))) | .manifest_path' "$work/artifacts.json" | sort -u); do
    dir=$(dirname "$manifest")
    [ "$dir" = "$repo" ] && pkg=berth || pkg=$(basename "$dir")
    awk -v pkg="$pkg" '
        /^\[/ { if (t != "" && custom) print pkg "/" t; t = ""; custom = 0; intest = ($0 == "[[test]]"); next }
        intest && /^name *=/ { gsub(/^[^"]*"|".*$/, ""); t = $0 }
        intest && /^harness *= *false/ { custom = 1 }
        END { if (t != "" && custom) print pkg "/" t }' "$manifest" >>"$work/custom"
done

# plan: one line per binary: NAME<TAB>EXECUTABLE<TAB>PACKAGE DIR<TAB>libtest|custom
jq -r --arg repo "$repo" '
    select(.reason == "compiler-artifact" and .executable != null and .profile.test)
    | (.manifest_path | rtrimstr("/Cargo.toml")) as $dir
    | (if $dir == $repo then "berth" else ($dir | split("/") | last) end) as $pkg
    | (if (.target.kind | index("lib")) then "lib"
       elif (.target.kind | index("bin")) then "bin-" + .target.name
       else .target.name end) as $t
    | "\($pkg)/\($t)\t\(.executable)\t\($dir)"' "$work/artifacts.json" | sort -u >"$work/all"
: >"$work/plan"
for b in "${binaries[@]}"; do
    line=$(awk -F'\t' -v b="$b" '$1 == b' "$work/all")
    if [ -z "$line" ]; then
        echo "vm-test: no test binary $b; built: $(cut -f1 "$work/all" | tr '\n' ' ')" >&2
        exit 1
    fi
    grep -qxF "$b" "$work/custom" && harness=custom || harness=libtest
    printf '%s\t%s\n' "$line" "$harness" >>"$work/plan"
done
cat >"$work/env" <<EOF
BERTH_NO_SKIP=${BERTH_NO_SKIP:-}
BERTH_BIN=$target/debug/berth
BERTH_CNI=$target/debug/berth-cni
CARGO_TARGET_DIR=$target
BERTH_VM_TEST_TIMEOUT=${BERTH_VM_TEST_TIMEOUT:-240}
EOF

# --- the initramfs: busybox, the 9p and overlay modules, an /init -------------
initrd=$work/initrd
mkdir -p "$initrd"/{bin,dev,proc,sys,lower,rw,newroot}
cp /bin/busybox "$initrd/bin/busybox"
for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -S "$kver" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ {print $2}' >"$initrd/modules"
while read -r ko; do
    mkdir -p "$initrd$(dirname "$ko")"
    cp "$ko" "$initrd$ko"
done <"$initrd/modules"
cat >"$initrd/init" <<'EOF'
#!/bin/busybox sh
# The guest's first process: load the modules of the 9p root, mount the host's
# / read-only (root=, rootflags=) under a writable tmpfs overlay, and hand
# over to init= on it. Any failure powers the guest off.
bb=/bin/busybox
die() {
    echo "vm-test initramfs: $*"
    echo o >/proc/sysrq-trigger
    $bb sleep 30
}
$bb mount -t proc proc /proc
$bb mount -t devtmpfs dev /dev
for ko in $($bb cat /modules); do
    $bb insmod "$ko" || die "insmod $ko failed"
done
root=; flags=; init=
for arg in $($bb cat /proc/cmdline); do
    case "$arg" in
    root=*) root=${arg#root=} ;;
    rootflags=*) flags=${arg#rootflags=} ;;
    init=*) init=${arg#init=} ;;
    esac
done
$bb mount -t 9p -o "ro,$flags" "$root" /lower || die "mounting the 9p root failed"
$bb mount -t tmpfs -o mode=0755 upper /rw || die "tmpfs failed"
$bb mkdir /rw/upper /rw/work
$bb mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
    die "overlay failed"
$bb umount /dev
$bb umount /proc
exec $bb switch_root /newroot "$init"
EOF
chmod 755 "$initrd/init"
(cd "$initrd" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work/initrd.img"

# An empty disk (sparse): the guest makes its /tmp on it, and block I/O limits
# (io.max, io.weight) need a real block device.
truncate -s 512M "$work/disk.img"

# --- the guest run ------------------------------------------------------------
echo "booting Debian's $kver (pure cgroup v2) under QEMU TCG: ${#binaries[@]} test binaries, ${timeout_s}s timeout"
start=$(date +%s)
set +e
timeout --kill-after=20 "$timeout_s" qemu-system-x86_64 \
    -machine accel=tcg -cpu max -m 2048 -smp 2 -nographic -no-reboot -nic none \
    -kernel "$kernel" -initrd "$work/initrd.img" \
    -fsdev local,id=root,path=/,security_model=passthrough,readonly=on,multidevs=remap \
    -device virtio-9p-pci,fsdev=root,mount_tag=host0 \
    -fsdev local,id=out,path="$work/out",security_model=passthrough,multidevs=remap \
    -device virtio-9p-pci,fsdev=out,mount_tag=out \
    -drive if=virtio,format=raw,file="$work/disk.img" \
    -append "console=ttyS0 quiet panic=-1 root=host0 rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose init=$repo/scripts/vm-guest.sh berth_vm=$work" \
    </dev/null 2>&1 | tee "$work/console.log"
qemu_status=${PIPESTATUS[0]}
set -e
echo "guest wall time: $(($(date +%s) - start)) s"

if [ ! -s "$work/out/summary" ]; then
    [ "$qemu_status" -eq 124 ] && echo "vm-test: the guest did not finish within ${timeout_s}s"
    echo "pure cgroup v2 guest: did not report (qemu exited $qemu_status); console log: $work/console.log"
    exit 1
fi
if [ -s "$work/out/skips" ]; then
    echo "skipped in the guest:"
    sed 's/^/  /' "$work/out/skips"
fi
if [ -s "$work/out/failures" ]; then
    echo "failed in the guest:"
    sed 's/^/  /' "$work/out/failures"
fi
cat "$work/out/summary"
[ "$(cat "$work/out/status")" = 0 ]
