#!/usr/bin/env bash
# A verifying mirror fed over gRPC (`mirror --from grpc://HOST:PORT`): a
# primary serving mTLS only, the mirror dialling it with its own client
# certificate (an auditor actor), under concurrent appends. The mirror then
# answers LoopService, RoadmapService and LedgerService reads exactly as
# the primary did, serves the primary's signed checkpoint (verified by
# loopctl with the pinned key), and refuses Append naming the primary.
# Refusals before any data moves: a certificate the primary does not know
# (--once exits 3, the primary's UNAUTHENTICATED logged), plaintext to a
# non-loopback address, half the TLS files. Then other servers take the
# primary's address: a copy of it (same origin and keys) grown differently
# is a fork for a following mirror (it stops following, keeps serving,
# writes the evidence) and for `--once` (exit 1); the same copy before it
# grows is a rewind; another ledger with the same origin is an unknown
# key.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=$T/certs
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null || true; done; e2e_cleanup' EXIT
"$ROOT/ops/certs" "$C" admin maya raj dashboards ana leo sofia dana mirror stranger >/dev/null
TLS=(--tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt")
as() { # as ACTOR loopctl-args...: loopctl over mTLS with ACTOR's certificate
    local who=$1
    shift
    "$LOOPCTL" --tls-ca "$C/ca.crt" --tls-cert "$C/$who.crt" --tls-key "$C/$who.key" "$@"
}
lc() { as admin "$@"; }
msize() { "$LOOPCTL" --server "$1" --json checkpoint 2>/dev/null | json tree_size 2>/dev/null || echo 0; }
FROM_TLS=(--from-tls-ca "$C/ca.crt" --from-tls-cert "$C/mirror.crt" --from-tls-key "$C/mirror.key")

start_server "${TLS[@]}"
PRIMARY=$SERVER
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" --tls "$C" >"$T/demo.log" 2>&1 ||
    fail "demo: $(cat "$T/demo.log")"
"$LOOPCTL" keygen "$T/mirror.key" >/dev/null
cat >"$T/reg.json" <<JSON
{"author": "admin", "actor": {"id": "mirror", "name": "mirror", "roles": ["auditor"],
 "public_key_file": "mirror.key.pub"}}
JSON
lc append --key "$T/admin.key" "$T/reg.json" >/dev/null || fail "registering the mirror's actor"

# ---- refusals before any data moves ----
out=$("$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" --vkey "$VKEY" --data "$T/mx" \
    --from-tls-ca "$C/ca.crt" --from-tls-cert "$C/stranger.crt" --from-tls-key "$C/stranger.key" 2>&1) &&
    fail "a mirror with an unknown certificate caught up: $out"
[[ $? == 3 ]] || true
grep -q "UNAUTHENTICATED\|status 16" <<<"$out" || fail "unknown certificate: no status logged: $out"
grep -q "source unreachable" <<<"$out" || fail "unknown certificate: not reported unreachable: $out"
out=$("$LOOPLEDGERD" mirror --once --from grpc://192.0.2.1:7600 --vkey "$VKEY" --data "$T/my" 2>&1) &&
    fail "plaintext to a non-loopback primary accepted"
grep -q "not a loopback address" <<<"$out" || fail "plaintext refusal: $out"
out=$("$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" --vkey "$VKEY" --data "$T/my" \
    --from-tls-ca "$C/ca.crt" 2>&1) && fail "half the TLS files accepted"
grep -q "needs all of --from-tls-ca" <<<"$out" || fail "half TLS refusal: $out"
out=$("$LOOPLEDGERD" mirror --once --from "$T" --vkey "$VKEY" --data "$T/my" \
    --from-tls-ca "$C/ca.crt" 2>&1) && fail "--from-tls-* with a tiles source accepted"
grep -q "are for a gRPC primary" <<<"$out" || fail "tiles+TLS refusal: $out"

# ---- following under concurrent appends ----
start_m1() { # the following mirror, serving plaintext on loopback
    rm -f "$T/m1.port"
    "$LOOPLEDGERD" mirror --from "grpc://$PRIMARY" "${FROM_TLS[@]}" --vkey "$VKEY" --data "$T/m1" \
        --listen 127.0.0.1:0 --port-file "$T/m1.port" --plaintext --interval-ms 50 >>"$T/m1.log" 2>&1 &
    PIDS+=($!)
    M1_PID=$!
    for _ in $(seq 1 200); do [[ -s $T/m1.port ]] && break; sleep 0.05; done
    [[ -s $T/m1.port ]] || fail "mirror did not start: $(cat "$T/m1.log")"
    M1=127.0.0.1:$(cat "$T/m1.port")
}
start_m1
appenders=()
for w in 1 2 3 4; do
    (for i in $(seq 1 15); do
        lc append --key "$T/admin.key" --author admin --initiative reco-engine --note "w$w $i" >/dev/null || exit 1
    done) &
    appenders+=($!)
done
for p in "${appenders[@]}"; do wait "$p" || fail "concurrent appends"; done
size=$(lc --json checkpoint | json tree_size)
for _ in $(seq 1 600); do [[ $(msize "$M1") == "$size" ]] && break; sleep 0.05; done
[[ $(msize "$M1") == "$size" ]] || fail "mirror at $(msize "$M1"), primary at $size: $(tail -5 "$T/m1.log")"

queries() { # queries 'CLIENT...' OUTDIR
    local d=$2 rp
    local -a cl
    read -r -a cl <<<"$1"
    mkdir -p "$d"
    rp=$(awk '$1 == "roadmap_project" {print $2}' "$T/seqs")
    "${cl[@]}" --json state reco-engine >"$d/state.json"
    "${cl[@]}" --json lineage "$rp" --back 5 --forward 0 >"$d/lineage.json"
    "${cl[@]}" --json open-loops >"$d/open.json"
    "${cl[@]}" --json roadmap >"$d/roadmap.json"
    "${cl[@]}" --json list --initiative reco-engine >"$d/list.json"
    "${cl[@]}" --json get 7 >"$d/get7.json"
    "${cl[@]}" --json prove 7 --size "$size" >"$d/prove7.json"
    "${cl[@]}" checkpoint --size "$size" >"$d/cp.note"
}
queries "$LOOPCTL --tls-ca $C/ca.crt --tls-cert $C/admin.crt --tls-key $C/admin.key --server $PRIMARY" \
    "$T/q.primary" || fail "queries on the primary"
kill9_server
queries "$LOOPCTL --server $M1" "$T/q.m1" || fail "queries on the mirror"
for f in "$T"/q.primary/*; do
    cmp -s "$f" "$T/q.m1/$(basename "$f")" || fail "the mirror answers $(basename "$f") differently"
done
"$LOOPCTL" --server "$M1" verify --vkey "$VKEY" 0 5 "$((size - 1))" >/dev/null ||
    fail "mirror: checkpoint/proofs do not verify with the primary's key"
out=$("$LOOPCTL" --server "$M1" append --key "$T/admin.key" --author admin --note x 2>&1) &&
    fail "the mirror accepted an append"
grep -q FAILED_PRECONDITION <<<"$out" && grep -q "mirror of grpc://$PRIMARY" <<<"$out" ||
    fail "mirror refusal: $out"
grep -q "grpc://$PRIMARY" "$T/m1/mirror/source" || fail "mirror/source: $(cat "$T/m1/mirror/source")"
echo "gRPC mirror: $size entries over mTLS, answers identical after kill -9 of the primary"

# ---- divergence: other servers on the primary's address ----
# serve_at DATA [args]: a server on the primary's port (after it died).
serve_at() {
    local data=$1
    shift
    "$LOOPLEDGERD" serve --data "$data" --listen "$PRIMARY" "${TLS[@]}" "$@" >>"$T/other.log" 2>&1 &
    OTHER=$!
    PIDS+=($OTHER)
    for _ in $(seq 1 200); do lc health >/dev/null 2>&1 && return 0; sleep 0.05; done
    fail "server on $PRIMARY did not start: $(tail -5 "$T/other.log")"
}
# A copy of the primary as it is now (s0 entries): the fork's base.
s0=$size
"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/forkdata" >/dev/null
# The real primary comes back and grows to s1; a second mirror verifies s1.
start_server "${TLS[@]}" --listen "$PRIMARY"
for i in 1 2 3; do lc append --key "$T/admin.key" --author admin --note "real $i" >/dev/null; done
s1=$(lc --json checkpoint | json tree_size)
"$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" "${FROM_TLS[@]}" --vkey "$VKEY" --data "$T/m2" \
    >>"$T/m2.log" 2>&1 || fail "mirror --once over gRPC: $(cat "$T/m2.log")"
grep -q "caught up at $s1 entries" "$T/m2.log" || fail "m2 not at $s1: $(cat "$T/m2.log")"
for _ in $(seq 1 600); do [[ $(msize "$M1") == "$s1" ]] && break; sleep 0.05; done
[[ $(msize "$M1") == "$s1" ]] || fail "following mirror did not reach $s1"
kill9_server
# The following mirror stops meanwhile (it would see the rewind first).
kill -TERM "$M1_PID"
wait "$M1_PID" || fail "mirror did not stop cleanly on SIGTERM"
# Rewind: the copy (s0 < s1 entries) on the primary's address.
serve_at "$T/forkdata"
"$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" "${FROM_TLS[@]}" --vkey "$VKEY" --data "$T/m2" \
    >>"$T/m2.log" 2>&1 && fail "mirror --once accepted a rewind"
grep -q "^why: rewind: the primary serves size $s0 after this mirror verified $s1" "$T/m2/mirror/evidence" ||
    fail "rewind evidence: $(cat "$T/m2/mirror/evidence")"
# Fork: the copy grows past s1 with other entries.
for i in 1 2 3 4 5 6; do lc append --key "$T/admin.key" --author admin --note "forged $i" >/dev/null; done
fs=$(lc --json checkpoint | json tree_size)
((fs > s1)) || fail "fork not ahead ($fs <= $s1)"
start_m1
for _ in $(seq 1 600); do [[ -s $T/m1/mirror/evidence ]] && break; sleep 0.05; done
grep -q "^why: fork" "$T/m1/mirror/evidence" || fail "following mirror: no fork evidence: $(cat "$T/m1/mirror/evidence" 2>&1)"
[[ $(grep -c "^e2e.test/ledger$" "$T/m1/mirror/evidence") == 2 ]] || fail "evidence lacks both checkpoints"
grep -q "STOPPED FOLLOWING" "$T/m1.log" || fail "divergence not logged"
kill -0 "$M1_PID" || fail "the diverged mirror exited"
[[ $(msize "$M1") == "$s1" ]] || fail "diverged mirror serves $(msize "$M1"), want $s1"
"$LOOPCTL" --server "$M1" verify --vkey "$VKEY" "$((s1 - 1))" >/dev/null || fail "diverged mirror verify"
"$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" "${FROM_TLS[@]}" --vkey "$VKEY" --data "$T/m3" \
    >>"$T/m3.log" 2>&1 || fail "a fresh mirror of the fork alone: $(cat "$T/m3.log")"
kill -KILL "$OTHER"
wait "$OTHER" 2>/dev/null || true
# Unknown key: another ledger, same origin, its own note key.
"$LOOPLEDGERD" serve --data "$T/alien" --listen "$PRIMARY" "${TLS[@]}" --origin e2e.test/ledger \
    --admin-pub "$T/admin.key.pub" --admin-id admin >>"$T/other.log" 2>&1 &
OTHER=$!
PIDS+=($OTHER)
for _ in $(seq 1 200); do lc health >/dev/null 2>&1 && break; sleep 0.05; done
lc append --key "$T/admin.key" "$T/reg.json" >/dev/null || fail "registering the mirror on the alien ledger"
out=$("$LOOPLEDGERD" mirror --once --from "grpc://$PRIMARY" "${FROM_TLS[@]}" --vkey "$VKEY" \
    --data "$T/m4" 2>&1) && fail "a checkpoint signed by an unknown key was accepted"
grep -q "DIVERGED" <<<"$out" || fail "unknown key: $out"
grep -q "does not verify with the pinned key" "$T/m4/mirror/evidence" || fail "unknown-key evidence"
echo "PASS mirror over gRPC: mTLS, identical answers, rewind/fork/unknown key detected, refusals"
