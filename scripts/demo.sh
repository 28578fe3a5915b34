#!/usr/bin/env bash
# Builds everything, starts the bundled example `crash hang 2`, snapshots it with ptrace and the
# bundled Lua and native (C) modules, shows the readable dump and where the JSON went, and stops the example.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release
make -s -C c-examples

out=$(mktemp -d)
c-examples/build/crash hang 2 > "$out/ready" &
target=$!
trap 'kill $target 2>/dev/null || true' EXIT
# Wait until every thread of the example is parked.
for _ in $(seq 100); do grep -q ready "$out/ready" && break; sleep 0.05; done

target/release/ptrace --pretty-print --module-path lua/examples --module-path c-examples/build/modules \
    --global papa --global global_version -O "$out" "$target"
echo
echo "The process is running again: $(grep State: /proc/$target/status)"
