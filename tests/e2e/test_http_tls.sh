#!/usr/bin/env bash
# The console and gateway over HTTPS with client certificates issued by
# ops/certs, as governance reviewers reach them: identity is the
# certificate's common name (the console says whose it is), the role matrix
# applies unchanged (an auditor reads every page's data; a contributor
# too; a certificate naming no actor, a revoked actor, no certificate, an
# expired one and one from another CA are refused with 401 and gRPC code 16
# UNAUTHENTICATED, and none of them sees data). Then the HTTP idle timeout
# (--http-idle-timeout): an idle TLS connection, a half-sent request
# (slowloris) and a TCP connection that never starts TLS are closed after
# the configured seconds, a connection in use is not, and the server goes
# on serving. Needs Debian libnss3-tools (certutil, pk12util) for the
# browser's certificate store.
source "$(dirname "$0")/lib.sh"
OPS=$(cd "$(dirname "$0")/../../ops" && pwd)
PY=/usr/bin/python3
C=$T/certs
"$OPS/certs" "$C" admin audrey ana mallory >/dev/null
"$OPS/certs" "$C" --rogue audrey >/dev/null
"$OPS/certs" "$C" --expired audrey >/dev/null
"$OPS/certs" "$C" --p12 audrey >/dev/null

IDLE=2
start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --http 127.0.0.1:0 --http-port-file "$T/hport" --http-idle-timeout "$IDLE"
S=https://127.0.0.1:$(cat "$T/hport")
grep -q "console at $S/console/" "$T/server.log" || fail "the HTTPS console URL is not logged"

# gRPC calls (mTLS too) and HTTPS requests as an actor's certificate.
rpc() { local who=$1; shift; "$LOOPCTL" --tls-ca "$C/ca.crt" --tls-cert "$C/$who.crt" --tls-key "$C/$who.key" "$@"; }
as() { local who=$1; shift; curl -s --cacert "$C/ca.crt" --cert "$C/$who.crt" --key "$C/$who.key" "$@"; }
code_as() { local who=$1; shift; as "$who" -o /dev/null -w '%{http_code}' "$@"; }

register() { # register ID ROLE
    "$LOOPCTL" keygen "$T/$1.key" >/dev/null
    cat >"$T/reg-$1.json" <<JSON
{"author": "admin", "actor": {"id": "$1", "name": "$1", "roles": ["$2"], "public_key_file": "$1.key.pub"}}
JSON
    rpc admin append --key "$T/admin.key" "$T/reg-$1.json" >/dev/null || fail "registering $1"
}
register audrey auditor
register ana contributor
rpc admin initiative --key "$T/admin.key" --author admin --initiative pricing \
    --title "Dynamic pricing" --application pricing --phase pilot >/dev/null || fail "charter"
F=$(rpc ana --json finding --key "$T/ana.key" --author ana --initiative pricing \
    --summary "competitor undercut on 40 SKUs" --evidence quantitative --source dashboard \
    --diagnosis preference_shift | json seq)

# Every page's data, as the console fetches it.
PAGES=(/console/api/config /v1/checkpoint "/v1/initiatives?pageSize=25" /v1/initiatives/pricing
    "/v1/loop-health?initiative=pricing" "/console/api/entries?initiative=pricing&pageSize=500"
    "/console/api/entry/$F" "/v1/entries/$F/lineage?backHops=4&forwardHops=3" /v1/decisions
    /v1/pending-approvals /v1/actors/audrey "/v1/roadmap/priorities?pageSize=100" /metrics)

# Identity is the certificate's common name; the role matrix lets an
# auditor (read-only) and a contributor read everything the console shows.
[[ $(as audrey "$S/console/api/config" | json identity) == audrey ]] || fail "the console does not name audrey"
[[ $(as audrey "$S/console/api/config" | json tls) == true ]] || fail "the console does not say TLS"
[[ $(as ana "$S/console/api/config" | json identity) == ana ]] || fail "the console does not name ana"
for p in "${PAGES[@]}"; do
    for who in audrey ana admin; do
        c=$(code_as "$who" "$S$p")
        [[ $c == 200 ]] || fail "$who GET $p: $c"
    done
done
[[ $(as audrey "$S/v1/actors/audrey" | json actorId) == audrey ]] || fail "audrey's actor page"
# The same in a browser: headless Chromium with audrey's PKCS#12 (as
# ops/certs --p12 makes it for a reviewer) in its NSS database loads the
# portfolio, signed in as audrey (tests/e2e/http/console_tls_check.py).
"$PY" "$(dirname "$0")/http/console_tls_check.py" "$S" "$C/ca.crt" "$C/audrey.p12" audrey \
    "Dynamic pricing" "$LL_BIN/console-screenshots" >"$T/chromium.log" 2>&1 ||
    fail "console in Chromium with a client certificate: $(tail -5 "$T/chromium.log")"
tail -1 "$T/chromium.log"
# The console never writes, whoever asks (the auditor included).
[[ $(code_as admin -X POST "$S/v1/entries") == 405 ]] || fail "POST over HTTPS is not 405"

