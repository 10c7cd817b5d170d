#!/usr/bin/env bash
# Installs the Debian packages the integration tests need when they are missing:
# clickhouse-server (real-server path), nginx (edge tests), docker-compose (validates the
# compose files without an engine), chromium (browser tests, driven by playwright-core),
# prometheus, prometheus-alertmanager and prometheus-node-exporter (promtool, amtool, the
# alerting test and the disk alerts' labels). As root it runs apt-get; otherwise it says what
# to install and fails, so a missing package is never a silently skipped test.
set -euo pipefail
declare -A need=([clickhouse-server]=clickhouse-server [nginx]=nginx [docker-compose]=docker-compose [chromium]=chromium [promtool]=prometheus [prometheus-alertmanager]=prometheus-alertmanager [prometheus-node-exporter]=prometheus-node-exporter)
missing=()
for bin in "${!need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${missing[*]} (install them: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
