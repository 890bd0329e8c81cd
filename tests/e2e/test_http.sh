#!/usr/bin/env bash
# The HTTP face of a real loopledgerd (serve --http): health and
# readiness, the JSON gateway against gRPC for every route (Python's
# reference proto3 JSON mapping), errors and their HTTP statuses,
# Prometheus /metrics (promtool + values), request limits, and the
# transport rules: TLS with client certificates (CN = actor, same CA as
# gRPC), the trusted proxy's identity header, plaintext only on loopback.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3 # Debian's, with python3-grpcio and python3-protobuf

hport() { cat "$T/hport"; }
# code URL [curl args]: the HTTP status of a GET.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- plaintext on loopback, the demo loaded ----
start_server --http 127.0.0.1:0 --http-port-file "$T/hport"
[[ -s $T/hport ]] || fail "no HTTP port file"
grep -q "console at http://127.0.0.1:$(hport)/console/" "$T/server.log" || fail "the console URL is not logged"
H=http://127.0.0.1:$(hport)
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" >"$T/demo.log" 2>&1 || fail "demo: $(cat "$T/demo.log")"

[[ $(curl -s "$H/healthz") == ok ]] || fail "/healthz"
[[ $(curl -s "$H/readyz") == ready ]] || fail "/readyz on a sound ledger"
[[ $(code "$H/") == 302 ]] || fail "/ does not redirect to the console"

# Gateway == gRPC, paging, errors (tests/e2e/http/gateway_check.py).
"$PY" "$ROOT/tests/e2e/http/gateway_check.py" "$SERVER" "$H" "$ROOT/proto" "$T/seqs" \
    >"$T/gw.log" 2>&1 || fail "gateway: $(tail -5 "$T/gw.log")"
tail -1 "$T/gw.log"

# The console in headless Chromium: every page, the content users rely on,
# no console errors, in-browser verification (and its failure through a
# proxy that flips a proof byte); screenshots kept under the build dir.
SHOTS=$LL_BIN/console-screenshots
"$PY" "$ROOT/tests/e2e/http/console_check.py" "$H" "$T/seqs" "$SHOTS" >"$T/console.log" 2>&1 ||
    fail "console: $(tail -8 "$T/console.log")"
tail -1 "$T/console.log"

# The HTTP face never writes and takes no bodies.
[[ $(code -X POST "$H/v1/entries") == 405 ]] || fail "POST is not 405"
[[ $(code -X PUT "$H/v1/entries/0") == 405 ]] || fail "PUT is not 405"
[[ $(code -X GET --data-binary 'x' "$H/v1/entries") == 413 ]] || fail "a GET body is not refused"
# Oversized request line/headers stop at the connection memory limit.
big=$(head -c 40000 /dev/zero | tr '\0' a)
c=$(code "$H/v1/entries?initiative=$big")
[[ $c == 414 || $c == 431 || $c == 400 ]] || fail "a 40 kB URL got $c"
[[ $(curl -s "$H/healthz") == ok ]] || fail "the server stopped serving after an oversized request"
# Connections per peer address are bounded (64): idle connections up to the
# limit do not starve the server forever, the next one is turned away, and
# once they close the server answers again.
"$PY" - "$(hport)" <<'PY' || fail "per-address connection limit"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
time.sleep(1.0)  # let the server accept them all
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
try:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = s.recv(100)
except (ConnectionResetError, BrokenPipeError, socket.timeout):
    got = b""
if got.startswith(b"HTTP/1.1 200"):
    sys.exit("connection 65 from one address was served")
for c in held:
    c.close()
PY
for _ in $(seq 1 50); do [[ $(curl -s "$H/healthz") == ok ]] && break; sleep 0.1; done
[[ $(curl -s "$H/healthz") == ok ]] || fail "the server does not answer after the held connections closed"

# /metrics: valid exposition format, and values that match the ledger.
# A validate-only append (loopctl --dry-run) is checked by the writer but
# rolled back: it is in no commit and no batch.
"$LOOPCTL" append --dry-run --key "$T/admin.key" --author admin \
    --note "metrics: a dry run writes nothing" >"$T/dry.log" 2>&1 || fail "dry run: $(cat "$T/dry.log")"
