#!/usr/bin/env bash
# Does response time grow with the table? Seeds one organisation with SMALL and then LARGE
# conversations (ITEMS items each, `confab seed`), serves each with a release build, and loads
# four read paths with wrk. Prints one table per size and the LARGE/SMALL latency ratios.
#
#   bench/scale.sh [small=10000] [large=1000000] [items=2] [seconds=10]
#
# Needs wrk and python3 (to build the deep cursor). SQLite by default; with
# ADMIN_URL=postgres://…/postgres it uses fresh PostgreSQL databases.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-10000}
large=${2:-1000000}
items=${3:-2}
seconds=${4:-10}
port=${BENCH_PORT:-18091}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
workdir=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$workdir"' EXIT
export RUST_LOG=warn
# One key drives the whole load: the per-key rate limit would turn most of it into 429s.
export CONFAB_RATE_LIMIT=0

# The cursor the server would give for conversation n in the default order (newest first):
# hex of the JSON [created_at, id], then the first 8 bytes of SHA-256 over signature and payload.
cursor_for() {
  python3 - "$1" <<'PY'
import hashlib, json, sys, datetime
n = int(sys.argv[1])
created = (datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=n))
payload = json.dumps([created.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), "00000002-0000-4000-8000-%012x" % n], separators=(",", ":"))
signature = "Conversation:-created_at,-id"
checksum = hashlib.sha256((signature + "\n" + payload).encode()).hexdigest()[:16]
print(payload.encode().hex() + "." + checksum)
PY
}

declare -A p50
run_size() {
  local size=$1 url
  if [ -n "${ADMIN_URL:-}" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS confab_bench_$size" -c "CREATE DATABASE confab_bench_$size"
    url="${ADMIN_URL%/*}/confab_bench_$size"
  else
    url="$workdir/bench-$size.db"
  fi
  export DATABASE_URL=$url
  local started=$SECONDS
  target/release/confab seed --conversations "$size" --items-per-conversation "$items" >/dev/null
  echo "### $size conversations, $((size * items)) items (seeded in $((SECONDS - started)) s)"
  local key
  key=$(target/release/confab keys create --organisation seed-1 --test | tail -n 1)
  CONFAB_BIND="127.0.0.1:$port" target/release/confab serve --no-bootstrap &
  server=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  local middle=$((size / 2))
  local sparse='include=conversation_items&fields%5BConversation%5D=status,channel,title,conversation_items&fields%5BConversationItem%5D=role,content,position'
  local -a names=("one conversation + items" "first page of 20 + items, sparse" "deep cursor page of 20 + items, sparse" "filtered, sorted page of 20")
  local -a paths=(
    "/api/conversations/00000002-0000-4000-8000-$(printf '%012x' "$middle")?include=conversation_items"
    "/api/conversations?page%5Bsize%5D=20&$sparse"
    "/api/conversations?page%5Bsize%5D=20&page%5Bafter%5D=$(cursor_for "$middle")&$sparse"
    "/api/conversations?filter%5Bstatus%5D=closed&filter%5Bchannel%5D=telephone&sort=-created_at&page%5Bsize%5D=20"
  )
  echo "| endpoint | requests/s | p50 | p99 |"
  echo "|---|---|---|---|"
  for index in "${!paths[@]}"; do
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "http://127.0.0.1:$port${paths[$index]}")
    [ "$status" = 200 ] || { echo "${paths[$index]} answered $status" >&2; exit 1; }
    local out
    out=$(wrk -t1 -c8 -d"${seconds}s" --latency -H "Authorization: Bearer $key" -H 'Accept: application/vnd.api+json' "http://127.0.0.1:$port${paths[$index]}")
    grep -q 'Non-2xx' <<<"$out" && { echo "non-2xx answers for ${paths[$index]}" >&2; exit 1; }
    local rps median tail
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    median=$(awk '$1 == "50%" {print $2}' <<<"$out")
    tail=$(awk '$1 == "99%" {print $2}' <<<"$out")
    p50["$size,$index"]=$median
    echo "| ${names[$index]} | $rps | $median | $tail |"
  done
  echo
  echo "peak RSS of the server: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")"
  echo
  kill "$server"; wait "$server" 2>/dev/null || true; server=
}

to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'; }

run_size "$small"
run_size "$large"
echo "### p50 latency ratio, $large / $small"
echo "| endpoint | ratio |"
echo "|---|---|"
names=("one conversation + items" "first page of 20 + items, sparse" "deep cursor page of 20 + items, sparse" "filtered, sorted page of 20")
for index in 0 1 2 3; do
  a=$(to_us "${p50["$large,$index"]}"); b=$(to_us "${p50["$small,$index"]}")
  echo "| ${names[$index]} | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') |"
done
