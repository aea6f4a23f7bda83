#!/usr/bin/env bash
# EC2 client suite: real aws-cli, boto3 and libcloud against a running deltacloudd's /ec2.
# Creates .ci/python/.venv (pinned requirements.txt) on first use, starts the server on a free
# loopback port with a throwaway data directory, runs ec2_clients.py, stops the server.
# Usage: bash .ci/python/run.sh   (expects target/debug/deltacloudd; builds it if missing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/.requirements"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/.requirements"
fi
bin="$root/target/debug/deltacloudd"
[ -x "$bin" ] || (cd "$root" && cargo build -p deltacloud-server)
data="$(mktemp -d)"
log="$data/server.log"
"$bin" -i mock -p 0 -r 127.0.0.1 --data-dir "$data/state" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
url=""
for _ in $(seq 1 300); do
    url="$(sed -n 's/^Listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -n1)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "deltacloudd exited"; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "deltacloudd did not start"; exit 1; }
export PATH="$venv/bin:$PATH"
if ! "$venv/bin/python" "$here/ec2_clients.py" "$url/ec2"; then
    echo "--- server log"; tail -n 50 "$log"; exit 1
fi
