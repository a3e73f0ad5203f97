#!/usr/bin/env bash
# The container engine `npm run test:container` uses, from Debian: podman (with buildah's build engine inside), runc,
# and debootstrap for the locally built base image. Idempotent: installs only what is missing and writes the engine
# settings only when they differ.
#
# Settings (/etc/containers/containers.conf.d/50-bayes-serve.conf), needed on hosts like the CI machines (a Debian 12
# container with cgroups v1 in hybrid mode):
#   cgroup_manager = "cgroupfs"   there is no systemd to delegate cgroups to;
#   default_ulimits = [], pids_limit = 0
#                                 runc (and crun) fail to start containers on podman's default ulimits and pids limit
#                                 there. crun fails there anyway ("cgroups in hybrid mode not supported"), so every
#                                 podman command in the project passes `--runtime runc`.
# Exit status: 0 when podman and runc are ready, 1 when they cannot be installed (the caller decides what that means).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-container-engine: needs root (apt-get, /etc/containers, podman's root storage)" >&2
  exit 1
fi

want=(podman buildah runc debootstrap)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-container-engine: installing ${missing[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "install-container-engine: apt-get could not install ${missing[*]}" >&2
    exit 1
  fi
fi

conf_dir=/etc/containers/containers.conf.d
conf="$conf_dir/50-bayes-serve.conf"
wanted_conf='# Written by bayes-serve scripts/install-container-engine.sh (see there for why).
[containers]
default_ulimits = []
pids_limit = 0

[engine]
cgroup_manager = "cgroupfs"
'
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$(printf '%s' "$wanted_conf")" ]; then
  mkdir -p "$conf_dir"
  printf '%s' "$wanted_conf" >"$conf"
  echo "install-container-engine: wrote $conf" >&2
fi

if ! podman --runtime runc info >/dev/null 2>&1; then
  echo "install-container-engine: podman is installed but does not work here:" >&2
  podman --runtime runc info 2>&1 | tail -5 >&2 || true
  exit 1
fi