curl -s "$H/metrics" >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" || fail "promtool rejects /metrics"
m() { awk -v k="$1" '$1 == k {print $2}' "$T/metrics.txt"; }
size=$("$LOOPCTL" --json checkpoint | json tree_size)
[[ $(m loopledger_tree_size) == "$size" ]] || fail "tree_size $(m loopledger_tree_size) != $size"
kinds=$(awk '/^loopledger_entries\{/ {s += $2} END {print s}' "$T/metrics.txt")
[[ $kinds == "$size" ]] || fail "entries by kind sum to $kinds, not $size"
[[ $(m 'loopledger_entries{kind="finding"}') == 3 ]] || fail "findings by kind: $(m 'loopledger_entries{kind="finding"}')"
open=$("$LOOPCTL" --json open-loops | "$PY" -c 'import json,sys; print(sum(1 for l in json.load(sys.stdin)["loops"] if l["kind"] == "finding_not_acted_on"))')
[[ $(m 'loopledger_open_loops{kind="FINDING_NOT_ACTED_ON"}') == "$open" ]] || fail "open loops metric != ListOpenLoops ($open)"
[[ $(m loopledger_initiatives) == 2 ]] || fail "initiatives metric"
[[ $(m loopledger_ready) == 1 ]] || fail "ready metric"
# The gateway check and the console asked the same rankings and loop
# health at one size more than once: some came from memory (ll_memo.h).
(( $(m 'loopledger_memo_lookups_total{result="hit"}') > 0 )) || fail "no remembered answer was used"
[[ -n $(m 'loopledger_memo_lookups_total{result="miss"}') ]] || fail "memo misses not exported"
# Every demo entry was one Append; the gateway check's GetEntry calls are
# counted under transport http.
appends=$(m 'loopledger_rpc_requests_total{method="/loopledger.v1.LedgerService/Append",code="OK",transport="grpc"}')
((appends >= size - 1)) || fail "Append OK count $appends < $((size - 1))"
ge=$(m 'loopledger_rpc_requests_total{method="/loopledger.v1.LedgerService/GetEntry",code="NOT_FOUND",transport="http"}')
[[ $ge == 1 ]] || fail "GetEntry NOT_FOUND over http counted $ge, want 1"
batches=$(m loopledger_append_batch_entries_count)
bsum=$(m loopledger_append_batch_entries_sum)
# Every entry, the genesis included, went through the writer's batches.
((batches >= 1)) && [[ ${bsum%.*} == "$size" ]] || fail "batch histogram: $batches batches, $bsum entries, want $size"
[[ $(m loopledger_commit_duration_seconds_count) == "$batches" ]] || fail "one commit duration per batch"
used=$(m loopledger_lmdb_map_used_bytes)
((used > 0 && used <= $(m loopledger_lmdb_map_size_bytes))) || fail "map used $used"
# A Watch stream shows while it lives.
"$LOOPCTL" watch --from "$size" --count 1 >/dev/null 2>&1 &
wpid=$!
for _ in $(seq 1 100); do
    [[ $(curl -s "$H/metrics" | awk '$1 == "loopledger_watch_streams" {print $2}') == 1 ]] && break
    sleep 0.05
done
[[ $(curl -s "$H/metrics" | awk '$1 == "loopledger_watch_streams" {print $2}') == 1 ]] || fail "watch_streams did not show the stream"
kill "$wpid" 2>/dev/null || true
wait "$wpid" 2>/dev/null || true
echo "metrics: promtool ok; tree size, kinds, open loops, batches, commits, map, watch streams match"
stop_server

# ---- transport rules ----
if "$LOOPLEDGERD" serve --data "$T/ledger" --listen 127.0.0.1:0 --plaintext --http 0.0.0.0:0 \
    >"$T/nl.log" 2>&1; then
    fail "plaintext HTTP on 0.0.0.0 was accepted"
