#!/usr/bin/env bash
# Throughput and latency of the read paths, on SQLite (or PostgreSQL with DATABASE_URL=postgres://…),
# in one run so the figures compare as ratios.
#
#   bench/run.sh [conversations=20] [items-per-conversation=10] [seconds=10]
#
# Needs wrk (apt-get install wrk). Starts a release build on a temporary database, seeds it over
# HTTP, then loads each endpoint in turn from one wrk thread with 8 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
conversations=${1:-20}
items=${2:-10}
seconds=${3:-10}
port=${BENCH_PORT:-18090}
api="http://127.0.0.1:$port/api"
ct='Content-Type: application/vnd.api+json'

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet

workdir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT
export DATABASE_URL=${DATABASE_URL:-$workdir/bench.db}
export RUST_LOG=warn
# One key drives the whole load: the per-key rate limit would turn most of it into 429s.
export CONFAB_RATE_LIMIT=0
org=$(target/release/confab organisations create --name "Bench $(date +%s%N)")
key=$(target/release/confab keys create --organisation "$org" --test | tail -n 1)
auth="Authorization: Bearer $key"
CONFAB_BIND="127.0.0.1:$port" target/release/confab serve --no-bootstrap &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

id_of() { grep -o '"id":"[^"]*"' | head -n 1 | cut -d '"' -f 4; }
for _ in $(seq 1 "$conversations"); do
  conv=$(curl -s "$api/conversations" -H "$ct" -H "$auth" -d '{"data":{"type":"Conversation","attributes":{"channel":"chat"},
    "relationships":{"organisation":{"data":{"type":"Organisation","id":"'"$org"'"}}}}}' | id_of)
  for i in $(seq 1 "$items"); do
    curl -s "$api/conversation_items" -H "$ct" -H "$auth" -o /dev/null -d '{"data":{"type":"ConversationItem",
      "attributes":{"role":"user","content":"message '"$i"' of a benchmark conversation"},
      "relationships":{"conversation":{"data":{"type":"Conversation","id":"'"$conv"'"}}}}}'
  done
done

echo "| endpoint | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
load() {
  local name=$1 path=$2
  local out
  out=$(wrk -t1 -c8 -d"${seconds}s" --latency -H 'Accept: application/vnd.api+json' -H "$auth" "http://127.0.0.1:$port$path")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers for $path" >&2; exit 1; fi
  echo "| $name | $rps | $p50 | $p99 |"
}
load "one conversation" "/api/conversations/$conv"
load "one conversation + items + organisation" "/api/conversations/$conv?include=conversation_items,organisation"
load "20 conversations" "/api/conversations"
load "20 conversations + items + organisation" "/api/conversations?include=conversation_items.organisation"
load "same, sparse fields" "/api/conversations?include=conversation_items&fields%5BConversation%5D=status,conversation_items&fields%5BConversationItem%5D=content,position"
echo
echo "peak RSS of the server: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")"
