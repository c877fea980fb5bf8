#!/usr/bin/env bash
# Property-based API testing of `sextant serve` with Schemathesis, driven by the server's own
# OpenAPI document (/openapi.json).
#
#   .ci/schemathesis.sh PATH/TO/sextant [EXTRA SCHEMATHESIS RUN OPTIONS...]
#
# Serves a small synthetic population (60 customers, 2 months) on a loopback port with rate
# limits off, then runs `schemathesis run --checks all` once per token (admin, service).
# Exits non-zero if either run reports a failure or an error, or does not finish in time.
#
# Environment (all optional):
#   SCHEMATHESIS_VENV          virtual environment, made if missing [/var/tmp/sextant-schemathesis-venv]
#   SCHEMATHESIS_OUT           where each run's log and reports go   [/tmp/schemathesis]
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase    [50]
#   SCHEMATHESIS_SEED          Hypothesis seed, for reproducible runs [7]
#   SCHEMATHESIS_WORKERS       concurrent workers                     [1]
#       (more than one trips a CPython 3.11 bug: Hypothesis calls ast.parse from several
#        threads and the coverage phase dies with "SystemError: AST constructor recursion
#        depth mismatch", reported as a Schemathesis runtime error)
#   SCHEMATHESIS_RUN_TIMEOUT   seconds allowed for one run            [180]
#   SCHEMATHESIS_VERBOSE       1: print each run's full output, not only its summary
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 PATH/TO/sextant" >&2
  exit 2
fi
sextant="$1"
if [ ! -x "$sextant" ]; then
  echo "schemathesis.sh: $sextant is not an executable" >&2
  exit 2
fi
sextant="$(cd "$(dirname "$sextant")" && pwd)/$(basename "$sextant")"
config_file="$(cd "$(dirname "$0")" && pwd)/schemathesis.toml"
shift
extra_args=("$@")

schemathesis_version="4.32.5"
venv="${SCHEMATHESIS_VENV:-/var/tmp/sextant-schemathesis-venv}"
out="${SCHEMATHESIS_OUT:-/tmp/schemathesis}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
seed="${SCHEMATHESIS_SEED:-7}"
workers="${SCHEMATHESIS_WORKERS:-1}"
run_timeout="${SCHEMATHESIS_RUN_TIMEOUT:-180}"
verbose="${SCHEMATHESIS_VERBOSE:-0}"

# --- Schemathesis, pinned, in its own virtual environment -------------------------------------
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qF "version $schemathesis_version"; then
  echo "== installing schemathesis $schemathesis_version into $venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$schemathesis_version"
fi
"$venv/bin/schemathesis" --version

