#!/usr/bin/env bash
# Checks that two ptrace binaries write the same snapshots: a refactoring that must not change
# behaviour is run as NEW against the build it started from as BASE.
#
#   bash scripts/same-snapshots.sh BASE_BIN NEW_BIN
#
# Both binaries snapshot the c-examples programs (built here with `make -C c-examples`):
#
# - crashes under `--exec` (crash segv / abort / sighandler, cpp_example segv, -O0 and -O2, with
#   the tutorial's Lua and C modules and globals in some), each run with address space
#   randomisation off (setarch -R) and the same small environment, so stack addresses agree;
# - parked programs by pid (crash hang, threads, cpp_example hang, with modules and globals):
#   BASE, NEW, then BASE again on the same process;
# - the core of a parked program (gcore) with `--core`.
#
# Each JSON snapshot is compared with `timing` and `timestamp` removed, and with every value
# that differs between the two BASE runs of a case (pids, tids, the stack canary, anything else
# that changes from run to run) replaced by "<varies>": what is left must be equal, key for key.
# The readable dump (`ptrace dump`) of BASE's snapshot is also printed by both binaries and must
# be equal byte for byte. Exits 0 when every case agrees, 1 when one differs (the differences
# are printed, the files kept in the folder named), 2 on a usage or setup error.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BASE_BIN NEW_BIN" >&2
    exit 2
fi
base="$(realpath "$1")"
new="$(realpath "$2")"
for bin in "$base" "$new"; do
    [ -x "$bin" ] || { echo "$bin is not an executable" >&2; exit 2; }
