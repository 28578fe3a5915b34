#!/usr/bin/env bash
# Makes docs/images/bugsink-crash.png, the README's picture of a crash as a Sentry-protocol
# server shows it: `crash segv` (c-examples) run under `ptrace --exec --sentry-dsn`, in Bugsink's
# UI with its stack trace and variables.
#
# Run by hand (not in CI), from anywhere, as root or with sudo for the packages:
#
#   bash scripts/bugsink-screenshot.sh [OUTPUT.png]
#
# It installs what it needs when missing: Bugsink and selenium in the venv of
# scripts/install-bugsink.sh, Debian's chromium and chromium-driver (apt-get). It builds ptrace
# and the C examples, starts Bugsink on a free 127.0.0.1 port in a temporary folder (removed at
# the end, the server stopped), makes a user and a project there, sends the crash with ptrace,
# logs in with headless Chromium, opens the crash's issue, unfolds the frames of the program
# (in-app) and takes the screenshot.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/docs/images/bugsink-crash.png}"
venv="${PTRACE_BUGSINK_VENV:-$repo/target/test-tools/bugsink-venv}"

bash "$repo/scripts/install-bugsink.sh" selenium==4.51.0
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver fonts-dejavu-core
fi
(cd "$repo" && cargo build -q --bin ptrace)
make -s -C "$repo/c-examples"

work="$(mktemp -d /tmp/bugsink-screenshot.XXXXXX)"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DJANGO_SETTINGS_MODULE=bugsink_conf PYTHONPATH="$work" PYTHONDONTWRITEBYTECODE=1
cd "$work"
"$venv/bin/bugsink-create-conf" --template local --host 127.0.0.1 --port "$port" --output-file bugsink_conf.py >/dev/null
cat >>bugsink_conf.py <<EOF
DATABASES["default"]["NAME"] = "$work/db.sqlite3"
DATABASES["snappea"]["NAME"] = "$work/snappea.sqlite3"
BUGSINK["INGEST_STORE_BASE_DIR"] = "$work/ingestion"
BUGSINK["VALIDATE_ON_DIGEST"] = "strict"
SNAPPEA["TASK_ALWAYS_EAGER"] = True
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # no "email is not set up" banner
EOF
"$venv/bin/bugsink-manage" migrate -v0
"$venv/bin/bugsink-manage" migrate snappea --database=snappea -v0
models="$repo/tests/common/bugsink_models.py"
project="$("$venv/bin/python" "$models" project crash)"
project_id="$(printf '%s' "$project" | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
dsn="$(printf '%s' "$project" | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["dsn"])')"
password="$("$venv/bin/python" -c 'import secrets; print(secrets.token_hex(12))')"
"$venv/bin/python" "$models" user admin "$password" "$project_id" >/dev/null

"$venv/bin/bugsink-manage" runserver --noreload --skip-checks "127.0.0.1:$port" >server.log 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.2
done

# The crash, as in the README; ptrace exits with the program's status (128 + SIGSEGV).
status=0
"$repo/target/debug/ptrace" --exec --sentry-dsn "$dsn" --classifier demo --release crash@1.0.0 \
    -o "$work/crash.json" -- "$repo/c-examples/build/crash" segv || status=$?
[ "$status" -eq 139 ] || { echo "ptrace --exec ended with status $status" >&2; exit 1; }
issue="$("$venv/bin/python" "$models" events "$project_id" | "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[0]["issue"]["id"])')"

mkdir -p "$(dirname "$out")"
"$venv/bin/python" - "http://127.0.0.1:$port" "$issue" "$password" "$out" <<'EOF'
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, issue, password, out = sys.argv[1:5]
options = webdriver.ChromeOptions()
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                 "--hide-scrollbars", "--force-device-scale-factor=1"]:
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(base + "/accounts/login/")
    driver.find_element(By.NAME, "username").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button").click()
    time.sleep(1)
    driver.get(f"{base}/issues/issue/{issue}/event/last/")
    time.sleep(1)
    # Unfold every in-app frame of the exception (the innermost is open already).
    driver.execute_script("""
        for (const details of document.querySelectorAll('.js-frame-details.js-in-app')) {
            if (details.dataset.collapsed === 'true') {
                details.previousElementSibling.click();
            }
        }
    """)
    time.sleep(1)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(height, 1000), 2600))
    time.sleep(0.5)
    driver.save_screenshot(out)
finally:
    driver.quit()
EOF
echo "$out"
