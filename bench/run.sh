#!/usr/bin/env bash
# Throughput benchmark of deltacloudd against a bare actix-web "ceiling" server.
#
#   bash bench/run.sh
#
# Builds release binaries, makes sure `wrk` is installed (apt-get), starts deltacloudd (mock
# driver, temporary data directory, 127.0.0.1, free port) and bench/ceiling (same host, free port,
# serving a copy of deltacloudd's own /api/instances XML), warms up, then drives with identical
# settings:
#   1. GET /api/instances       Accept: application/xml, Basic mockuser:mockpassword
#   2. GET /api/images?format=json                      Basic mockuser:mockpassword
#   3. the ceiling's fixed body
#   4. GET /cimi/machines       Accept: application/json, Basic mockuser:mockpassword
#   5. GET /ec2?Action=DescribeInstances, SigV4-presigned for mockuser/mockpassword (no Basic):
#      every replay is verified (canonical request, signing key, HMAC, constant-time compare).
#      bench-sigv4 (bench/ceiling/src/bin) signs it once at start with aws-sigv4, as a
#      presigned query valid for the whole run (X-Amz-Expires, not the ±15 min header skew);
#      before measuring, curl checks it answers 200 with a DescribeInstancesResponse and that a
#      tampered signature is refused with 403, so verification is known to be on.
# and prints requests/s, p50 and p99 latency for each and the ratio to the ceiling. Both servers
# are stopped at the end (also on Ctrl-C or error). Loopback only; every run is bounded in time.
# Not run by CI. Results are also written to bench/results/ (git-ignored).
#
# Every target is measured BENCH_ROUNDS times, the targets taking turns, and the report gives
# medians: on a shared 2-core machine one 10 s run of the ceiling varied by ±15 % between runs,
# so a single round's ratio said as much about the neighbours as about the server.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_CONNECTIONS (64), BENCH_DURATION (10s), BENCH_WARMUP (3s),
# BENCH_THREADS (2), BENCH_RUST_LOG (info: deltacloudd logs every request, as deployed).
# On a 2-core machine the load generator shares the cores with the server, so absolute numbers
# are low; the ratio to the ceiling is the figure to compare across changes. The ceiling serves
# the /api/instances body (about 4.9 KB); the EC2 document is about 5.3 KB.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS="${BENCH_CONNECTIONS:-64}"
ROUNDS="${BENCH_ROUNDS:-3}"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-3s}"
THREADS="${BENCH_THREADS:-2}"
RUST_LOG_LEVEL="${BENCH_RUST_LOG:-info}"
AUTH="Authorization: Basic $(printf 'mockuser:mockpassword' | base64)"

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (apt-get)"
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
fi

echo "== building release binaries"
cargo build --release -p deltacloud-server -p bench-ceiling

# secs DURATION: wrk's duration syntax (10, 10s, 2m, 1h) in seconds.
secs() {
    case "$1" in
        *h) echo $((${1%h} * 3600)) ;;
        *m) echo $((${1%m} * 60)) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# wait_listening FILE: print the URL from the "Listening on http://..." line once it appears.
wait_listening() {
    local file="$1"
    for _ in $(seq 1 300); do
        if grep -q '^Listening on ' "$file" 2>/dev/null; then
            grep -m1 '^Listening on ' "$file" | sed 's/^Listening on //'
            return 0
        fi
        sleep 0.1
    done
    echo "server did not start; output:" >&2
    cat "$file" >&2
    return 1
}

echo "== starting deltacloudd"
env -i PATH="$PATH" RUST_LOG="$RUST_LOG_LEVEL" HOSTNAME=bench \
    target/release/deltacloudd -i mock -f deltacloud,cimi,ec2 -r 127.0.0.1 -p 0 --data-dir "$TMP/data" \
    >"$TMP/deltacloudd.out" 2>"$TMP/deltacloudd.log" &
PIDS+=("$!")
DC="$(wait_listening "$TMP/deltacloudd.out")"

status="$(curl -s -o "$TMP/instances.xml" -w '%{http_code}' -H 'Accept: application/xml' -H "$AUTH" "$DC/api/instances")"
if [ "$status" != 200 ]; then
    echo "GET /api/instances answered $status, not 200; cannot benchmark" >&2
    cat "$TMP/instances.xml" >&2
    exit 1
fi

# The SigV4 request is signed once, now, valid for every warm-up and measurement plus a margin.
EC2_EXPIRES=$(( 5 * ($(secs "$WARMUP") + $(secs "$DURATION")) + 300 ))
EC2_URL="$(env -i BENCH_EC2_SECRET=mockpassword target/release/bench-sigv4 \
    "$DC/ec2?Action=DescribeInstances&Version=2016-11-15" mockuser BENCH_EC2_SECRET "$EC2_EXPIRES")"
status="$(curl -s -o "$TMP/ec2.xml" -w '%{http_code}' "$EC2_URL")"
if [ "$status" != 200 ] || ! grep -q '<DescribeInstancesResponse' "$TMP/ec2.xml" \
    || ! grep -q '<instanceId>' "$TMP/ec2.xml"; then
    echo "SigV4-signed DescribeInstances answered $status without instances; cannot benchmark" >&2
    cat "$TMP/ec2.xml" >&2
    exit 1
