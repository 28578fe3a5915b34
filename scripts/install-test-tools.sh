#!/usr/bin/env bash
# Installs what the tests need besides the Rust toolchain and gcc/make, when missing: gdb (the
# oracle the variable tests compare with), g++, pkg-config, objcopy, objdump, readelf, nm and
# strip (binutils), man (man-db: the install test reads the installed manual pages), xz
# (MiniDebugInfo is made with it), debuginfod (elfutils' server: the debuginfod tests start one
# on 127.0.0.1), tmux (the end-to-end test of `ptrace view`), unshare, setpriv and curl (the
# container tests and the debuginfod benchmark); then Bugsink, the Sentry-protocol server the
# Sentry tests send to, in a Python virtual environment under target/
# (scripts/install-bugsink.sh).
# Debian/Ubuntu (apt-get) and Fedora (dnf); elsewhere it names what to install and fails.
set -euo pipefail
missing=()
for tool in gdb g++ pkg-config objcopy objdump readelf nm strip man xz debuginfod tmux unshare setpriv curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
    exec bash "$(dirname "$0")/install-bugsink.sh"
fi
echo "installing the test tools: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if command -v apt-get >/dev/null 2>&1; then
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q gdb g++ pkg-config binutils man-db xz-utils debuginfod tmux util-linux curl
elif command -v dnf >/dev/null 2>&1; then
    $sudo dnf install -y gdb gcc-c++ pkgconf-pkg-config binutils man-db xz elfutils-debuginfod tmux util-linux curl
else
    echo "install these and run again: ${missing[*]}" >&2
    exit 1
fi
bash "$(dirname "$0")/install-bugsink.sh"
