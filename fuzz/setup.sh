#!/usr/bin/env bash
# Installs what fuzzing needs on a fresh Debian machine with rustup's stable toolchain:
# cargo-afl (the `afl` crate's cargo subcommand) and the AFL++ it builds from its bundled
# source (`cargo afl config --build`, which needs a C compiler and make), then builds the
# targets. Idempotent: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v gcc >/dev/null || ! command -v make >/dev/null; then
    apt-get update
    apt-get install -y build-essential
fi
if ! cargo afl --version >/dev/null 2>&1; then
    cargo install --locked cargo-afl
fi
# AFL++ for this rustc; "already built" is not an error.
if ! cargo afl config --build 2>/tmp/afl-config.$$; then
    if ! grep -q "already built" /tmp/afl-config.$$; then
        cat /tmp/afl-config.$$ >&2
        rm -f /tmp/afl-config.$$
        exit 1
    fi
fi
rm -f /tmp/afl-config.$$
nice -n 19 cargo afl build --release
echo "ready: fuzz/run.sh TARGET MINUTES (targets: elf dwarf cfi snapshot_json)"