done
for tool in jq setarch gcore; do
    command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/install-test-tools.sh)" >&2; exit 2; }
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
make -s -C "$repo/c-examples" >/dev/null
build="$repo/c-examples/build"
lua="$repo/lua/examples"
work="$(mktemp -d /tmp/same-snapshots.XXXXXX)"
failures=0
parked=()
cleanup() {
    for pid in "${parked[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# The same environment for every run: nothing of the caller's leaks into the stack layout.
run() {
    env -i PATH=/usr/bin:/bin HOME=/root LANG=C setarch -R "$@"
}

# The leaf paths whose values differ between two snapshots of one case (as a JSON array); fails
# when the two do not even have the same structure.
noise_of() {
    jq -n --slurpfile a "$1" --slurpfile b "$2" '
        ($a[0] | [paths(scalars)]) as $pa
        | ($b[0] | [paths(scalars)]) as $pb
        | if $pa != $pb then error("the two BASE runs differ in structure") else
            [$pa[] as $p | select(($a[0] | getpath($p)) != ($b[0] | getpath($p))) | $p]
          end'
}

# A snapshot with the run-dependent values masked, keys sorted, one value per line.
normalized() {
    jq -S --argjson noise "$2" \
        'reduce $noise[] as $p (.; setpath($p; "<varies>")) | del(.timing, .timestamp)' "$1"
}

# Compares the snapshots of case $1 (BASE run twice: a.json, c.json; NEW: b.json) and the dumps.
compare() {
    local name="$1" dir="$work/$1"
    local noise
    if ! noise=$(noise_of "$dir/a.json" "$dir/c.json"); then
        echo "FAIL $name: BASE is not repeatable here"
        failures=$((failures + 1))
        return
    fi
    normalized "$dir/a.json" "$noise" >"$dir/a.norm"
    normalized "$dir/b.json" "$noise" >"$dir/b.norm"
    "$base" dump "$dir/a.json" >"$dir/a.dump" 2>&1 || true
    "$new" dump "$dir/a.json" >"$dir/b.dump" 2>&1 || true
    local varying
    varying=$(jq length <<<"$noise")
    if diff -u "$dir/a.norm" "$dir/b.norm" >"$dir/json.diff" && diff -u "$dir/a.dump" "$dir/b.dump" >"$dir/dump.diff"; then
        echo "same $name ($(wc -l <"$dir/a.norm") JSON lines, $varying run-dependent values, $(wc -l <"$dir/a.dump") dump lines)"
    else
        echo "FAIL $name: the snapshots differ ($dir)"
        head -40 "$dir/json.diff" "$dir/dump.diff" 2>/dev/null || true
        failures=$((failures + 1))
    fi
}

# `--exec` case: NAME, ptrace options..., `--`, program and arguments.
exec_case() {
    local name="$1"
    shift
    local dir="$work/$name"
    mkdir -p "$dir"
    local run_as
    for run_as in a:"$base" b:"$new" c:"$base"; do
        (cd "$dir" && run "${run_as#*:}" --no-debuginfod -o "${run_as%%:*}.json" "$@" \
            >>"$dir/stdout" 2>>"$dir/stderr") || true
        [ -s "$dir/${run_as%%:*}.json" ] || { echo "FAIL $name: no snapshot from ${run_as#*:}"; failures=$((failures + 1)); return; }
    done
    compare "$name"
}

# Starts a program that parks (prints `ready` once every thread is in place); sets `target`.
park() {
    local out="$work/park.$$.$RANDOM"
    # Not through run(): a function in the background is a subshell, and $! would be its pid.
    env -i PATH=/usr/bin:/bin HOME=/root LANG=C setarch -R "$@" >"$out" 2>&1 &
    target=$!
    parked+=("$target")
    for _ in $(seq 200); do
        grep -q ready "$out" && return 0
        sleep 0.05
    done
    echo "$* never became ready" >&2
    exit 2
}

# Case of a parked process: NAME, then ptrace options; the process is $target.
pid_case() {
    local name="$1"
    shift
    local dir="$work/$name"
    mkdir -p "$dir"
    local run_as
    for run_as in a:"$base" b:"$new" c:"$base"; do
        (cd "$dir" && run "${run_as#*:}" --no-debuginfod -o "${run_as%%:*}.json" "$@" "$target" \
            >>"$dir/stdout" 2>>"$dir/stderr") || true
        [ -s "$dir/${run_as%%:*}.json" ] || { echo "FAIL $name: no snapshot from ${run_as#*:}"; failures=$((failures + 1)); return; }
    done
    compare "$name"
}

# Case of a core file: NAME, core, executable, then ptrace options.
core_case() {
    local name="$1" core="$2" exe="$3"
    shift 3
    local dir="$work/$name"
    mkdir -p "$dir"
    local run_as
    for run_as in a:"$base" b:"$new" c:"$base"; do
        (cd "$dir" && run "${run_as#*:}" --no-debuginfod -o "${run_as%%:*}.json" "$@" --core "$core" "$exe" \
            >>"$dir/stdout" 2>>"$dir/stderr") || true
        [ -s "$dir/${run_as%%:*}.json" ] || { echo "FAIL $name: no snapshot from ${run_as#*:}"; failures=$((failures + 1)); return; }
    done
    compare "$name"
}

tutorial=(--module-load "$lua/pmodule_lua.lua" --module-load "$build/modules/tutorial.so"
    --global papa --global some_struct_g --global global_version --global invalid_write_target)

exec_case crash-segv --exec -- "$build/crash" segv
exec_case crash-O2-segv --exec -- "$build/crash-O2" segv
exec_case crash-abort --exec -- "$build/crash" abort
exec_case crash-O2-sighandler --exec -- "$build/crash-O2" sighandler
exec_case crash-segv-modules "${tutorial[@]}" --exec -- "$build/crash" segv
exec_case crash-O2-segv-modules "${tutorial[@]}" --exec -- "$build/crash-O2" segv
exec_case cpp-segv --exec -- "$build/cpp_example" segv
exec_case cpp-O2-segv-printer --module-load "$build/modules/cpp_printer.so" --exec -- "$build/cpp_example-O2" segv

park "$build/crash" hang 2
pid_case crash-hang --module-load "$lua/array_iter.lua" "${tutorial[@]}"
park "$build/crash-O2" hang 3
pid_case crash-O2-hang "${tutorial[@]}"
core="$work/crash-O2-hang.core"
gcore -o "$core" "$target" >/dev/null 2>&1
core_case crash-O2-hang-core "$core.$target" "$build/crash-O2" "${tutorial[@]}"
park "$build/threads-O2" 2 3
pid_case threads-O2 --depth 6
park "$build/threads" 3 4
pid_case threads
park "$build/cpp_example-O2" hang
pid_case cpp-O2-hang --module-load "$build/modules/cpp_printer.so"
park "$build/cpp_example" hang
pid_case cpp-hang

if [ "$failures" -ne 0 ]; then
    echo "$failures case(s) differ; files in $work"
    exit 1
fi
rm -rf "$work"
echo "every snapshot is the same"
