# End-to-end test helpers: start a real loopledgerd on a free loopback port
# with a temporary data dir, and tear it down. Sourced by the e2e scripts.
set -euo pipefail

: "${LL_BIN:?LL_BIN must point at the build directory}"
LOOPLEDGERD=$LL_BIN/api/loopledgerd
LOOPCTL=$LL_BIN/clients/loopctl
T=$(mktemp -d /tmp/ll-e2e-XXXXXX)
SERVER_PID=
trap 'e2e_cleanup' EXIT

e2e_cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    [[ ${KEEP_TMP:-0} == 1 ]] || rm -rf "$T"
}

fail() {
    [[ ${KEEP_TMP:-0} == 1 ]] && echo "kept $T" >&2
    echo "FAIL: $*" >&2
    [[ -f $T/server.log ]] && { echo "--- server log:" >&2; tail -n 30 "$T/server.log" >&2; }
    exit 1
}

# start_server [extra loopledgerd args]: serves $T/ledger; sets PORT, SERVER.
# Plaintext (loopback) unless the arguments configure TLS.
start_server() {
    [[ -f $T/admin.key ]] || "$LOOPCTL" keygen "$T/admin.key" >/dev/null
    rm -f "$T/port"
    local transport=(--plaintext)
    [[ " $* " == *" --tls-cert "* ]] && transport=()
    "$LOOPLEDGERD" serve --data "$T/ledger" --listen 127.0.0.1:0 --port-file "$T/port" \
        --admin-pub "$T/admin.key.pub" --admin-id admin --origin e2e.test/ledger \
        "${transport[@]}" "$@" \
        >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        [[ -s $T/port ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "server exited at start"
        sleep 0.05
    done
    [[ -s $T/port ]] || fail "server did not start"
    PORT=$(cat "$T/port")
    SERVER=127.0.0.1:$PORT
    export LOOPLEDGER_SERVER=$SERVER
    VKEY=$("$LOOPLEDGERD" verifier-key --data "$T/ledger" 2>/dev/null) || true
}

stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || fail "server did not exit cleanly on SIGTERM (status $?)"
    SERVER_PID=
}

kill9_server() {
    kill -KILL "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# check_acked FILE: every "SEQ LEAF_HASH" line of FILE (acknowledged
# appends) is in the ledger with that very leaf hash.
check_acked() {
    "$LOOPCTL" --json list | python3 -c '
import json, sys
leaves = {e["seq"]: e["leaf_hash"] for e in json.load(sys.stdin)}
bad = [l for l in open(sys.argv[1]) if leaves.get(int(l.split()[0])) != l.split()[1]]
sys.exit("changed or lost: %s" % bad[:3] if bad else 0)' "$1"
}

# json FIELD < doc: prints one top-level field of a JSON document.
json() {
    python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(",".join(v) if isinstance(v,list) else ("true" if v is True else "false" if v is False else v))' "$1"
}

# expect_status CODE cmd...: the loopctl command must fail with that gRPC code.
expect_status() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "expected $code from: $* (it succeeded: $out)"
    fi
    grep -q "$code" <<<"$out" || fail "expected $code from: $*; got: $out"
}

# node_deps DIR: installs DIR's npm dependencies once (npm ci), under a lock
# so that e2e tests running in parallel from a fresh clone do not race.
node_deps() {
    local dir=$1
    (
        flock 9
        [[ -d $dir/node_modules/@grpc/grpc-js && -d $dir/node_modules/grpc-reflection-js ]] ||
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    ) 9>"$dir/.npm-lock" || fail "npm ci failed in $dir"
}
