#!/usr/bin/env bash
# Clients that ask for large pages and never read them: how much memory do they hold, for how
# long, and is it given back?
#
#   bench/slow_readers.sh [clients=250] [hold_seconds=10]
#
# Seeds one conversation with 20 items of 60,000 characters (a page of them is about 1.2 MB),
# then opens CLIENTS connections with a 4 KiB receive buffer, each sending 4 pipelined requests
# for that page and reading nothing. Reports the server's RSS (VmRSS) before, while they hold
# their connections, after they close, and then in a second round after the server's write
# timeout (CONFAB_WRITE_TIMEOUT_SECONDS, 5 s here) has let them go while they still hold on.
# SQLite by default; ADMIN_URL=postgres://…/postgres runs it on a fresh PostgreSQL database.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
clients=${1:-250}
hold=${2:-10}
port=${BENCH_PORT:-18094}
cargo build --release --quiet
workdir=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$workdir"' EXIT
export RUST_LOG=warn CONFAB_RATE_LIMIT=0 CONFAB_WRITE_TIMEOUT_SECONDS=5
fresh_database confab_slow "$workdir"
key=$(key_for reader)
CONFAB_BIND="127.0.0.1:$port" target/release/confab serve --no-bootstrap &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

python3 - "$port" "$key" "$server" "$clients" "$hold" <<'PY'
import json, socket, sys, time, urllib.request
port, key, pid, clients, hold = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = f"http://127.0.0.1:{port}/api"

def post(path, document):
    request = urllib.request.Request(base + path, data=json.dumps(document).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/vnd.api+json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["data"]["id"]

def rss_mb():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

conversation = post("/conversations", {"data": {"type": "Conversation", "attributes": {"channel": "chat"}}})
for _ in range(20):
    post("/conversation_items", {"data": {"type": "ConversationItem",
        "attributes": {"role": "user", "content": "c" * 60_000},
        "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}}})
target = f"/api/conversations/{conversation}/conversation_items?page%5Bsize%5D=20"
request = (f"GET {target} HTTP/1.1\r\nHost: bench\r\nAccept: application/vnd.api+json\r\n"
           f"Authorization: Bearer {key}\r\n\r\n").encode()
with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{target}",
        headers={"Authorization": f"Bearer {key}"})) as response:
    page = len(response.read())

def open_clients():
    sockets = []
    for _ in range(clients):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", int(port)))
        s.sendall(request * 4)
        sockets.append(s)
    return sockets

def health_ms():
    started = time.time()
    urllib.request.urlopen(f"http://127.0.0.1:{port}/health").read()
    return (time.time() - started) * 1000

print(f"page: {page} bytes; {clients} clients x 4 pipelined requests, 4 KiB receive buffers")
print(f"RSS before: {rss_mb():.0f} MB")

def timeline(seconds, label):
    samples = []
    for _ in range(seconds):
        time.sleep(1)
        samples.append(f"{rss_mb():.0f}")
    print(f"  {label}, RSS each second (MB): {' '.join(samples)}")

# Round 1: the clients give up (close) after HOLD seconds.
sockets = open_clients()
timeline(hold, f"round 1: {clients} clients holding")
print(f"  /health while they hold: {health_ms():.1f} ms")
for s in sockets:
    s.close()
timeline(10, "round 1: after they closed")
# Round 2: the clients hold on; the server's write timeout (5 s) lets them go.
sockets = open_clients()
timeline(hold + 5, "round 2: clients holding past the write timeout")
closed = 0
for s in sockets:
    s.settimeout(1)
    try:
        while s.recv(1 << 20):
            pass
        closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
    s.close()
print(f"  round 2: connections the server had closed: {closed} of {clients}")
timeline(5, "round 2: after")
PY
