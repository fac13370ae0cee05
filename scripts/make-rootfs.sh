#!/usr/bin/env bash
# Assembles a minimal busybox root filesystem from Debian's busybox-static.
# Usage: scripts/make-rootfs.sh [DIR]   (default: tests/rootfs)
set -euo pipefail
dir=${1:-"$(dirname "$0")/../tests/rootfs"}
busybox=${BUSYBOX:-/bin/busybox}
if [ ! -x "$busybox" ]; then
    echo "make-rootfs: $busybox not found; install busybox-static (apt-get install busybox-static)" >&2
    exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run,mnt}
chmod 1777 "$dir/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
P
cat > "$dir/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
user:x:1000:
G
touch "$dir/etc/hosts" "$dir/etc/resolv.conf" "$dir/etc/hostname"
echo "rootfs ready: $dir"
