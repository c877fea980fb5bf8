#!/usr/bin/env bash
# Browser tests of the staff console (/console), and the notebooks, against `sextant demo`.
#
#   .ci/console.sh PATH/TO/sextant
#
# Steps, each timed in the closing summary:
#   chromium   installs Debian's chromium with apt-get when $CHROMIUM is missing
#   npm ci     in tests/browser, when node_modules is missing or was installed from another
#              package-lock.json (its sha256 is kept in node_modules/.sextant-lock-sha256)
#   demo       `sextant demo` (800 customers, 6 months, 2 epochs) on a free loopback port, in
#              a scratch folder; waits for "Sextant demo is ready" and reads from its output
#              the base URL, the tokens and the console logins, exported to the later steps as
#                SEXTANT_URL                  http://127.0.0.1:PORT
#                SEXTANT_TOKEN_<ROLE>         ADMIN, SERVICE, MARKETER, WEALTH_MANAGER, CUSTOMER...
#                SEXTANT_LOGIN_<ROLE>         username:password (MARKETER, WEALTH_MANAGER,
#                                             COMPLIANCE, ADMIN), when the demo prints them
#   notebooks  when notebooks/execute.py exists: installs notebooks/requirements.txt into a
#              virtual environment (shared with notebooks/run_against_demo.sh, same stamp) and
#              runs it against the same server, with SEXTANT_GROUND_TRUTH set to the demo
#              population's ground_truth.jsonl
#   browser    node --test on tests/browser/*.test.mjs (tests that need a console login skip
#              themselves when the demo printed none)
# Exits non-zero when a step fails or passes its time limit (the browser tests still run after
# failed notebooks); the server's log is printed then.
#
# Environment (all optional):
#   CHROMIUM                browser binary                          [/usr/bin/chromium]
#   SCREENSHOT_DIR          screenshots, axe results, junit.xml, the server's log and output,
#                           the executed notebooks                  [/tmp/sextant-console-shots]
#   CONSOLE_DEMO_TIMEOUT    seconds allowed for the demo to be ready [600]
#   CONSOLE_TEST_TIMEOUT    seconds allowed for the browser tests   [600]
#   CONSOLE_TEST_CONCURRENCY  test files run at once                [1]
#   SEXTANT_NOTEBOOKS_VENV  virtual environment, made if missing    [/var/tmp/sextant-notebooks-venv]
#   PYTHON                  the interpreter that makes it (3.11+)   [python3]
#   NOTEBOOKS_TIMEOUT       seconds allowed for the notebooks       [1200]
#   SKIP_NOTEBOOKS          1: leave the notebooks out
#   CONSOLE_DATA_DIR        keep the demo's database, keys and population in DIR/data between
#                           runs (the demo then reuses them: seconds rather than minutes to be
#                           ready) instead of a fresh scratch folder each run; what earlier
#                           runs did stays too (campaigns, frequency caps, audit), so CI should
#                           leave it unset
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/sextant" >&2
  exit 2
fi
sextant="$1"
if [ ! -x "$sextant" ]; then
  echo "console.sh: $sextant is not an executable" >&2
  exit 2
fi
sextant="$(cd "$(dirname "$sextant")" && pwd)/$(basename "$sextant")"
repo="$(cd "$(dirname "$0")/.." && pwd)"

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export SCREENSHOT_DIR="${SCREENSHOT_DIR:-/tmp/sextant-console-shots}"
demo_timeout="${CONSOLE_DEMO_TIMEOUT:-600}"
test_timeout="${CONSOLE_TEST_TIMEOUT:-600}"
test_concurrency="${CONSOLE_TEST_CONCURRENCY:-1}"
notebooks_venv="${SEXTANT_NOTEBOOKS_VENV:-/var/tmp/sextant-notebooks-venv}"
notebooks_timeout="${NOTEBOOKS_TIMEOUT:-1200}"
skip_notebooks="${SKIP_NOTEBOOKS:-0}"
browser_dir="$repo/tests/browser"

