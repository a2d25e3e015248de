#!/usr/bin/env bash
# Side by side, in one run: confab, the ceiling (actix-web answering confab's own bytes from
# memory, bench/ceiling) and, when ../shared/bench is there, the two peer JSON:API servers, on
# the same data: 10 organisations x 100 conversations x 10 items. Two documents:
#   one:  one conversation with its 10 items included
#   page: a page of 20 conversations with their 200 items included
# wrk -t2 -c16 in interleaved rounds; medians, and the ratios confab/ceiling and confab/peer.
# Then 64 connections on `page` for the tail (p99 / p50) and confab's peak RSS.
#
#   bench/compare.sh [rounds=3] [seconds=8]
#
# Env: ADMIN_URL=postgres://…/postgres runs confab on a fresh PostgreSQL database instead of
#      SQLite; PEERS=0 skips the peers.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-8}
port=${BENCH_PORT:-18092}
ceiling_port=$((port + 1))
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
cargo build --release --quiet --manifest-path bench/ceiling/Cargo.toml --target-dir target/ceiling
workdir=$(mktemp -d)
pids=()
peers_started=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for script in "${peers_started[@]}"; do bash "$script" stop >/dev/null 2>&1 || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT
export RUST_LOG=warn
# One key drives the whole load: the per-key rate limit would turn most of it into 429s.
export CONFAB_RATE_LIMIT=0

if [ -n "${ADMIN_URL:-}" ]; then
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS confab_compare" -c "CREATE DATABASE confab_compare"
  export DATABASE_URL="${ADMIN_URL%/*}/confab_compare"
  backend=PostgreSQL
else
  export DATABASE_URL=$workdir/compare.db
  backend=SQLite
fi
target/release/confab seed --organisations 10 --conversations 1000 --items-per-conversation 10 >/dev/null
key=$(target/release/confab keys create --organisation seed-1 --test | tail -n 1)
CONFAB_BIND="127.0.0.1:$port" target/release/confab serve --no-bootstrap &
confab=$!
pids+=("$confab")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

declare -A path
path[one]="/api/conversations/00000002-0000-4000-8000-000000000000?include=conversation_items"
path[page]="/api/conversations?page%5Bsize%5D=20&include=conversation_items"
documents=(one page)

# The ceiling serves exactly what confab answered.
mkdir -p "$workdir/bytes"
for doc in "${documents[@]}"; do
  curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port${path[$doc]}" -o "$workdir/bytes/$doc.json"
done
target/ceiling/release/confab-ceiling "$workdir/bytes" "127.0.0.1:$ceiling_port" 2 &
pids+=("$!")
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ceiling_port/one" >/dev/null && break; sleep 0.1; done

declare -A url
servers=(confab ceiling)
for doc in "${documents[@]}"; do
  url["confab,$doc"]="http://127.0.0.1:$port${path[$doc]}"
  url["ceiling,$doc"]="http://127.0.0.1:$ceiling_port/$doc"
done
peers_dir=../shared/bench
if [ "${PEERS:-1}" = 1 ] && [ -d "$peers_dir" ]; then
  first_id() {
    curl -sf -H 'Accept: application/vnd.api+json' "$1?page%5Bsize%5D=1" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])'
  }
  peers_started+=("$peers_dir/peer-node-setup.sh" "$peers_dir/peer-setup.sh")
  # start_peer NAME SCRIPT PORT COLLECTION: set up, seed and start a peer, and note its URLs.
  start_peer() {
    local name=$1 script=$2 base="http://127.0.0.1:$3" collection=$4 cid
    if ! bash "$peers_dir/$script" all >"$workdir/$name.log" 2>&1; then
      echo "(the $name peer did not start; see its script)" >&2
      return
    fi
    cid=$(first_id "$base/$collection")
    url["$name,one"]="$base/$collection/$cid?include=conversation_items"
    url["$name,page"]="$base/$collection?page%5Bsize%5D=20&include=conversation_items"
    servers+=("$name")
  }
  start_peer nestjs peer-node-setup.sh "${PEER_NODE_PORT:-8085}" conversation
  start_peer django peer-setup.sh "${PEER_PORT:-8081}" conversations
fi

load() { # load URL CONNECTIONS -> "rps p50 p99" (latencies in microseconds)
  local out
  out=$(wrk -t2 -c"$2" -d"${seconds}s" --latency -H 'Accept: application/vnd.api+json' \
    -H "Authorization: Bearer $key" "$1")
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers from $1" >&2; exit 1; fi
  awk '
    function us(v) { n = v + 0; if (v ~ /us$/) return n; if (v ~ /ms$/) return n * 1000; return n * 1000000 }
    /Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
    END { printf "%s %s %s\n", rps, p50, p99 }' <<<"$out"
}
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A samples
for round in $(seq 1 "$rounds"); do
  for doc in "${documents[@]}"; do
    for server in "${servers[@]}"; do
      read -r rps _ _ < <(load "${url[$server,$doc]}" 16)
      samples["$server,$doc"]="${samples["$server,$doc"]:-} $rps"
    done
  done
done

echo "### $backend, $rounds rounds of ${seconds}s, wrk -t2 -c16 (requests/s, median)"
echo
printf '| document | bytes |'; for server in "${servers[@]}"; do printf ' %s |' "$server"; done
printf ' confab/ceiling |'; for server in "${servers[@]:2}"; do printf ' confab/%s |' "$server"; done; echo
printf '|---|---|'; for _ in "${servers[@]}" "${servers[@]:1}"; do printf -- '---|'; done; echo
for doc in "${documents[@]}"; do
  declare -A med=()
  for server in "${servers[@]}"; do med[$server]=$(median <<<"${samples["$server,$doc"]# }"); done
  printf '| %s | %s |' "$doc" "$(wc -c <"$workdir/bytes/$doc.json")"
  for server in "${servers[@]}"; do printf ' %s |' "${med[$server]}"; done
  printf ' %s |' "$(awk -v a="${med[confab]}" -v b="${med[ceiling]}" 'BEGIN { printf "%.1f%%", 100 * a / b }')"
  for server in "${servers[@]:2}"; do
    printf ' %s |' "$(awk -v a="${med[confab]}" -v b="${med[$server]}" 'BEGIN { printf "%.1fx", a / b }')"
  done
  echo
done
echo
read -r rps p50 p99 < <(load "${url[confab,page]}" 64)
echo "page at 64 connections: $rps requests/s, p50 ${p50} us, p99 ${p99} us, p99/p50 $(awk -v a="$p99" -v b="$p50" 'BEGIN { printf "%.1f", a / b }')"
echo "confab peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$confab/status")"
