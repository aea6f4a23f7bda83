#!/usr/bin/env bash
# The ec2 backend against moto, a local EC2 emulator (issue 6).
# Creates .ci/moto/.venv on first use (or when requirements.txt/constraints.txt change) with the
# pinned moto[server] from PyPI, starts moto_server on a free loopback port, runs the ec2 backend
# integration tests with MOTO_URL pointing at it, and stops moto again.
# Usage: bash .ci/moto/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
stamp="$(cat "$here/requirements.txt" "$here/constraints.txt")"
if [ ! -x "$venv/bin/moto_server" ] || [ "$stamp" != "$(cat "$venv/.requirements" 2>/dev/null)" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt" -c "$here/constraints.txt"
    printf '%s' "$stamp" > "$venv/.requirements"
fi
port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
log="$(mktemp)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/moto-api/" 2>/dev/null; then
        break
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "moto_server exited"; exit 1; }
    sleep 0.1
done
echo "== ec2 backend against moto at $url"
cd "$root"
if ! MOTO_URL="$url" cargo test -p deltacloud-server --test it ec2_; then
    echo "--- moto log"; tail -n 80 "$log"; exit 1
fi

echo "== boto3 -> deltacloudd /ec2 -> ec2 backend -> moto"
bin="$root/target/debug/deltacloudd"
[ -x "$bin" ] || cargo build -p deltacloud-server
gw="$(mktemp -d)"
gwlog="$gw/server.log"
# The gateway's EC2 access key, acting as a moto key pair (moto accepts any).
DELTACLOUD_EC2_SECRET=e2e-gateway-secret DELTACLOUD_BACKEND_PASSWORD=moto-secret \
    "$bin" --data-dir "$gw/state" credentials add --user AKIDMOTOE2E AKIDGATEWAYE2E >/dev/null
"$bin" -i ec2 -P "$url" -f ec2,deltacloud -p 0 -r 127.0.0.1 -t 10 --data-dir "$gw/state" >"$gwlog" 2>&1 &
gwpid=$!
cleanup_gw() { kill "$gwpid" 2>/dev/null || true; wait "$gwpid" 2>/dev/null || true; rm -rf "$gw"; cleanup; }
trap cleanup_gw EXIT
gwurl=""
for _ in $(seq 1 300); do
    gwurl="$(sed -n 's/^Listening on \(http:\/\/[^ ]*\).*/\1/p' "$gwlog" | head -n1)"
    [ -n "$gwurl" ] && break
    kill -0 "$gwpid" 2>/dev/null || { cat "$gwlog"; echo "deltacloudd exited"; exit 1; }
    sleep 0.1
done
[ -n "$gwurl" ] || { cat "$gwlog"; echo "deltacloudd did not start"; exit 1; }
if ! "$venv/bin/python" "$here/boto3_e2e.py" "$gwurl/ec2" AKIDGATEWAYE2E e2e-gateway-secret \
    "$url" AKIDMOTOE2E moto-secret; then
    echo "--- gateway log"; tail -n 50 "$gwlog"; echo "--- moto log"; tail -n 40 "$log"; exit 1
fi
