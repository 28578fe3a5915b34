#!/bin/bash
# The time to a first snapshot of a stripped program (SQLite -O2, 5 threads parked in callbacks)
# whose debug file only a debuginfod server holds: cold cache, warm cache, without debuginfod,
# and warm with the server stopped. Needs debuginfod (scripts/install-test-tools.sh), curl, and
# the program built by `cargo test --test gdb_sqlite`; measures target/release/ptrace (or $PTRACE).
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
P=${PTRACE:-$ROOT/target/release/ptrace}
D=/tmp/ptrace-debuginfod-bench; rm -rf $D; mkdir -p $D/srv
cp $ROOT/target/tmp/sqlite-O2-*/sqlite_driver $D/app
objcopy --only-keep-debug $D/app $D/srv/app.debug
strip --strip-all $D/app
ls -la $D/app $D/srv/app.debug
ID=$(readelf -n $D/app | awk '/Build ID/{print $3}')
debuginfod -p 8765 -F $D/srv -d $D/db.sqlite > $D/server.log 2>&1 &
S=$!
for i in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:8765/buildid/$ID/debuginfo && break; sleep 0.3; done
$D/app > $D/app.out &
A=$!
sleep 1.5
run() { # label, extra env...
  local label=$1; shift
  local t0=$(date +%s.%N)
  env "$@" $P -o $D/s.json $A > /dev/null 2>$D/err.txt
  local t1=$(date +%s.%N)
  python3 - "$label" "$t0" "$t1" <<'PY'
import json,sys
s=json.load(open('/tmp/ptrace-debuginfod-bench/s.json'))
named=sum(1 for t in s['threads'] for f in t['frames'] if f.get('symbol') and f.get('line'))
frames=sum(len(t['frames']) for t in s['threads'])
print(f"{sys.argv[1]}: wall {float(sys.argv[3])-float(sys.argv[2]):.3f} s, stopped {s['timing']['stopped_us']/1000:.2f} ms, frames with lines {named}/{frames}")
PY
}
for r in 1 2 3 4 5; do
  rm -rf $D/cache
  run cold DEBUGINFOD_URLS=http://127.0.0.1:8765 DEBUGINFOD_CACHE_PATH=$D/cache
  run warm DEBUGINFOD_URLS=http://127.0.0.1:8765 DEBUGINFOD_CACHE_PATH=$D/cache
  run none DEBUGINFOD_URLS= DEBUGINFOD_CACHE_PATH=$D/nocache
done
kill $S
run warm-server-down DEBUGINFOD_URLS=http://127.0.0.1:8765 DEBUGINFOD_CACHE_PATH=$D/cache
kill $A
