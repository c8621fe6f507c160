#!/usr/bin/env bash
# Installs the system packages a target needs on a fresh Debian machine, only when missing.
#   scripts/install-deps.sh test    redis-server (+ chromium for the console browser tests)
#   scripts/install-deps.sh bench   redis-server and postgresql
set -euo pipefail
want=(redis-server)
case "${1:-test}" in
  test)  command -v chromium >/dev/null 2>&1 || want+=(chromium) ;;
  # The server binary, not pg_ctlcluster: postgresql-common (and so
  # pg_ctlcluster) also comes with the client alone.
  bench) compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || want+=(postgresql) ;;
esac
missing=()
for p in "${want[@]}"; do
  case "$p" in
    redis-server) command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
    *) missing+=("$p") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
