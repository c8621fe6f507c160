#!/usr/bin/env bash
# Runs the benchmarks against FerretDB's PostgreSQL backend and a real redis-server
# and prints their figures. A private PostgreSQL cluster is started in a temporary
# directory and removed afterwards. BENCHTIME and BENCH (a -bench regexp) narrow it.
set -euo pipefail
cd "$(dirname "$0")/.."
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
port=${PGPORT_BENCH:-55432}
dir=$(mktemp -d /tmp/ci-bench-pg.XXXXXX)
run_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
run_pg "$pgbin/initdb -D $dir/data -A trust -U postgres >/dev/null"
# synchronous_commit=off: a commit is acknowledged before its WAL reaches the
# disk (flushed within 200 ms), like MongoDB's default write concern, which
# acknowledges before the journal's next group commit (100 ms).
run_pg "$pgbin/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c synchronous_commit=off' -l $dir/log -w start >/dev/null"
trap 'run_pg "$pgbin/pg_ctl -D $dir/data -m fast stop >/dev/null" || true; rm -rf "$dir"' EXIT
run_pg "$pgbin/createdb -h 127.0.0.1 -p $port -U postgres ferretdb"
# Keep FerretDB's documents uncompressed in their tables (see the file).
run_pg "$pgbin/psql -q -h 127.0.0.1 -p $port -U postgres -d ferretdb -v ON_ERROR_STOP=1 -f -" <scripts/ferretdb-pg.sql >/dev/null
export FERRETDB_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/ferretdb"
export FERRETDB_BIN="$PWD/bin/ferretdb"
# CRM sizes (BENCHMARKS.md): contacts loaded and recomputed from the store,
# orders timed one by one. 1,000,000 contacts take about 15 minutes to seed
# and load on FerretDB 1.24 (its per-field document conversion bounds the
# scan), so the default is 100,000; CRM_BENCH_CONTACTS=1000000 for the full run.
export CRM_BENCH_CONTACTS=${CRM_BENCH_CONTACTS:-100000}
# Inbox ingest: 20,000 webhooks (500 customers), the backlog whose drain is
# held against the raw-insert target; a smaller one mostly measures the
# fixed cost of one fold (a write per conversation) over fewer messages.
export BENCH_N=${BENCH_N:-20000}
export CRM_BENCH_ORDERS=${CRM_BENCH_ORDERS:-2000}
make -s ferretdb
bt=${BENCHTIME:-1x}
filter=${BENCH:-.}
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | awk '{print $3}')"
for pkg in $(grep -rl --include='*_test.go' -E '^func Benchmark' services shared devstack | xargs -n1 dirname | sort -u); do
  mod=$(cd "$pkg" && go list -m)
  echo "== $pkg"
  (cd "$pkg" && go test -run='^$' -bench="$filter" -benchtime="$bt" -benchmem -timeout 60m . 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' ) || echo "benchmarks in $pkg failed"
done