# refused WHO-ARGS...: every page's data is 401 with gRPC code 16 and no data.
refused() {
    local what=$1 c body
    shift
    for p in "${PAGES[@]}"; do
        c=$(curl -s --cacert "$C/ca.crt" "$@" -o "$T/body" -w '%{http_code}' "$S$p")
        [[ $c == 401 ]] || fail "$what: GET $p answered $c, not 401"
        body=$(cat "$T/body")
        grep -q '"code":16' "$T/body" || fail "$what: GET $p is not UNAUTHENTICATED: $body"
        ! grep -q '"treeSize"\|"entries"\|"initiatives"\|loopledger_tree_size' "$T/body" ||
            fail "$what: GET $p leaked data: $body"
    done
}
refused "no certificate"
refused "a certificate naming no actor" --cert "$C/mallory.crt" --key "$C/mallory.key"
refused "a certificate from another CA" --cert "$C/audrey-rogue.crt" --key "$C/audrey-rogue.key"
refused "an expired certificate" --cert "$C/audrey-expired.crt" --key "$C/audrey-expired.key"
curl -s --cacert "$C/ca.crt" --cert "$C/mallory.crt" --key "$C/mallory.key" "$S/v1/checkpoint" |
    grep -q 'not a registered actor' || fail "the refusal does not say why"
# Public paths stay public (load balancers, the console's own files).
[[ $(curl -s --cacert "$C/ca.crt" -o /dev/null -w '%{http_code}' "$S/healthz") == 200 ]] || fail "/healthz"
[[ $(curl -s --cacert "$C/ca.crt" -o /dev/null -w '%{http_code}' "$S/console/") == 200 ]] || fail "/console/"

# A revoked actor keeps its certificate but loses access (401 as well).
kid=$(rpc admin --json actor ana | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["keyid"])') ||
    fail "ana's key id"
cat >"$T/revoke.json" <<JSON
{"author": "admin", "revocation": {"actor_id": "ana", "keyid": "$kid", "reason": "laptop lost"}}
JSON
rpc admin append --key "$T/admin.key" "$T/revoke.json" >/dev/null || fail "revocation"
[[ $(code_as ana "$S/console/api/config") == 401 ]] || fail "a revoked actor still reads"
as ana "$S/v1/checkpoint" | grep -q 'revoked' || fail "the refusal does not say the key is revoked"
[[ $(code_as audrey "$S/console/api/config") == 200 ]] || fail "audrey lost access with ana's revocation"
echo "tls: identity from the certificate, auditor and contributor read, 5 kinds of refusal"

# ---- the idle timeout ----
"$PY" - "$(cat "$T/hport")" "$C" "$IDLE" <<'PY' || fail "idle timeout"
import socket, ssl, sys, time
port, c, idle = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
ctx = ssl.create_default_context(cafile=c + "/ca.crt")
ctx.load_cert_chain(c + "/audrey.crt", c + "/audrey.key")

def tls():
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")

def closed_after(s, first=b""):
    """Seconds until the server closes s (after sending first); what came."""
    t0 = time.monotonic()
    if first:
        s.sendall(first)
    s.settimeout(60)
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (ConnectionResetError, ssl.SSLError):
        pass
    return time.monotonic() - t0, got

def check(what, s, first=b""):
    took, got = closed_after(s, first)
    # Not before the timeout (so it is the timeout that closed it) and well
    # before the 30 s default (so the option took effect); the margin above
    # is for a loaded machine.
    if took < idle * 0.5 or took > 25:
        sys.exit("%s: closed after %.1f s with --http-idle-timeout %g" % (what, took, idle))
    if b"HTTP/1.1 200" in got:
        sys.exit("%s: was answered" % what)
    print("%s: closed after %.1f s" % (what, took))

check("an idle TLS connection", tls())
check("a half-sent request (slowloris)", tls(), b"GET /console/api/config HTTP/1.1\r\nHost: x\r\n")
raw = socket.create_connection(("127.0.0.1", port))
check("a TCP connection that never starts TLS", raw)

# A connection in use is not idle: requests every idle/4 s for 2 x idle s
# on one keep-alive connection are all answered.
s = tls()
s.settimeout(20)
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < 2 * idle:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while True:  # one response: headers, then Content-Length bytes
        head, sep, body = got.partition(b"\r\n\r\n")
        if sep:
            clen = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                    if l.lower().startswith(b"content-length:")]
            if clen and len(body) >= clen[0]:
                break
        d = s.recv(4096)
        if not d:
            sys.exit("a connection in use was closed after %d requests" % n)
        got += d
    if not got.startswith(b"HTTP/1.1 200"):
        sys.exit("request %d on a busy connection: %r" % (n, got[:80]))
    n += 1
    time.sleep(idle / 4)
print("a connection in use: %d requests over %.1f s" % (n, time.monotonic() - t0))
PY
[[ $(code_as audrey "$S/console/api/config") == 200 ]] || fail "the server stopped serving after the timeouts"
stop_server

# The option is checked.
for bad in 0 3601 2s ""; do
    if "$LOOPLEDGERD" serve --data "$T/ledger" --http 127.0.0.1:0 --http-idle-timeout "$bad" \
        >"$T/bad.log" 2>&1; then
        fail "--http-idle-timeout '$bad' was accepted"
    fi
    grep -q "http-idle-timeout takes whole seconds" "$T/bad.log" || fail "no reason for '$bad': $(cat "$T/bad.log")"
done
echo "idle timeout: idle, half-sent and pre-TLS connections closed after ${IDLE}s; busy ones kept"
echo "PASS"
