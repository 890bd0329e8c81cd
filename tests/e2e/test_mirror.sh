#!/usr/bin/env bash
# Verifying mirrors: a primary under concurrent appends publishes tiles;
# one mirror follows them through nginx (HTTP), another straight from the
# directory, a third follows the primary's gRPC Watch (e2e_mirror_grpc
# covers that transport over mTLS and its divergences). After kill -9 of
# the primary all three answer LoopService, RoadmapService and LedgerService reads
# exactly as the primary last did, serve the primary's signed checkpoint
# (verified by loopctl with the pinned key) and refuse Append naming the
# primary. A forged fork (a copy of the primary, same origin and keys,
# grown differently), a rewind and an unknown signing key are detected:
# `mirror --once` exits 1 and writes the evidence, and the diverged mirror
# keeps serving what it verified. Promotion refuses a mirror behind the
# last signed checkpoint it saw unless forced; a promoted mirror with the
# primary's keys serves appends, and clients' remembered checkpoints stay
# consistent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOADGEN=$LL_BIN/clients/ll-loadgen
lc() { "$LOOPCTL" "$@"; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -KILL $p 2>/dev/null || true; done; stop_nginx; e2e_cleanup' EXIT

start_server --tiles "$T/tiles"
PRIMARY=$SERVER
start_nginx "$T/tiles"
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" >"$T/demo.log" 2>&1 || fail "demo: $(cat "$T/demo.log")"

# start_mirror NAME FROM [args]: serves a mirror; sets PORT_<NAME>.
start_mirror() {
    local name=$1 from=$2
    shift 2
    rm -f "$T/$name.port"
    "$LOOPLEDGERD" mirror --from "$from" --vkey "$VKEY" --data "$T/$name" --listen 127.0.0.1:0 \
        --port-file "$T/$name.port" --plaintext --interval-ms 50 "$@" >>"$T/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$name=$!"
    for _ in $(seq 1 200); do [[ -s $T/$name.port ]] && break; sleep 0.05; done
    [[ -s $T/$name.port ]] || fail "mirror $name did not start: $(cat "$T/$name.log")"
    eval "M_$name=127.0.0.1:$(cat "$T/$name.port")"
}
msize() { lc --server "$1" --json checkpoint 2>/dev/null | json tree_size 2>/dev/null || echo 0; }
wait_size() { # wait_size SERVER SIZE
    for _ in $(seq 1 600); do
        [[ $(msize "$1") == "$2" ]] && return 0
        sleep 0.05
    done
    fail "$1 did not reach size $2 (at $(msize "$1"))"
}

start_mirror http "$TILES_URL"
start_mirror dir "$T/tiles"
start_mirror grpc "grpc://$PRIMARY"
# Concurrent appends while both follow.
"$LOADGEN" --server "$PRIMARY" append --key "$T/admin.key" --author admin --count 2000 \
    --concurrency 16 >/dev/null &
lg=$!
for i in $(seq 1 20); do
    lc append --key "$T/admin.key" --author admin --initiative reco-engine --note "note $i" >/dev/null
done
wait "$lg" || fail "loadgen"
size=$(lc --json checkpoint | json tree_size)
wait_size "$M_http" "$size"
wait_size "$M_dir" "$size"
wait_size "$M_grpc" "$size"

# The primary's last answers, then kill -9.
queries() { # queries SERVER OUTDIR
    local s=$1 d=$2 rp
    mkdir -p "$d"
    rp=$(awk '$1 == "roadmap_project" {print $2}' "$T/seqs")
    lc --server "$s" --json state reco-engine >"$d/state.json"
    lc --server "$s" --json lineage "$rp" --back 5 --forward 0 >"$d/lineage.json"
    lc --server "$s" --json open-loops >"$d/open.json"
    lc --server "$s" --json roadmap >"$d/roadmap.json"
    lc --server "$s" --json list --initiative reco-engine >"$d/list.json"
    lc --server "$s" --json get 7 >"$d/get7.json"
    lc --server "$s" --json prove 7 --size "$size" >"$d/prove7.json"
    lc --server "$s" checkpoint --size "$size" >"$d/cp.note"
}
queries "$PRIMARY" "$T/q.primary" || fail "queries on the primary"
kill9_server
for m in http dir grpc; do
    eval "ms=\$M_$m"
    queries "$ms" "$T/q.$m" || fail "queries on mirror $m"
    for f in "$T"/q.primary/*; do
        cmp -s "$f" "$T/q.$m/$(basename "$f")" || fail "mirror $m answers $(basename "$f") differently"
    done
    lc --server "$ms" verify --vkey "$VKEY" 0 5 "$((size - 1))" >/dev/null ||
        fail "mirror $m: checkpoint/proofs do not verify with the primary's key"
    out=$(lc --server "$ms" append --key "$T/admin.key" --author admin --note x 2>&1) &&
        fail "mirror $m accepted an append"
    grep -q FAILED_PRECONDITION <<<"$out" && grep -q "mirror of" <<<"$out" ||
        fail "mirror $m refusal: $out"
done
# Watch on a mirror streams the replicated entries.
lc --server "$M_dir" --json watch --from $((size - 2)) --count 2 >"$T/watch.json" ||
    fail "Watch on a mirror"
[[ $(wc -l <"$T/watch.json") -ge 2 ]] || fail "Watch on a mirror returned too little"
echo "mirrors: $size entries, LoopService/Roadmap/Ledger answers identical after kill -9"

# ---- divergence ----
# Restart the primary; fork a copy of it, same origin and keys.
start_server --tiles "$T/tiles"
PRIMARY=$SERVER
"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/forkdata" >/dev/null
s0=$(lc --json checkpoint | json tree_size)
"$LOOPLEDGERD" mirror --once --from "$T/tiles" --vkey "$VKEY" --data "$T/m3" >>"$T/m3.log" 2>&1 ||
    fail "mirror --once on an honest primary: $(cat "$T/m3.log")"
for i in 1 2 3; do lc append --key "$T/admin.key" --author admin --note "real $i" >/dev/null; done
s1=$(lc --json checkpoint | json tree_size)
for _ in $(seq 1 200); do [[ $(sed -n 2p "$T/tiles/checkpoint") == "$s1" ]] && break; sleep 0.05; done
"$LOOPLEDGERD" mirror --once --from "$T/tiles" --vkey "$VKEY" --data "$T/m3" >>"$T/m3.log" 2>&1 ||
    fail "mirror --once catching up"
"$LOOPLEDGERD" serve --data "$T/forkdata" --listen 127.0.0.1:0 --port-file "$T/fork.port" \
    --plaintext --tiles "$T/forktiles" >"$T/fork.log" 2>&1 &
PIDS+=($!)
fpid=$!
for _ in $(seq 1 200); do [[ -s $T/fork.port ]] && break; sleep 0.05; done
FORK=127.0.0.1:$(cat "$T/fork.port")
for i in 1 2 3 4 5; do
    lc --server "$FORK" append --key "$T/admin.key" --author admin --note "forged $i" >/dev/null
done
fs=$(lc --server "$FORK" --json checkpoint | json tree_size)
for _ in $(seq 1 200); do [[ $(sed -n 2p "$T/forktiles/checkpoint" 2>/dev/null) == "$fs" ]] && break; sleep 0.05; done
((fs > s1)) || fail "fork not ahead"
if "$LOOPLEDGERD" mirror --once --from "$T/forktiles" --vkey "$VKEY" --data "$T/m3" >>"$T/m3.log" 2>&1; then
    fail "mirror --once accepted a forked history"
fi
[[ $? == 1 ]] || true
grep -q "^why: fork" "$T/m3/mirror/evidence" || fail "fork evidence: $(cat "$T/m3/mirror/evidence")"
[[ $(grep -c "^e2e.test/ledger$" "$T/m3/mirror/evidence") == 2 ]] || fail "evidence lacks both checkpoints"
grep -q "STOPPED FOLLOWING" "$T/m3.log" || fail "divergence not logged"
# Still serving what it verified (s1 entries, the primary's checkpoint), not following.
start_mirror m3 "$T/tiles"
[[ $(msize "$M_m3") == "$s1" ]] || fail "diverged mirror serves $(msize "$M_m3"), want $s1"
lc --server "$M_m3" verify --vkey "$VKEY" "$((s1 - 1))" >/dev/null || fail "diverged mirror verify"
kill -KILL "$PID_m3"
# A rewind (the fork's tiles, smaller than what a mirror verified) and an
# unknown key (another ledger's checkpoint under this origin).
"$LOOPLEDGERD" mirror --once --from "$T/tiles" --vkey "$VKEY" --data "$T/m4" >>"$T/m4.log" 2>&1 || fail "m4"
for i in $(seq 1 8); do lc append --key "$T/admin.key" --author admin --note "more $i" >/dev/null; done
s2=$(lc --json checkpoint | json tree_size)
for _ in $(seq 1 200); do [[ $(sed -n 2p "$T/tiles/checkpoint") == "$s2" ]] && break; sleep 0.05; done
"$LOOPLEDGERD" mirror --once --from "$T/tiles" --vkey "$VKEY" --data "$T/m4" >>"$T/m4.log" 2>&1 || fail "m4 catch up"
"$LOOPLEDGERD" mirror --once --from "$T/forktiles" --vkey "$VKEY" --data "$T/m4" >>"$T/m4.log" 2>&1 &&
    fail "rewind accepted"
grep -q "^why: rewind" "$T/m4/mirror/evidence" || fail "rewind evidence: $(cat "$T/m4/mirror/evidence")"
mkdir -p "$T/alien"
cp -r "$T/forktiles/." "$T/alien/"
"$LOOPLEDGERD" serve --data "$T/alienledger" --listen 127.0.0.1:0 --plaintext --origin e2e.test/ledger \
    --admin-pub "$T/admin.key.pub" --tiles "$T/alientiles" --port-file "$T/alien.port" >"$T/alien.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do [[ -s $T/alientiles/checkpoint ]] && break; sleep 0.05; done
"$LOOPLEDGERD" mirror --once --from "$T/alientiles" --vkey "$VKEY" --data "$T/m5" >>"$T/m5.log" 2>&1 &&
    fail "a checkpoint signed by an unknown key was accepted"
grep -q "does not verify with the pinned key" "$T/m5/mirror/evidence" || fail "unknown-key evidence"

# ---- promotion ----
# m4 holds s2 entries and saw s2: promotable. m3 saw the fork's larger
# checkpoint... but rejected it before recording? It recorded the signed
# checkpoint it saw (same key!): behind, so refused unless forced.
kill -TERM "$fpid" 2>/dev/null || true
lc checkpoint >"$T/pinned.note"
lc verify --vkey "$VKEY" --state "$T/client.state" >/dev/null || fail "client pins a checkpoint"
if "$LOOPLEDGERD" promote --data "$T/m3" >"$T/p3.log" 2>&1; then fail "promoted a mirror behind its last seen checkpoint"; fi
grep -q "REFUSED" "$T/p3.log" || fail "promotion refusal unexplained: $(cat "$T/p3.log")"
kill9_server
"$LOOPLEDGERD" promote --data "$T/m4" --note-key "$T/ledger/note.key" --actor-key "$T/ledger/actor.key" \
    >"$T/p4.log" 2>&1 || fail "promote m4: $(cat "$T/p4.log")"
"$LOOPLEDGERD" serve --data "$T/m4" --listen 127.0.0.1:0 --plaintext --port-file "$T/m4.port" \
    >"$T/m4serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do [[ -s $T/m4.port ]] && break; sleep 0.05; done
NEWP=127.0.0.1:$(cat "$T/m4.port")
lc --server "$NEWP" append --key "$T/admin.key" --author admin --note "after promotion" >/dev/null ||
    fail "promoted mirror refuses appends: $(tail -5 "$T/m4serve.log")"
# The old client's remembered checkpoint is consistent with the new primary.
lc --server "$NEWP" verify --vkey "$VKEY" --state "$T/client.state" "$s2" >/dev/null ||
    fail "old client's pinned checkpoint is not consistent with the promoted primary"
echo "PASS mirror: identical answers after kill -9, fork/rewind/unknown key detected, promotion"
