#!/usr/bin/env bash
# Installs dockerd (docker.io), podman and containerd from Debian's archive if
# they are missing, and writes each engine's configuration so it can run its
# containers with berth.
#
# Usage: scripts/engines-setup.sh [--install-only] [--berth PATH] [--config-dir DIR] [--default-runtime]
#   --berth PATH        the berth binary to register (default: `command -v berth`)
#   --config-dir DIR    where to write the configs (default: /etc); writes
#                         DIR/docker/daemon.json            dockerd: runtimes.berth, cgroupfs, ulimits
#                         DIR/containers/containers.conf    podman: engine.runtimes.berth, cgroupfs, ulimits
#                         DIR/containerd/config.toml        containerd: runtime "berth" (runc v2 shim, BinaryName)
#                       An existing file is kept as FILE.berth-bak before it is replaced.
#   --default-runtime   make berth dockerd's and podman's default runtime (Swarm tasks use it)
#   --install-only      only install the packages
#
# Exit status: 0 when the engines are installed (and configured), 77 when they
# are missing and Debian's archive cannot be reached (the tests skip, and say
# so), 1 when installing failed otherwise (the tests fail).
#
# The machine this targets has no CAP_SYS_RESOURCE: an rlimit above the host's
# hard limit cannot be set by anyone, so the engines' default ulimits are set to
# the host's hard limits (`ulimit -Hn`, `ulimit -Hu`) instead of their defaults
# (1048576), which no runtime could apply here. There is no systemd either, so
# every engine is told to manage cgroupfs itself.
set -euo pipefail

install_only=0
default_runtime=0
berth=""
confdir=/etc
while [ $# -gt 0 ]; do
    case "$1" in
        --install-only) install_only=1 ;;
        --default-runtime) default_runtime=1 ;;
        --berth) berth=$2; shift ;;
        --config-dir) confdir=$2; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "engines-setup: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

# --- packages -----------------------------------------------------------------
# docker.io brings containerd, runc and tini; podman brings conmon and netavark.
pkgs=(docker.io podman containerd iptables busybox-static python3)
need=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "engines-setup: missing ${need[*]} and not root to install them" >&2
        exit 77
    fi
    echo "engines-setup: installing ${need[*]}" >&2
    # policy-rc.d (exit 101) keeps the packages' init scripts from starting
    # daemons: the caller starts the engines with its own configuration.
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    # Only an archive that cannot be reached is a reason to skip (77); any other
    # install failure (a package, a held dpkg lock past its wait) is an error.
    reachable=1
    ok=1
    timeout 300 apt-get -o DPkg::Lock::Timeout=120 update -qq >/dev/null 2>&1 || reachable=0
    if [ "$reachable" = 1 ]; then
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=120 \
            install -y -qq "${need[@]}" >/dev/null 2>&1 || ok=0
    fi
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$reachable" = 0 ]; then
        echo "engines-setup: Debian's archive is unreachable; cannot install ${need[*]}" >&2
        exit 77
    fi
    if [ "$ok" = 0 ]; then
        echo "engines-setup: installing ${need[*]} from Debian's archive failed" >&2
        exit 1
    fi
fi
[ "$install_only" = 1 ] && exit 0

# --- configuration ------------------------------------------------------------
if [ -z "$berth" ]; then
    berth=$(command -v berth || true)
fi
if [ -z "$berth" ] || [ ! -x "$berth" ]; then
    echo "engines-setup: berth binary not found; pass --berth PATH" >&2
    exit 2
fi
berth=$(readlink -f "$berth")
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=1048576

backup() { if [ -e "$1" ] && [ ! -e "$1.berth-bak" ]; then cp -a "$1" "$1.berth-bak"; fi; }

mkdir -p "$confdir/docker" "$confdir/containers" "$confdir/containerd"

# dockerd: an existing daemon.json is merged (its other keys kept).
backup "$confdir/docker/daemon.json"
BERTH="$berth" NOFILE="$nofile" NPROC="$nproc" DEFAULT="$default_runtime" FILE="$confdir/docker/daemon.json" python3 - <<'PY'
import json, os
path = os.environ["FILE"]
try:
    with open(path) as f:
        conf = json.load(f)
except (FileNotFoundError, ValueError):
    conf = {}
conf.setdefault("runtimes", {})["berth"] = {"path": os.environ["BERTH"]}
if os.environ["DEFAULT"] == "1":
    conf["default-runtime"] = "berth"
elif conf.get("default-runtime") == "berth":
    del conf["default-runtime"]
opts = [o for o in conf.get("exec-opts", []) if not o.startswith("native.cgroupdriver=")]
conf["exec-opts"] = opts + ["native.cgroupdriver=cgroupfs"]
nofile, nproc = int(os.environ["NOFILE"]), int(os.environ["NPROC"])
conf["default-ulimits"] = {
    "nofile": {"Name": "nofile", "Soft": nofile, "Hard": nofile},
    "nproc": {"Name": "nproc", "Soft": nproc, "Hard": nproc},
}
with open(path + ".tmp", "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.rename(path + ".tmp", path)
PY

# podman: containers.conf is TOML; berth's settings are a file of their own
# (podman reads $CONTAINERS_CONF, or /etc/containers/containers.conf).
# podman 4 lowers its own RLIMIT_NPROC to 32768 at startup (so conmon and the
# runtime inherit that hard limit): the containers' nproc must fit under it.
podman_nproc=$nproc
[ "$podman_nproc" -gt 32768 ] && podman_nproc=32768
backup "$confdir/containers/containers.conf"
{
    echo "# written by berth's scripts/engines-setup.sh"
    echo "[containers]"
    echo "default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$podman_nproc:$podman_nproc\"]"
    echo
    echo "[engine]"
    echo "cgroup_manager = \"cgroupfs\""
    echo "events_logger = \"file\""
    [ "$default_runtime" = 1 ] && echo "runtime = \"berth\""
    echo
    echo "[engine.runtimes]"
    echo "berth = [\"$berth\"]"
} > "$confdir/containers/containers.conf"

# containerd: the runc v2 shim with BinaryName pointing at berth, as runtime
# "berth" (CRI's RuntimeClass handler "berth" uses the same entry).
backup "$confdir/containerd/config.toml"
cat > "$confdir/containerd/config.toml" <<EOF
# written by berth's scripts/engines-setup.sh
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
  BinaryName = "$berth"
  SystemdCgroup = false
EOF

echo "engines-setup: berth ($berth) registered in $confdir/docker/daemon.json, $confdir/containers/containers.conf, $confdir/containerd/config.toml" >&2
