#!/usr/bin/env bash
# Runs "$@" beside a Qdrant server from the project's shared binaries ($SEXTANT_SHARED_BIN,
# or ../shared/bin beside the checkout), started on free loopback ports and requiring an
# API key, with its gRPC URL and key in SEXTANT_TEST_QDRANT_URL and
# SEXTANT_TEST_QDRANT_API_KEY. Without the binary it says so and runs nothing: the server
# checks then skip, as they do in the README's test command.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

archive=""
for dir in "${SEXTANT_SHARED_BIN:-}" "$here/../shared/bin" /work/shared/bin; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  archive="$(ls "$dir"/qdrant-*-x86_64-linux.xz 2>/dev/null | sort | tail -n 1 || true)"
  [ -n "$archive" ] && break
done
if [ -z "$archive" ]; then
  echo "no Qdrant server binary (qdrant-*-x86_64-linux.xz) in the shared binaries: skipped"
  exit 0
fi

work="$(mktemp -d)"
xz -dc "$archive" > "$work/qdrant"
chmod +x "$work/qdrant"
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http="$(free_port)"
grpc="$(free_port)"
key="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
QDRANT__SERVICE__HOST=127.0.0.1 QDRANT__SERVICE__HTTP_PORT="$http" \
  QDRANT__SERVICE__GRPC_PORT="$grpc" QDRANT__SERVICE__API_KEY="$key" \
  QDRANT__STORAGE__STORAGE_PATH="$work/storage" QDRANT__STORAGE__SNAPSHOTS_PATH="$work/snapshots" \
  QDRANT__TELEMETRY_DISABLED=true "$work/qdrant" > "$work/qdrant.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 60); do
  curl -sf -H "api-key: $key" "http://127.0.0.1:$http/readyz" > /dev/null && break
  sleep 0.5
done
if ! curl -sf -H "api-key: $key" "http://127.0.0.1:$http/readyz" > /dev/null; then
  echo "the Qdrant server did not start:"
  cat "$work/qdrant.log"
  exit 1
fi
echo "Qdrant $(basename "$archive" .xz) on gRPC port $grpc (API key required)"
SEXTANT_TEST_QDRANT_URL="http://127.0.0.1:$grpc" SEXTANT_TEST_QDRANT_API_KEY="$key" "$@"
