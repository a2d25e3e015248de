#!/usr/bin/env bash
# One tenant stores the heaviest data the limits allow and reads it as hard as it can; does the
# server's memory stay bounded, and does another tenant still get answers?
#
#   bench/abuse.sh [seconds=20]
#
# Seeds, over HTTP, an "attacker" organisation with 50 conversations (metadata just under the
# 64 KiB object limit) of 20 items each (99,000 characters of content and a 60 KiB metadata
# object: about 160 KB per item, 160 MB in all), and a "neighbour" with 100 small conversations.
# Then, with a release build:
#   1. the neighbour's quiet latency: wrk -t1 -c2 on its page of 20;
#   2. 32 concurrent worst-case reads for SECONDS: 16 connections on one conversation
#      with its 20 items included (about 3.3 MB, just under the 4 MiB budget) and 16 on a page
#      of 100 with items (past the budget: answered 400 once 4 MiB are read), while the
#      neighbour's wrk runs again;
#   3. reports the server's peak RSS (VmHWM) and the neighbour's p99 ratio.
# SQLite by default; ADMIN_URL=postgres://…/postgres runs it on a fresh PostgreSQL database.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
seconds=${1:-20}
port=${BENCH_PORT:-18093}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
workdir=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$workdir"' EXIT
export RUST_LOG=warn CONFAB_RATE_LIMIT=0
fresh_database confab_abuse "$workdir"
attacker=$(key_for attacker)
neighbour=$(key_for neighbour)
CONFAB_BIND="127.0.0.1:$port" target/release/confab serve --no-bootstrap &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

python3 - "$port" "$attacker" "$neighbour" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, attacker, neighbour = sys.argv[1:]
base = f"http://127.0.0.1:{port}/api"

def post(key, path, document):
    request = urllib.request.Request(base + path, data=json.dumps(document).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/vnd.api+json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["data"]["id"]

def heavy_object(size):
    return {f"k{n}": "v" * 990 for n in range(size // 1000)}

def conversation(key, metadata):
    return post(key, "/conversations", {"data": {"type": "Conversation",
        "attributes": {"channel": "chat", "metadata": metadata}}})

def item(conversation_id):
    return post(attacker, "/conversation_items", {"data": {"type": "ConversationItem",
        "attributes": {"role": "user", "content": "c" * 99_000, "metadata": heavy_object(60_000)},
        "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation_id}}}}})

with ThreadPoolExecutor(4) as pool:
    heavy = list(pool.map(lambda _: conversation(attacker, heavy_object(64_000)), range(50)))
    list(pool.map(item, [c for c in heavy for _ in range(20)]))
    list(pool.map(lambda _: conversation(neighbour, {"plan": "pro"}), range(100)))
print("seeded: attacker 50 conversations x 20 items (~160 KB each), neighbour 100 conversations")
PY

url="http://127.0.0.1:$port/api/conversations"
cat >"$workdir/key.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
LUA
p99() { awk '/^ +99%/ {print $2}' "$1"; }
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v/1000; else if (v ~ /ms$/) print v+0; else print v*1000 }'; }

KEY=$neighbour wrk -t1 -c2 -d10s --latency -s "$workdir/key.lua" "$url?page%5Blimit%5D=20" >"$workdir/quiet.txt"
quiet=$(to_ms "$(p99 "$workdir/quiet.txt")")

KEY=$attacker wrk -t1 -c16 -d"${seconds}s" --timeout 30s -s "$workdir/key.lua" \
  "$url?page%5Blimit%5D=1&include=conversation_items" >"$workdir/fits.txt" &
fits=$!
KEY=$attacker wrk -t1 -c16 -d"${seconds}s" --timeout 30s -s "$workdir/key.lua" \
  "$url?page%5Blimit%5D=100&include=conversation_items" >"$workdir/over.txt" &
over=$!
sleep 2
KEY=$neighbour wrk -t1 -c2 -d"$((seconds - 4))s" --latency -s "$workdir/key.lua" \
  "$url?page%5Blimit%5D=20" >"$workdir/loaded.txt"
wait "$fits" "$over"
loaded=$(to_ms "$(p99 "$workdir/loaded.txt")")
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")

size=$(curl -s -H "Authorization: Bearer $attacker" "$url?page%5Blimit%5D=1&include=conversation_items" | wc -c)
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $attacker" "$url?page%5Blimit%5D=100&include=conversation_items")
echo
echo "| load | requests/s | non-2xx |"
echo "|---|---|---|"
for name in fits over; do
  rate=$(awk '/Requests\/sec/ {print $2}' "$workdir/$name.txt")
  bad=$(awk '/Non-2xx/ {print $5}' "$workdir/$name.txt")
  echo "| $name | $rate | ${bad:-0} |"
done
echo
echo "worst successful read: $size bytes; page of 100 with items: $status"
echo "neighbour p99: quiet ${quiet} ms, under attack ${loaded} ms, ratio $(awk -v a="$loaded" -v b="$quiet" 'BEGIN {printf "%.1f", a/b}')"
echo "server peak RSS: ${peak} kB"
echo "neighbour latency (p50 p75 p90 p99), quiet: $(awk '/^ +(50|75|90|99)%/ {printf "%s ", $2}' "$workdir/quiet.txt")under attack: $(awk '/^ +(50|75|90|99)%/ {printf "%s ", $2}' "$workdir/loaded.txt")"
