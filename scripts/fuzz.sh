#!/usr/bin/env bash
# Runs every fuzz target of every module for FUZZTIME (default 3s) each.
set -euo pipefail
fuzztime="${FUZZTIME:-3s}"
cd "$(dirname "$0")/.."
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "fuzz $dir $target ($fuzztime)"
    if ! (cd "$dir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" . >/tmp/fuzz.$$.log 2>&1); then
      cat /tmp/fuzz.$$.log; status=1
    fi
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' services shared devstack 2>/dev/null | sort)
rm -f /tmp/fuzz.$$.log
exit $status
