#!/usr/bin/env bash
# Refreshes fuzz/corpus/TARGET from a campaign: fuzz/refresh-corpus.sh TARGET [KB]
#
# afl-cmin (the shell version: the Python one cargo-afl runs finds no coverage with these
# persistent-mode targets) keeps, of the queue in fuzz/out/TARGET, the smallest input for each
# edge seen; of those, the smallest are added to the corpus's seeds (the inputs whose names do
# not start with "q-") until KB kilobytes (default 300) are added, so the committed corpus stays
# a few MB and its replay in `cargo test` a few seconds. Inputs are named q-<hash of contents>.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/refresh-corpus.sh TARGET [KB]}
budget=$((${2:-300} * 1024))
queue=out/$target/default/queue
[ -d "$queue" ] || { echo "no campaign in out/$target" >&2; exit 1; }
afl_bin=$(ls -d "$HOME"/.local/share/afl.rs/rustc-*/afl.rs-*/afl/bin | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
AFL_PATH=$afl_bin PATH=$afl_bin:$PATH AFL_SKIP_CPUFREQ=1 nice -n 19 \
    "$afl_bin/afl-cmin.bash" -i "$queue" -o "$work/min" -t 5000 -m none -- "target/release/$target" \
    > "$work/cmin.log" 2>&1 || { tail -5 "$work/cmin.log" >&2; exit 1; }
rm -f "corpus/$target"/q-*
added=0
count=0
while read -r size file; do
    [ $((added + size)) -le "$budget" ] || break
    name=q-$(sha256sum "$file" | cut -c1-16)
    cp "$file" "corpus/$target/$name"
    added=$((added + size))
    count=$((count + 1))
done < <(find "$work/min" -type f -printf '%s %p\n' | sort -n)
echo "corpus/$target: $count inputs from the campaign ($((added / 1024)) KB) beside $(ls "corpus/$target" | grep -vc '^q-') seeds"
