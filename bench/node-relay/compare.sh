#!/usr/bin/env bash
# Runs the same image-chat load through framechat-relay and the Node `ws`
# relay in this folder, one after the other, and prints both reports.
#
#   bench/node-relay/compare.sh [framechat-load flags...]
#
# Defaults: 200 clients, 10 rooms, 2000 messages of 204800 bytes. Needs cargo,
# node and npm; binds 127.0.0.1:18080 (Rust) and 127.0.0.1:18081 (Node).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
rust_port="${RUST_PORT:-18080}"
node_port="${NODE_PORT:-18081}"

(cd "$root" && cargo build --release -p framechat-relay --bins)
(cd "$here" && [ -d node_modules/ws ] || npm ci --no-audit --no-fund)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_up() { # port
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2
  return 1
}

RUST_LOG="${RUST_LOG:-warn}" "$target/release/framechat-relay" --listen "127.0.0.1:$rust_port" &
rust_pid=$!; pids+=("$rust_pid")
node "$here/server.js" "$node_port" &
node_pid=$!; pids+=("$node_pid")
wait_up "$rust_port"
wait_up "$node_port"

load="$target/release/framechat-load"
ws_version="$(node -p "require('$here/node_modules/ws/package.json').version")"
# Alternate the two servers so that whatever else the machine is doing
# weighs on both alike.
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "== round $round: framechat-relay (Rust, release, default limits), pid $rust_pid"
  "$load" --label "rust#$round" --url "ws://127.0.0.1:$rust_port/ws/chat/" --server-pid "$rust_pid" "$@" \
    || echo "[rust#$round] load reported a failure"
  echo "== round $round: Node ws $ws_version relay, node $(node --version), pid $node_pid"
  "$load" --label "node#$round" --url "ws://127.0.0.1:$node_port/ws/chat/" --server-pid "$node_pid" "$@" \
    || echo "[node#$round] load reported a failure"
done