fi
# Flip the signature's last hex digit: if this is not refused, the target measures nothing.
last="${EC2_URL: -1}"
if [ "$last" = 0 ]; then flipped=1; else flipped=0; fi
status="$(curl -s -o "$TMP/ec2-bad.xml" -w '%{http_code}' "${EC2_URL%?}$flipped")"
if [ "$status" != 403 ] || ! grep -q 'SignatureDoesNotMatch' "$TMP/ec2-bad.xml"; then
    echo "a tampered SigV4 signature answered $status, not 403 SignatureDoesNotMatch; refusing to benchmark" >&2
    cat "$TMP/ec2-bad.xml" >&2
    exit 1
fi

echo "== starting the ceiling ($(wc -c <"$TMP/instances.xml") byte body, as /api/instances)"
target/release/bench-ceiling 0 "$TMP/instances.xml" >"$TMP/ceiling.out" 2>&1 &
PIDS+=("$!")
CEIL="$(wait_listening "$TMP/ceiling.out")"

NAMES=("GET /api/instances (xml)" "GET /api/images?format=json" "ceiling (fixed body)" "GET /cimi/machines (json)"
    "EC2 DescribeInstances (SigV4)")
URLS=("$DC/api/instances" "$DC/api/images?format=json" "$CEIL/api/instances" "$DC/cimi/machines" "$EC2_URL")
ACCEPTS=("application/xml" "application/json" "application/xml" "application/json" "*/*")
# The EC2 target carries its signature in the URL; a Basic header would win over it.
AUTHS=("$AUTH" "$AUTH" "$AUTH" "$AUTH" "")

run_wrk() { # run_wrk DURATION INDEX
    local auth=()
    if [ -n "${AUTHS[$2]}" ]; then auth=(-H "${AUTHS[$2]}"); fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" --timeout 5s --latency \
        -H "Accept: ${ACCEPTS[$2]}" "${auth[@]}" "${URLS[$2]}"
}

echo "== warming up ($WARMUP each)"
for i in "${!URLS[@]}"; do
    run_wrk "$WARMUP" "$i" >/dev/null
done

echo "== measuring: $ROUNDS rounds, $CONNECTIONS connections, $THREADS wrk threads, $DURATION each"
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!URLS[@]}"; do
        run_wrk "$DURATION" "$i" >"$TMP/wrk.$i.$r"
    done
done

# Pull requests/s, p50, p99 (in ms) and error counts out of wrk's report.
parse() { # parse FILE => "rps p50_ms p99_ms non2xx socket_errors"
    awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
            return v
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { errs = $0; sub(/.*Socket errors: /, "", errs); gsub(/ /, "", errs) }
        END { printf "%s %.3f %.3f %s %s\n", rps, p50, p99, (non2xx == "" ? 0 : non2xx), (errs == "" ? "none" : errs) }
    ' "$1"
}

# median N...: the middle value (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

mkdir -p bench/results
REPORT="bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "deltacloudd benchmark: $(date -u +%FT%TZ), $(nproc) cores, $CONNECTIONS connections, $ROUNDS rounds of $DURATION, RUST_LOG=$RUST_LOG_LEVEL"
    echo "requests/s, p50, p99: medians over the rounds; ceiling: median of each round's ratio to that round's ceiling"
    printf '%-30s %12s %10s %10s %8s %8s  %s\n' "target" "requests/s" "p50 ms" "p99 ms" "ceiling" "non-2xx" "socket errors"
    for i in "${!URLS[@]}"; do
        rpss=() p50s=() p99s=() ratios=() non2xx_total=0 errs_all=""
        for r in $(seq 1 "$ROUNDS"); do
            read -r rps p50 p99 non2xx errs <<<"$(parse "$TMP/wrk.$i.$r")"
            read -r ceil _ <<<"$(parse "$TMP/wrk.2.$r")"
            rpss+=("$rps") p50s+=("$p50") p99s+=("$p99")
            ratios+=("$(awk -v a="$rps" -v b="$ceil" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
            non2xx_total=$((non2xx_total + non2xx))
            if [ "$errs" != none ]; then errs_all="$errs_all $errs"; fi
        done
        printf '%-30s %12s %10s %10s %8.2f %8s  %s\n' "${NAMES[$i]}" "$(median "${rpss[@]}")" \
            "$(median "${p50s[@]}")" "$(median "${p99s[@]}")" "$(median "${ratios[@]}")" \
            "$non2xx_total" "${errs_all:-none}"
    done
    echo "per-round ratios to the ceiling:"
    for i in "${!URLS[@]}"; do
        line=""
        for r in $(seq 1 "$ROUNDS"); do
            read -r rps _ <<<"$(parse "$TMP/wrk.$i.$r")"
            read -r ceil _ <<<"$(parse "$TMP/wrk.2.$r")"
            line="$line $(awk -v a="$rps" -v b="$ceil" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
        done
        printf '  %-28s%s\n' "${NAMES[$i]}" "$line"
    done
} | tee "$REPORT"
echo "(report saved to $REPORT)"
