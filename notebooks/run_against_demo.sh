#!/usr/bin/env bash
# Executes the analysts' notebooks against a fresh `sextant demo`, end to end.
#
#   notebooks/run_against_demo.sh PATH/TO/sextant --out DIR     # CI: executed copies in DIR
#   notebooks/run_against_demo.sh PATH/TO/sextant --in-place    # refresh the committed outputs
#
# Any further arguments go to execute.py (e.g. `--keep-going`, or notebook names).
# Steps: a Python venv with notebooks/requirements.txt (created once, reinstalled when the
# requirements change); a demo with a small population in a temporary folder on a free port;
# wait until it prints its URLs and tokens; export SEXTANT_URL, SEXTANT_TOKEN_<ROLE> and
# SEXTANT_GROUND_TRUTH; run notebooks/execute.py; stop the server on exit, whatever happens,
# and print its log when anything failed.
#
# Environment (all optional):
#   SEXTANT_NOTEBOOKS_VENV   the venv to use or create   (default /var/tmp/sextant-notebooks-venv)
#   PYTHON                   the interpreter that creates it, 3.11 or newer (default python3)
#   DEMO_CUSTOMERS, DEMO_MONTHS, DEMO_EPOCHS, DEMO_SEED   the population (2000, 6, 3, 42)
#   DEMO_READY_TIMEOUT       seconds to wait for the demo to be ready (default 1800)
#   KEEP_DEMO_DIR=1          keep the temporary folder (database, population, server log)
set -euo pipefail

usage() {
    echo "usage: $0 PATH/TO/sextant (--in-place | --out DIR) [execute.py arguments...]" >&2
    exit 2
}
[[ $# -ge 2 ]] || usage
BIN=$1
shift
[[ -x $BIN ]] || { echo "error: $BIN is not an executable sextant binary" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
case $1 in --in-place | --out) ;; *) usage ;; esac
ARGS=("$@")
# execute.py runs from elsewhere: make a relative --out DIR relative to where we were called.
for i in "${!ARGS[@]}"; do
    if [[ ${ARGS[$i]} == --out && $((i + 1)) -lt ${#ARGS[@]} ]]; then
        mkdir -p "${ARGS[$((i + 1))]}"
        ARGS[$((i + 1))]=$(cd "${ARGS[$((i + 1))]}" && pwd)
    fi
done

NOTEBOOKS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${SEXTANT_NOTEBOOKS_VENV:-/var/tmp/sextant-notebooks-venv}
PYTHON=${PYTHON:-python3}
CUSTOMERS=${DEMO_CUSTOMERS:-2000}
MONTHS=${DEMO_MONTHS:-6}
EPOCHS=${DEMO_EPOCHS:-3}
SEED=${DEMO_SEED:-42}
READY_TIMEOUT=${DEMO_READY_TIMEOUT:-1800}

log() { echo "[run_against_demo $(date +%H:%M:%S)] $*"; }

# --- the Python environment -----------------------------------------------------------------
wanted=$(cksum <"$NOTEBOOKS/requirements.txt")
if [[ ! -x $VENV/bin/python || "$(cat "$VENV/.sextant-requirements" 2>/dev/null)" != "$wanted" ]]; then
    log "preparing $VENV"
    [[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
    timeout 900 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$NOTEBOOKS/requirements.txt"
    echo "$wanted" >"$VENV/.sextant-requirements"
fi

# --- the demo --------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sextant-notebooks.XXXXXX")
LOG=$WORK/server.log
SERVER=
cleanup() {
    local status=$?
    if [[ -n $SERVER ]] && kill -0 "$SERVER" 2>/dev/null; then
        kill "$SERVER" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -f $LOG ]]; then
        echo "----- server log (last 200 lines of $LOG) -----" >&2
        tail -n 200 "$LOG" >&2 || true
        echo "----- end of server log -----" >&2
    fi
    if [[ ${KEEP_DEMO_DIR:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting $BIN demo: $CUSTOMERS customers x $MONTHS months, $EPOCHS epochs, in $WORK"
: >"$LOG"
(cd "$WORK" && exec "$BIN" demo --customers "$CUSTOMERS" --months "$MONTHS" --seed "$SEED" --epochs "$EPOCHS" \
    --addr 127.0.0.1:0 --data-dir "$WORK/data") >"$LOG" 2>&1 &
SERVER=$!

ROLES=(customer service marketer wealth_manager admin)
# The tokens block: "Tokens (...):", then "  <role> <jwt>" lines up to a blank line.
token_of() { sed -n "/^Tokens (/,/^\$/ s/^  $1  *\([A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\)\$/\1/p" "$LOG" | head -n 1; }
deadline=$((SECONDS + READY_TIMEOUT))
while :; do
    if ! kill -0 "$SERVER" 2>/dev/null; then
        wait "$SERVER" && status=0 || status=$?
        echo "error: the demo exited (status $status) before it was ready" >&2
        exit 1
    fi
    if grep -q "^Sextant demo is ready" "$LOG" && [[ -n $(token_of admin) ]]; then
        break
    fi
    if ((SECONDS >= deadline)); then
        echo "error: the demo was not ready after $READY_TIMEOUT s" >&2
        exit 1
    fi
    sleep 2
done

URL=$(sed -n 's#^  API docs  *\(http://[^ ]*\)/docs$#\1#p' "$LOG" | head -n 1)
[[ -n $URL ]] || { echo "error: no API URL in the demo's output" >&2; exit 1; }
export SEXTANT_URL=$URL
for role in "${ROLES[@]}"; do
    token=$(token_of "$role")
    [[ -n $token ]] || { echo "error: no $role token in the demo's output" >&2; exit 1; }
    export "SEXTANT_TOKEN_${role^^}=$token"
done
# A compliance token, if the demo prints one (the notebooks fall back on the admin token).
token=$(token_of compliance)
[[ -z $token ]] || export SEXTANT_TOKEN_COMPLIANCE=$token
TRUTH=$WORK/data/population/ground_truth.jsonl
if [[ -f $TRUTH ]]; then
    export SEXTANT_GROUND_TRUTH=$TRUTH
fi

healthy() { "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$URL/healthz"; }
for _ in $(seq 1 60); do
    healthy 2>/dev/null && break
    sleep 1
done
healthy || { echo "error: $URL/healthz does not answer" >&2; exit 1; }
log "demo ready at $URL after ${SECONDS} s; executing the notebooks"

# --- the notebooks ---------------------------------------------------------------------------
"$VENV/bin/python" "$NOTEBOOKS/execute.py" "${ARGS[@]}"
log "done in ${SECONDS} s"
