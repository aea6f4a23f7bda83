#!/usr/bin/env bash
# Browser test of the /api HTML explorer (issue 3): builds deltacloudd, starts it on a loopback
# port with the mock driver and a throwaway data directory, and drives it in Debian's headless
# Chromium through playwright-core (explorer.test.js). Leaves target/browser/explorer.png.
# Exits non-zero on any failure; the server is stopped on every exit path.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

# Debian's Chromium: Playwright's own browser download does not work on these machines.
if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "== installing chromium (apt-get)"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
/usr/bin/chromium --version

echo "== npm ci (.ci/browser)"
(cd .ci/browser && npm ci --no-audit --no-fund)

echo "== build deltacloudd"
cargo build -p deltacloud-server --bin deltacloudd

data=$(mktemp -d)
log=$(mktemp)
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$data" "$log"
}
trap cleanup EXIT

"$root/target/debug/deltacloudd" -i mock -p 0 -r 127.0.0.1 --data-dir "$data" >"$log" 2>&1 &
pid=$!

url=""
for _ in $(seq 1 300); do
    url=$(sed -n 's/^Listening on //p' "$log" | head -n 1)
    if [ -n "$url" ]; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
        cat "$log" >&2
        echo "deltacloudd exited before listening" >&2
        exit 1
    fi
    sleep 0.2
done
if [ -z "$url" ]; then
    cat "$log" >&2
    echo "deltacloudd did not report its address within 60 s" >&2
    exit 1
fi
echo "== explorer at $url/api"

mkdir -p "$root/target/browser"
if ! DELTACLOUD_URL="$url" SCREENSHOT="$root/target/browser/explorer.png" \
    node .ci/browser/explorer.test.js; then
    echo "--- deltacloudd output" >&2
    cat "$log" >&2
    exit 1
fi
