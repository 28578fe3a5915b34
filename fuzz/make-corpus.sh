#!/usr/bin/env bash
# Builds the seed inputs of the fuzz corpus into fuzz/seeds/out/ (not committed): small ELF
# images built from fuzz/seeds/tiny.c and tiny.cpp (freestanding: no libc, so a few KB each)
# in the variants whose parsing differs (-O0 / -O2, DWARF 4 / 5, type units, compressed
# sections, .debug_frame only, no symbols, a debug link, MiniDebugInfo), the c-examples programs, and
# snapshot documents written by the real CLI. `fuzz/corpus/` holds these seeds and the inputs
# refresh-corpus.sh picked from campaigns started from them (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
out=seeds/out
rm -rf "$out"
mkdir -p "$out/elf" "$out/json"

common=(-nostdlib -static -fno-pie -no-pie -Wl,--build-id -fno-stack-protector -Wl,-z,noseparate-code -Wl,-z,max-page-size=4096)
cc() { gcc "${common[@]}" "$@"; }
cc -g -O0 -o "$out/elf/tiny-O0" seeds/tiny.c
cc -g -O2 -o "$out/elf/tiny-O2" seeds/tiny.c
cc -gdwarf-4 -fdebug-types-section -O1 -o "$out/elf/tiny-dwarf4-types" seeds/tiny.c
cc -g -O2 -gz=zlib -o "$out/elf/tiny-gz" seeds/tiny.c
cc -g -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables -o "$out/elf/tiny-debug-frame" seeds/tiny.c
cc -g -O2 -fPIC -pie -Wl,--no-dynamic-linker -o "$out/elf/tiny-pie" seeds/tiny.c 2>/dev/null ||
    cc -g -O2 -o "$out/elf/tiny-pie" seeds/tiny.c
g++ "${common[@]}" -g -O1 -fno-exceptions -fno-rtti -o "$out/elf/tiny-cpp" seeds/tiny.cpp
cc -O2 -o "$out/elf/tiny-nodebug" seeds/tiny.c
cp "$out/elf/tiny-O2" "$out/elf/tiny-stripped"
strip "$out/elf/tiny-stripped"
# A stripped object pointing at its debug file.
objcopy --only-keep-debug "$out/elf/tiny-O0" "$out/elf/tiny.debug"
objcopy --strip-debug --add-gnu-debuglink="$out/elf/tiny.debug" "$out/elf/tiny-O0" "$out/elf/tiny-linked"

# Fedora-style (RPM's find-debuginfo): stripped of everything, the function symbols .dynsym
# lacks kept as MiniDebugInfo, an xz-compressed ELF file in .gnu_debugdata.
minidebuginfo() {
    local binary=$1 tmp
    tmp=$(mktemp -d)
    nm -D --format=posix --defined-only "$binary" 2>/dev/null | awk '{print $1}' | sort > "$tmp/dynsyms"
    nm --format=posix --defined-only "$binary" | awk '$2 ~ /[TtWw]/ {print $1}' | sort > "$tmp/funcsyms"
    comm -13 "$tmp/dynsyms" "$tmp/funcsyms" > "$tmp/keep"
    objcopy --only-keep-debug "$binary" "$tmp/mini.debug"
    objcopy -S --remove-section .gdb_index --remove-section .comment \
        --keep-symbols="$tmp/keep" "$tmp/mini.debug" "$tmp/mini"
    xz "$tmp/mini"
    strip --strip-all --remove-section=.comment "$binary"
    objcopy --add-section .gnu_debugdata="$tmp/mini.xz" "$binary"
    rm -r "$tmp"
}
cp "$out/elf/tiny-O2" "$out/elf/tiny-minidebuginfo"
minidebuginfo "$out/elf/tiny-minidebuginfo"

make -s -C ../c-examples >/dev/null
for program in crash crash-O2 threads-O2; do
    cp "../c-examples/build/$program" "$out/elf/$program"
done

# Snapshot documents: the real CLI on `crash hang 1`, in every layout.
ptrace=../target/debug/ptrace
if [ ! -x "$ptrace" ]; then
    (cd .. && cargo build --bin ptrace)
fi
../c-examples/build/crash hang 1 >/dev/null &
target=$!
sleep 0.5
for layout in rows compact; do
    "$ptrace" "$target" --layout "$layout" -o "$out/json/crash-$layout.json" >/dev/null 2>&1 || true
done
kill "$target"
wait "$target" 2>/dev/null || true
# A small document too: the first thread's first frames, the first modules.
python3 - "$out/json/crash-compact.json" "$out/json/crash-small.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["threads"] = doc["threads"][:1]
for thread in doc["threads"]:
    thread["frames"] = thread["frames"][:3]
doc["modules"] = doc["modules"][:2]
doc["globals"] = doc["globals"][:2]
json.dump(doc, open(sys.argv[2], "w"), indent=1)
PY
ls -l "$out"/*
