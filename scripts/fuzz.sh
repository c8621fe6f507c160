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
    ok=0
    for attempt in 1 2; do
      if (cd "$dir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" . >/tmp/fuzz.$$.log 2>&1); then
        ok=1; break
      fi
      # Go's fuzz coordinator sometimes reports "context deadline exceeded" when
      # -fuzztime ends while a worker is still busy with a new input; that is
      # not a finding (a finding writes "Failing input"), so run once more.
      if grep -q 'Failing input' /tmp/fuzz.$$.log || ! grep -q 'context deadline exceeded' /tmp/fuzz.$$.log; then
        break
      fi
      echo "  (fuzz deadline hiccup, running $target again)"
    done
    if [ "$ok" -ne 1 ]; then
      cat /tmp/fuzz.$$.log; status=1
    fi
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' services shared devstack 2>/dev/null | sort)
rm -f /tmp/fuzz.$$.log
exit $status