mkdir -p "$SCREENSHOT_DIR"
# Only what an earlier run of this script left there.
rm -rf "$SCREENSHOT_DIR"/*.png "$SCREENSHOT_DIR"/*.axe.json "$SCREENSHOT_DIR/junit.xml" \
  "$SCREENSHOT_DIR/server.log" "$SCREENSHOT_DIR/demo.out" "$SCREENSHOT_DIR/notebooks-out"

work="$(mktemp -d /tmp/sextant-console.XXXXXX)"
server_pid=""
runner_pid=""
step_names=()
step_results=()
failed_steps=()
current_step=""
current_start=0

cleanup() {
  local rc=$?
  if [ -n "$runner_pid" ]; then
    kill "$runner_pid" 2>/dev/null || true
    wait "$runner_pid" 2>/dev/null || true
  fi
  if [ -n "$current_step" ]; then
    step_names+=("$current_step")
    step_results+=("$(($(date +%s) - current_start))s, failed")
  fi
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -f "$work/server.log" ] && cp "$work/server.log" "$SCREENSHOT_DIR/server.log"
  [ -f "$work/demo.out" ] && cp "$work/demo.out" "$SCREENSHOT_DIR/demo.out"
  [ -d "$work/notebooks-out" ] && cp -r "$work/notebooks-out" "$SCREENSHOT_DIR/notebooks-out"
  if [ "$rc" -ne 0 ]; then
    # Its output once ready is URLs, tokens and passwords: only worth showing before that.
    if [ -s "$work/demo.out" ] && ! grep -qx 'Sextant demo is ready' "$work/demo.out"; then
      echo "== the demo's output (last 60 lines)" >&2
      tail -n 60 "$work/demo.out" >&2 || true
    fi
    if [ -s "$work/server.log" ]; then
      echo "== the server's log (last 200 lines; all of it in $SCREENSHOT_DIR/server.log)" >&2
      tail -n 200 "$work/server.log" >&2 || true
    fi
  fi
  echo
  echo "== console.sh summary"
  local i
  for i in "${!step_names[@]}"; do
    printf '  %-10s %s\n' "${step_names[$i]}" "${step_results[$i]}"
  done
  echo "  artifacts  $SCREENSHOT_DIR"
  [ "$rc" -eq 0 ] && echo "  result     passed" || echo "  result     FAILED (exit $rc)"
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

begin() {
  current_step="$1"
  current_start=$(date +%s)
  echo
  echo "== $1${2:+: $2}"
}
finish() {
  step_names+=("$current_step")
  step_results+=("$(($(date +%s) - current_start))s${1:+, $1}")
  current_step=""
}

# Runs a command in the background (so that an interrupt reaches the trap at once) under a
# time limit; returns its exit status.
run_limited() {
  local limit="$1" rc=0
  shift
  timeout --kill-after=15 "$limit" "$@" &
  runner_pid=$!
  wait "$runner_pid" || rc=$?
  runner_pid=""
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "console.sh: $1 passed its ${limit}s limit" >&2
  fi
  return "$rc"
}

# --- chromium ---------------------------------------------------------------------------------
begin chromium "$CHROMIUM"
if [ -x "$CHROMIUM" ]; then
  finish "already installed"
else
  if [ "$CHROMIUM" != /usr/bin/chromium ]; then
    echo "console.sh: CHROMIUM=$CHROMIUM is not an executable" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "console.sh: chromium is missing and this is not root" >&2; exit 1; }
    sudo=(sudo)
  fi
  install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)
  if ! "${install[@]}" > "$work/apt.log" 2>&1; then
    echo "apt-get install failed; updating the package lists and trying again"
    "${sudo[@]}" apt-get update >> "$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
    "${install[@]}" >> "$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; exit 1; }
  fi
  finish "installed"
fi
# The Debian launcher script prints a harmless "[: ...: unexpected operator" on some hosts.
"$CHROMIUM" --version 2>/dev/null

# --- npm ci -----------------------------------------------------------------------------------
begin "npm ci" "$browser_dir"
lock_hash="$(sha256sum "$browser_dir/package-lock.json" | cut -d' ' -f1)"
stamp="$browser_dir/node_modules/.sextant-lock-sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  finish "up to date"
else
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > "$stamp"
  finish "installed"
fi

# --- the demo ---------------------------------------------------------------------------------
begin demo "sextant demo --customers 800 --months 6 --epochs 2 (limit ${demo_timeout}s)"
# In a scratch folder: no sextant.toml of the checkout applies.
cd "$work"
if [ -n "${CONSOLE_DATA_DIR:-}" ]; then
  mkdir -p "$CONSOLE_DATA_DIR"
  data_dir="$(cd "$CONSOLE_DATA_DIR" && pwd)/data"
else
  data_dir="$work/data"
fi
"$sextant" demo --customers 800 --months 6 --epochs 2 --addr 127.0.0.1:0 \
  --data-dir "$data_dir" > "$work/demo.out" 2> "$work/server.log" &
server_pid=$!
deadline=$(($(date +%s) + demo_timeout))
until grep -qx 'Sextant demo is ready' "$work/demo.out" 2>/dev/null; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" && demo_rc=0 || demo_rc=$?
    server_pid=""
    echo "console.sh: the demo exited (status $demo_rc) before it was ready" >&2
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "console.sh: the demo was not ready within ${demo_timeout}s" >&2
    exit 1
  fi
  sleep 1
done
# Its progress and tables, up to (not including) the final URLs, tokens and passwords; the
# tokens and passwords it printed when it began serving are left out too.
awk '/^Sextant demo is ready$/ { exit }
     /^Tokens \(|^Console logins \(/ { secret = 1; next }
     secret && /^$/ { secret = 0 }
     !secret { print }' "$work/demo.out"

url="$(sed -nE 's|^  API docs +(http://[^[:space:]]+)/docs$|\1|p' "$work/demo.out" | head -n 1)"
if [ -z "$url" ]; then
  echo "console.sh: no '  API docs     http://HOST:PORT/docs' line in the demo's output" >&2
  exit 1
fi
# The demo serves from its start and prints the ready line once everything is prepared:
# once it answers after that line, its output is complete.
served=""
for _ in $(seq 1 300); do
  if curl -fsS --max-time 5 -o /dev/null "$url/healthz" 2>/dev/null; then served=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$served" ]; then
  echo "console.sh: $url/healthz did not answer" >&2
  exit 1
fi
export SEXTANT_URL="$url"

tokens=()
logins=()
section=""
while IFS= read -r line; do
  case "$line" in
    "Tokens ("*) section=tokens; continue ;;
    "Console logins ("*) section=logins; continue ;;
  esac
  if [ "$section" = tokens ] && [[ "$line" =~ ^\ \ ([a-z_]+)\ +([A-Za-z0-9._-]+)$ ]]; then
    export "SEXTANT_TOKEN_${BASH_REMATCH[1]^^}=${BASH_REMATCH[2]}"
    tokens+=("${BASH_REMATCH[1]}")
  elif [ "$section" = logins ] && [[ "$line" =~ ^\ \ ([a-z_]+)\ +([^[:space:]]+)\ +([^[:space:]]+)$ ]]; then
    export "SEXTANT_LOGIN_${BASH_REMATCH[1]^^}=${BASH_REMATCH[2]}:${BASH_REMATCH[3]}"
    logins+=("${BASH_REMATCH[1]} (${BASH_REMATCH[2]})")
  else
    section=""
  fi
done < "$work/demo.out"
if [ "${#tokens[@]}" -eq 0 ]; then
  echo "console.sh: no tokens in the demo's output (after 'Tokens (12 h, development secret):')" >&2
  exit 1
fi
echo "serving on $SEXTANT_URL"
echo "tokens for: ${tokens[*]}"
if [ "${#logins[@]}" -eq 0 ]; then
  echo "no console logins printed (no staff console yet?): the browser tests that sign in will skip"
  finish "ready, no console logins"
else
  echo "console logins: ${logins[*]}"
  finish "ready"
fi
cd "$repo"

# --- notebooks --------------------------------------------------------------------------------
if [ -f "$repo/notebooks/execute.py" ] && [ -f "$repo/notebooks/requirements.txt" ] && [ "$skip_notebooks" != 1 ]; then
  begin notebooks "notebooks/execute.py (limit ${notebooks_timeout}s)"
  requirements="$repo/notebooks/requirements.txt"
  # The stamp notebooks/run_against_demo.sh keeps too: the venv is set up once for both.
  req_stamp="$notebooks_venv/.sextant-requirements"
  wanted="$(cksum < "$requirements")"
  if [ ! -x "$notebooks_venv/bin/python" ] || [ "$(cat "$req_stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing notebooks/requirements.txt into $notebooks_venv"
    [ -x "$notebooks_venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$notebooks_venv"
    run_limited 900 "$notebooks_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$requirements"
    echo "$wanted" > "$req_stamp"
  fi
  truth="$data_dir/population/ground_truth.jsonl"
  [ -f "$truth" ] && export SEXTANT_GROUND_TRUTH="$truth"
  # A failure here fails the script, after the browser tests have run too.
  if run_limited "$notebooks_timeout" "$notebooks_venv/bin/python" "$repo/notebooks/execute.py" \
    --out "$work/notebooks-out"; then
    finish
  else
    failed_steps+=(notebooks)
    finish "failed (executed copies in $SCREENSHOT_DIR/notebooks-out)"
  fi
fi

# --- browser tests ----------------------------------------------------------------------------
begin browser "node --test tests/browser (limit ${test_timeout}s, screenshots in $SCREENSHOT_DIR)"
mapfile -t test_files < <(find tests/browser -maxdepth 1 -name '*.test.mjs' | sort)
if [ "${#test_files[@]}" -eq 0 ]; then
  echo "console.sh: no tests/browser/*.test.mjs" >&2
  exit 1
fi
if run_limited "$test_timeout" node --test --test-concurrency="$test_concurrency" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination="$SCREENSHOT_DIR/junit.xml" \
  "${test_files[@]}"; then
  finish "$(grep -c '<testcase' "$SCREENSHOT_DIR/junit.xml" || true) tests, $(grep -c '<skipped' "$SCREENSHOT_DIR/junit.xml" || true) skipped"
else
  failed_steps+=(browser)
  finish failed
fi

if [ "${#failed_steps[@]}" -ne 0 ]; then
  echo "console.sh: failed: ${failed_steps[*]}" >&2
  exit 1
fi