# --- a scratch population and a server on a free loopback port --------------------------------
mkdir -p "$out"
work="$(mktemp -d /tmp/sextant-schemathesis.XXXXXX)"
server_pid=""
runner_pid=""
cleanup() {
  if [ -n "$runner_pid" ]; then
    kill "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # The server's log explains the 5xx answers that a run reports.
  [ -f "$work/server.log" ] && cp "$work/server.log" "$out/server.log"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$work"
# A small sanctions list in the OFAC SDN layout, so that screening answers rather than 503.
cat > sdn.csv <<'EOF'
7001,"PETROV, Vladimir Ivanovich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. 'PETROFF, Wladimir'."
7002,"AL-RASHID TRADING COMPANY",-0- ,"SDGT",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0-
7003,"SMITH, John","individual","SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0-
EOF
cat > sextant.toml <<'EOF'
sanctions_list_file = "sdn.csv"

[limits]
per_token_per_sec = 0.0
per_address_per_sec = 0.0
auth_failures_per_address_per_min = 0.0
request_timeout_secs = 10
EOF

echo "== population"
"$sextant" generate --customers 60 --months 2 --seed 7 --out pop
"$sextant" import pop --data-dir data
# Trained models, so that offers and credit answer rather than 503 "not ready".
"$sextant" profile --data-dir data
"$sextant" marketing train-offers --data-dir data
"$sextant" credit train-population --data-dir data --truth pop/ground_truth.jsonl

echo "== server"
"$sextant" serve --dev --addr 127.0.0.1:0 --data-dir data > server.out 2> server.log &
server_pid=$!
url=""
for _ in $(seq 1 300); do
  line="$(head -n 1 server.out 2>/dev/null || true)"
  if [[ "$line" =~ ^Sextant\ listening\ on\ (http://[^[:space:]]+)$ ]]; then
    url="${BASH_REMATCH[1]}"
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "schemathesis.sh: the server did not say where it listens; its output:" >&2
  cat server.out server.log >&2 || true
  exit 1
fi
echo "serving on $url"

mint() {
  local token
  token="$("$sextant" token --role "$1" --sub "$2" | head -n 1)"
  if ! [[ "$token" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]; then
    echo "schemathesis.sh: sextant token --role $1 printed no token" >&2
    return 1
  fi
  printf '%s\n' "$token"
}
admin_token="$(mint admin root)"
service_token="$(mint service app)"

# --- one Schemathesis run per token -----------------------------------------------------------
run_one() {
  local name="$1" token="$2" rc=0 start end
  rm -f "$out/$name".*
  echo "== schemathesis as $name (max $max_examples examples per operation, seed $seed)"
  start=$(date +%s)
  timeout --kill-after=15 "$run_timeout" \
    "$venv/bin/schemathesis" --config-file "$config_file" run "$url/openapi.json" \
      --checks all \
      -H "Authorization: Bearer $token" \
      --max-examples "$max_examples" \
      --workers "$workers" \
      --seed "$seed" \
      --no-color \
      --report junit,json,ndjson \
      --report-junit-path "$out/$name.junit.xml" \
      --report-json-path "$out/$name.json" \
      --report-ndjson-path "$out/$name.ndjson" \
      ${extra_args[@]+"${extra_args[@]}"} \
      > "$out/$name.log" 2>&1 &
  # In the background, so that an interrupt reaches the trap (and the cleanup) at once.
  runner_pid=$!
  wait "$runner_pid" || rc=$?
  runner_pid=""
  end=$(date +%s)
  echo "$((end - start))" > "$out/$name.seconds"
  echo "$rc" > "$out/$name.rc"
  if [ "$verbose" = 1 ]; then
    cat "$out/$name.log"
  else
    # The closing summary; the failures with their curl reproductions are in the log.
    sed -n '/^=* SUMMARY =*$/,$p' "$out/$name.log"
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "schemathesis.sh: the $name run passed its ${run_timeout}s limit" >&2
  fi
  echo "full output: $out/$name.log"
  return "$rc"
}

status=0
run_one admin "$admin_token" || status=1
run_one service "$service_token" || status=1

# --- summary ----------------------------------------------------------------------------------
echo
echo "== schemathesis summary ($url, max $max_examples examples per operation, seed $seed)"
"$venv/bin/python" - "$out" admin service <<'EOF'
import json
import os
import sys

out = sys.argv[1]
for name in sys.argv[2:]:
    seconds = open(os.path.join(out, name + ".seconds")).read().strip()
    rc = open(os.path.join(out, name + ".rc")).read().strip()
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        print(f"{name}: no report (exit {rc} after {seconds}s); see {out}/{name}.log")
        continue
    report = json.load(open(path))
    ops, cases = report["operations"], report["test_cases"]
    failures = report.get("failures", [])
    errors = report.get("errors", [])
    print(
        f"{name}: {ops['tested']}/{ops['selected']} operations tested, "
        f"{cases['generated']} test cases generated, "
        f"{cases['unique_failures']} unique failures in {cases['with_failures']} test cases, "
        f"{len(errors)} errors, {seconds}s, exit {rc}"
    )
    for failure in failures:
        print(f"  {failure['code']} {failure['title']}: {failure['count']}"
              f" ({len(failure['operations'])} operations)")
    for error in errors:
        label = error.get("title") or error.get("type") or "error"
        print(f"  error: {label}: {json.dumps(error)[:200]}")
EOF

if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures: see $out/*.log" >&2
fi
exit "$status"
