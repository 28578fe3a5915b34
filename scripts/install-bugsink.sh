#!/usr/bin/env bash
# Installs Bugsink (a self-hosted server that speaks Sentry's protocol; PyPI package `bugsink`,
# pinned below) in a Python virtual environment inside the build area, where the Sentry tests
# (tests/cli_sentry.rs, through tests/common/bugsink.rs) and scripts/bugsink-screenshot.sh find
# it: target/test-tools/bugsink-venv (or $PTRACE_BUGSINK_VENV). Quick when it is there already;
# python3 with its venv module is installed first when missing (apt-get or dnf). Prints nothing
# when there is nothing to do; fails with the reason otherwise.
#
#   bash scripts/install-bugsink.sh [EXTRA_PIP_PACKAGE...]
#
# Extra packages (e.g. selenium for the screenshot) are pip-installed into the same venv.
set -euo pipefail
BUGSINK_VERSION=2.6.2
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${PTRACE_BUGSINK_VENV:-$repo/target/test-tools/bugsink-venv}"
stamp="$venv/.bugsink-$BUGSINK_VERSION"

mkdir -p "$(dirname "$venv")"
# One installer at a time (test binaries and scripts may start together).
exec 9>"$(dirname "$venv")/.bugsink-install.lock"
flock 9

have_extras() {
    local package
    for package in "$@"; do
        "$venv/bin/pip" show -q "${package%%[=<>]*}" >/dev/null 2>&1 || return 1
    done
}

if [ -f "$stamp" ] && "$venv/bin/python" -c 'import bugsink' >/dev/null 2>&1 && have_extras "$@"; then
    exit 0
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
python=""
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
        && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        python="$candidate"
        break
    fi
done
if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing python3 and its venv module (for Bugsink)" >&2
    if command -v apt-get >/dev/null 2>&1; then
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q python3 python3-venv python3-pip
    elif command -v dnf >/dev/null 2>&1; then
        $sudo dnf install -y python3 python3-pip
    else
        echo "install python3 (3.10 or later) with its venv module and run again" >&2
        exit 1
    fi
    python=/usr/bin/python3
fi

if [ ! -f "$stamp" ] || ! "$venv/bin/python" -c 'import bugsink' >/dev/null 2>&1; then
    echo "installing Bugsink $BUGSINK_VERSION into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "bugsink==$BUGSINK_VERSION"
    "$venv/bin/python" -c 'import bugsink'
    touch "$stamp"
fi
if [ $# -gt 0 ] && ! have_extras "$@"; then
    echo "installing $* into $venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
fi