fi
grep -q "refusing to serve plaintext HTTP on non-loopback" "$T/nl.log" || fail "no reason given: $(cat "$T/nl.log")"

OPS=$ROOT/ops
C=$T/certs
"$OPS/certs" "$C" admin mallory >/dev/null
"$OPS/certs" "$C" --rogue admin >/dev/null
"$OPS/certs" "$C" --p12 admin >/dev/null
openssl pkcs12 -in "$C/admin.p12" -passin pass: -nokeys 2>/dev/null | grep -q "subject=CN *= *admin" ||
    fail "ops/certs --p12 did not bundle admin's certificate"
start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --http 127.0.0.1:0 --http-port-file "$T/hport"
S=https://127.0.0.1:$(hport)
as() { local who=$1; shift; curl -s --cacert "$C/ca.crt" --cert "$C/$who.crt" --key "$C/$who.key" "$@"; }
[[ $(as admin -o /dev/null -w '%{http_code}' "$S/v1/checkpoint") == 200 ]] || fail "admin's certificate is not accepted"
[[ $(as admin "$S/v1/actors/admin" | json actorId) == admin ]] || fail "actor history over HTTPS"
[[ $(code --cacert "$C/ca.crt" "$S/v1/checkpoint") == 401 ]] || fail "no certificate: not 401"
curl -s --cacert "$C/ca.crt" "$S/v1/checkpoint" | grep -q '"code":16' || fail "no certificate: not UNAUTHENTICATED"
[[ $(code --cacert "$C/ca.crt" --cert "$C/admin-rogue.crt" --key "$C/admin-rogue.key" "$S/v1/checkpoint") == 401 ]] ||
    fail "a certificate from another CA is accepted"
[[ $(as mallory -o /dev/null -w '%{http_code}' "$S/v1/checkpoint") == 401 ]] || fail "a non-actor certificate is accepted"
[[ $(as mallory -o /dev/null -w '%{http_code}' "$S/metrics") == 401 ]] || fail "/metrics open to a non-actor"
[[ $(as admin -o /dev/null -w '%{http_code}' "$S/metrics") == 200 ]] || fail "/metrics for an actor"
[[ $(code --cacert "$C/ca.crt" "$S/healthz") == 200 ]] || fail "/healthz needs no identity"
[[ $(code --cacert "$C/ca.crt" "$S/console/") == 200 ]] || fail "the console's page needs no identity"
[[ $(code --cacert "$C/ca.crt" "$S/console/api/config") == 401 ]] || fail "console data without identity"
# Without a trusted proxy, the identity header means nothing.
[[ $(code --cacert "$C/ca.crt" -H 'X-Loopledger-Actor: admin' "$S/v1/checkpoint") == 401 ]] ||
    fail "the identity header was believed without --http-trusted-proxy"
stop_server

# The trusted proxy (here: this host) names the actor; others cannot.
start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --http 127.0.0.1:0 --http-port-file "$T/hport" --http-trusted-proxy 127.0.0.1
S=https://127.0.0.1:$(hport)
[[ $(code --cacert "$C/ca.crt" -H 'X-Loopledger-Actor: admin' "$S/v1/checkpoint") == 200 ]] ||
    fail "the trusted proxy's header is not believed"
[[ $(code --cacert "$C/ca.crt" -H 'X-Loopledger-Actor: mallory' "$S/v1/checkpoint") == 401 ]] ||
    fail "the proxy named a non-actor and got in"
stop_server
start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --http 127.0.0.1:0 --http-port-file "$T/hport" --http-trusted-proxy 127.0.0.2
S=https://127.0.0.1:$(hport)
[[ $(code --cacert "$C/ca.crt" -H 'X-Loopledger-Actor: admin' "$S/v1/checkpoint") == 401 ]] ||
    fail "the identity header was believed from a peer that is not the proxy"
stop_server
echo "transport: TLS client certificates, trusted proxy header, loopback-only plaintext"
echo "PASS"
