#!/usr/bin/env bash
# Makes the README's pictures of `ptrace view` (docs/images/viewer-*.png) from real snapshots:
# the viewer runs in tmux (80×24... 100×30 here, to show more), each screen is captured with its
# colours (`tmux capture-pane -e`), turned into HTML (scripts/ansi-to-html.py) and photographed by
# headless Chromium.
#
# Run by hand (not in CI), as root (ptrace) from anywhere:
#
#   bash scripts/viewer-screenshots.sh [OUTPUT-FOLDER]
#
# Needs tmux and Chromium with the DejaVu fonts (installed with apt-get when missing).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
images="${1:-$repo/docs/images}"
mkdir -p "$images"
images="$(cd "$images" && pwd)"
if ! command -v chromium >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium tmux fonts-dejavu-core
fi
(cd "$repo" && cargo build -q --bin ptrace)
make -s -C "$repo/c-examples"
ptrace="$repo/target/debug/ptrace"
work=$(mktemp -d)
socket="ptrace-screenshots-$$"
cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true
    [ -n "${target:-}" ] && kill "$target" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The snapshot: the bundled example with the bundled modules, as scripts/demo.sh takes it.
"$repo/c-examples/build/crash" hang 4 > "$work/ready" &
target=$!
for _ in $(seq 100); do grep -q ready "$work/ready" && break; sleep 0.05; done
(cd "$repo" && "$ptrace" --module-path lua/examples --module-path c-examples/build/modules \
    --global papa --global global_version -o "$work/crash.json" "$target" >/dev/null)
kill "$target"
target=

columns=112
rows=30
tmux -L "$socket" new-session -d -s view -x "$columns" -y "$rows" \
    "'$ptrace' view '$work/crash.json'; sleep 60"

# Waits for the pane to show $1.
wait_for() {
    for _ in $(seq 100); do
        tmux -L "$socket" capture-pane -p -t view | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    echo "no '$1' on the screen" >&2
    tmux -L "$socket" capture-pane -p -t view >&2
    exit 1
}
keys() { tmux -L "$socket" send-keys -t view "$@"; sleep 0.3; }

# Photographs the pane into $images/$1.png.
shoot() {
    tmux -L "$socket" capture-pane -e -p -t view | python3 "$repo/scripts/ansi-to-html.py" "ptrace view" > "$work/$1.html"
    # Cells of 15px DejaVu Sans Mono: 9px wide, 18.75px high, 8px of padding.
    local width=$((columns * 9 + 16)) height=$((rows * 19 + 16))
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$width,$height" --screenshot="$images/$1.png" "file://$work/$1.html" 2>/dev/null
    echo "$images/$1.png"
}

wait_for "Stack groups ("
# The first screen: the groups; the main thread's frames (its recursion folded) and the
# variables of `recurse`, its struct `frame` expanded, with the annotation a Lua module put on it.
keys / recurse Enter
wait_for "match 1 of "
keys Tab j j Enter
wait_for "▾ frame = "
shoot viewer-groups

# A search across the threads of a group: the third match is the thread-local of the group's
# third thread.
keys Escape
keys / hang_tls_counter Enter
keys n n
wait_for "match 3 of "
shoot viewer-search
keys Escape q
