#!/usr/bin/env bash
# Set-up of `bun run bench`, as root, idempotent: what the tests need
# (scripts/setup.sh) plus Debian's podman, the peer Keon is measured against.
# On a host without CAP_SYS_RESOURCE podman cannot raise rlimits to its
# defaults, so its containers.conf gets default_ulimits within the host's
# limits (only when it sets none). A failure to install podman is reported
# and the bench still runs: it then prints Keon's figures without podman's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if ! command -v podman >/dev/null 2>&1; then
  echo "bench-setup: installing podman (Debian)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman >/dev/null; }; then
    echo "bench-setup: podman could not be installed; the bench will say so and measure Keon alone" >&2
    exit 0
  fi
fi

# CAP_SYS_RESOURCE is bit 24 of the effective capability set.
cap_eff="$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)"
if (( (16#$cap_eff >> 24) & 1 )); then
  exit 0
fi
conf=/etc/containers/containers.conf
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
  install -d /etc/containers
  if grep -qs '^\[containers\]' "$conf"; then
    sed -i '/^\[containers\]/a default_ulimits = ["nofile=1024:1024","nproc=4096:4096"]' "$conf"
  else
    printf '[containers]\n# No CAP_SYS_RESOURCE here: podman may not raise rlimits (keon scripts/bench-setup.sh)\ndefault_ulimits = ["nofile=1024:1024","nproc=4096:4096"]\n' >> "$conf"
  fi
  echo "bench-setup: $conf: default_ulimits set (no CAP_SYS_RESOURCE)"
fi
