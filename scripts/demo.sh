#!/usr/bin/env bash
# Sets up Keon and starts keond: as a systemd service where systemd runs,
# otherwise in the background of this shell with its log under /var/log.
# Then proves the agent answers on its socket. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

SOCKET="${KEON_SOCKET:-/run/keon/keond.sock}"
if [ -d /run/systemd/system ]; then
  install -d /opt/keon
  cp -a package.json bun.lock bunfig.toml tsconfig.json src workers node_modules /opt/keon/ 2>/dev/null || true
  install -m 0644 systemd/keond.service /etc/systemd/system/keond.service
  systemctl daemon-reload
  systemctl enable --now keond.service
else
  if ! curl -sf --unix-socket "$SOCKET" http://keond/healthz >/dev/null 2>&1; then
    nohup bun run src/daemon/main.ts >>/var/log/keond.log 2>&1 &
    echo "demo: keond started in the background (pid $!), log in /var/log/keond.log"
  fi
fi

for _ in $(seq 1 50); do
  curl -sf --unix-socket "$SOCKET" http://keond/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
echo "demo: keond health:    $(curl -s --unix-socket "$SOCKET" http://keond/healthz)"
echo "demo: keond readiness: $(curl -s --unix-socket "$SOCKET" http://keond/readyz)"
echo "demo: try it yourself: curl --unix-socket $SOCKET http://keond/healthz"
