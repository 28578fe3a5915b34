#!/usr/bin/env bash
# Runs one AFL++ campaign: fuzz/run.sh TARGET MINUTES [extra afl-fuzz options]
#
# TARGET is one of elf, dwarf, cfi, snapshot_json. The targets are built first (incremental).
# The campaign runs at the lowest priority, starts from fuzz/corpus/TARGET, or resumes the
# previous campaign of TARGET when fuzz/out/TARGET has one, and stops after MINUTES. At the end
# it prints AFL's counts (run time, executions, crashes, hangs) and where the crashing and
# hanging inputs are: reproduce one with `fuzz/target/release/TARGET < INPUT`, then copy it to
# fuzz/regressions/TARGET/ with its fix.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET MINUTES}
minutes=${2:?usage: fuzz/run.sh TARGET MINUTES}
shift 2
case "$target" in
    elf | dwarf | cfi | snapshot_json) ;;
    *) echo "unknown target $target (elf dwarf cfi snapshot_json)" >&2; exit 2 ;;
esac
nice -n 19 cargo afl build --release --bin "$target" >&2
out=out/$target
mkdir -p "$out"
input=corpus/$target
if [ -f "$out/default/fuzzer_stats" ]; then
    input=-   # resume
fi
# No UI (the log is the output), no CPU pinning (the machine is shared), a core_pattern that
# pipes to a program is tolerated, and an input that runs over 5 s counts as a hang.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_AUTORESUME=1
nice -n 19 cargo afl fuzz -i "$input" -o "$out" -t 5000 -m none -V $((minutes * 60)) "$@" \
    "target/release/$target" > "$out/afl.log" 2>&1 || {
    echo "afl-fuzz failed; the end of its log:" >&2
    tail -30 "$out/afl.log" >&2
    exit 1
}
stats=$out/default/fuzzer_stats
echo "target $target:"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|stability)\b' "$stats"
crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "crashing inputs: $crashes in $out/default/crashes/"
echo "hanging inputs: $hangs in $out/default/hangs/"
