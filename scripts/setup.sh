#!/usr/bin/env bash
# Installs everything Keon needs on Debian 12, as root. Idempotent: a second
# run finds everything in place and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUN_VERSION="$(sed -n 's/.*"packageManager": *"bun@\([^"]*\)".*/\1/p' package.json)"
APT_PACKAGES=(
  containerd runc containernetworking-plugins catatonit nftables iptables iproute2
  umoci busybox-static docker-registry skopeo openssl
  # promtool, for the check of keond's /metrics
  prometheus
  # etcd for the fleet tests (a 3-member cluster on loopback, test/harness/etcd.ts)
  etcd-server
  # git: repos[] are cloned on the host (src/runtime/repos.ts)
  git
  golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev golang-github-gogo-googleapis-dev
  ca-certificates procps util-linux curl
  # systemd-analyze, for the check of systemd/keond.service (the package does not make systemd PID 1)
  systemd
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (it installs Debian packages)" >&2
  exit 2
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's containerd unit may start a system containerd; Keon's tests and
# its managed mode run private ones, so the system one is left as it is.

if [ "$(bun --version 2>/dev/null || true)" != "$BUN_VERSION" ]; then
  # npm comes with the machine's Node.js; Debian's npm is the fallback on a bare host.
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "setup: installing bun@$BUN_VERSION from the npm registry"
  npm install -g --no-fund --no-audit "bun@$BUN_VERSION" >/dev/null 2>&1 || npm install -g "bun@$BUN_VERSION"
fi
bun --version | grep -qx "$BUN_VERSION" || { echo "setup: bun $BUN_VERSION not on PATH" >&2; exit 1; }

bun install --frozen-lockfile >/dev/null
echo "setup: ok (bun $BUN_VERSION, ${#APT_PACKAGES[@]} Debian packages)"
