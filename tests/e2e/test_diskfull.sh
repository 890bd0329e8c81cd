#!/usr/bin/env bash
# A real full disk (issue 18 item 4): the ledger lives on a small tmpfs made
# by this test, in a private mount namespace (so it disappears with the
# test, whatever happens), filled up by a filler file while four writers
# append 60 kB entries. Every refusal must be RESOURCE_EXHAUSTED and say
# the disk is full (LMDB reports a short write as EIO, which used to come
# back INTERNAL); nothing partial is written; reads go on; once the filler
# is removed appends succeed again and every acknowledged entry is there.
if [[ -z ${LL_IN_NS:-} ]]; then
    # Private mount namespace: root uses it directly, others map to root.
    ns=(unshare --mount --propagation private)
    [[ $(id -u) == 0 ]] || ns=(unshare --user --map-root-user --mount --propagation private)
    exec env LL_IN_NS=1 "${ns[@]}" bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
lc() { "$LOOPCTL" "$@"; }
FS=$T/fs
mkdir -p "$FS"
mount -t tmpfs -o size=24m,mode=0700 tmpfs "$FS" || fail "cannot mount a tmpfs (needs root or user namespaces)"
trap 'umount "$FS" 2>/dev/null; e2e_cleanup' EXIT
HUGE=$(head -c 60000 /dev/zero | tr '\0' 'z')

start_data() { # like start_server, on the small file system
    [[ -f $T/admin.key ]] || "$LOOPCTL" keygen "$T/admin.key" >/dev/null
    rm -f "$T/port"
    "$LOOPLEDGERD" serve --data "$FS/ledger" --listen 127.0.0.1:0 --port-file "$T/port" \
        --admin-pub "$T/admin.key.pub" --admin-id admin --origin e2e.test/disk --plaintext \
        --map-size 64M >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do [[ -s $T/port ]] && break; sleep 0.05; done
    [[ -s $T/port ]] || fail "server did not start"
    export LOOPLEDGER_SERVER=127.0.0.1:$(cat "$T/port")
}
size() { lc checkpoint | sed -n 2p; }

writer() { # writer ID ROUND: appends until refused; records acks, then the refusal
    local id=$1 round=$2 n=0 out
    while out=$(lc --timeout 20000 --json append --key "$T/admin.key" --author admin \
        --initiative disk --note "r$round w$id n$n $HUGE" 2>&1); do
        [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] || fail "append output: $out"
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks"
        n=$((n + 1))
        ((n < 400)) || fail "the disk never filled"
    done
    echo "$out" >"$T/refusal.$round.$id"
}

start_data
lc append --key "$T/admin.key" --author admin --initiative disk --note first >/dev/null || fail "first append"
# Leave ~1.5 MB: the writers fill it within a few dozen appends.
avail=$(df --output=avail -B1 "$FS" | tail -1)
fallocate -l $((avail - 1500000)) "$FS/filler" 2>/dev/null ||
    dd if=/dev/zero of="$FS/filler" bs=1M count=$(((avail - 1500000) >> 20)) status=none

refusals=0 internal=0
for round in 1 2 3; do
    pids=()
    for w in 1 2 3 4; do writer "$w" "$round" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p"; done
    for w in 1 2 3 4; do
        r=$(cat "$T/refusal.$round.$w")
        refusals=$((refusals + 1))
        if ! grep -q RESOURCE_EXHAUSTED <<<"$r" || ! grep -qi "disk full" <<<"$r"; then
            internal=$((internal + 1))
            echo "round $round writer $w: $r" >>"$T/bad"
        fi
    done
    # A single append may still fit where a batch did not: go on until one
    # is refused, and check that the refusal wrote nothing.
    for _ in $(seq 1 50); do
        s1=$(size)
        out=$(lc append --key "$T/admin.key" --author admin --initiative disk --note "more $HUGE" 2>&1) ||
            break
    done
    grep -q RESOURCE_EXHAUSTED <<<"$out" && grep -qi "disk full" <<<"$out" || fail "probe refusal: ${out:0:300}"
    [[ $(size) == "$s1" ]] || fail "the tree moved after a refusal"
    lc get 0 >/dev/null || fail "reads stopped on a full disk"
    lc prove 1 >/dev/null || fail "proofs stopped on a full disk"
    # Free a little and fill again: the server recovers by itself each time.
    truncate -s -1200000 "$FS/filler"
done
echo "full disk: $refusals refusals, $((refusals - internal)) RESOURCE_EXHAUSTED with 'disk full', $internal other"
[[ $internal == 0 ]] || fail "refusals that are not RESOURCE_EXHAUSTED/disk full: $(head -c 600 "$T/bad")"

# Recovery once space is freed: appends succeed and nothing acknowledged is lost.
rm -f "$FS/filler"
for i in 1 2 3; do
    lc --json append --key "$T/admin.key" --author admin --initiative disk --note "after $i $HUGE" >/dev/null ||
        fail "append after space was freed ($i)"
done
lc --json list | /usr/bin/python3 -c '
import json, sys
leaves = {e["seq"]: e["leaf_hash"] for e in json.load(sys.stdin)}
bad = [l for l in open(sys.argv[1]) if leaves.get(int(l.split()[0])) != l.split()[1]]
sys.exit("changed or lost: %s" % bad[:3] if bad else 0)' "$T/acks" || fail "acknowledged entries differ"
stop_server
out=$("$LOOPLEDGERD" verify --data "$FS/ledger") || fail "audit after the full disk: $out"
echo "recovered: $(wc -l <"$T/acks") acknowledged entries intact, audit clean"
