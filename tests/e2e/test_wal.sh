#!/usr/bin/env bash
# The write-ahead log (issue 17). An append is answered once its leaf is
# synced in DIR/wal/; LMDB is synced in the background. With that sync held
# off (--sync-interval 3600000) a kill -9 leaves every acknowledged entry
# only in the log, so:
#  1. a second server on the same directory is refused while one serves;
#  2. the restart rolls data.mdb back to its synced state (here: at most
#     the genesis) and replays the log: every acknowledged entry is back byte
#     for byte, the offline audit passes, and Go's tlog verifier proves the
#     new checkpoint consistent with the one signed before the kill;
#  3. a leaf altered inside the log, its frame re-sealed so that only the
#     envelope's signature can tell (walframes.py, an independent reader of
#     the documented layout), is not replayed: appends are refused with the
#     reason and no checkpoint is signed for the shorter tree; reads serve;
#  4. a frame damaged in the middle of the log, acknowledged frames after
#     it, stops the start with a message naming the file and offset; the
#     data directory is left as it was;
#  5. the log moved to another directory (the README's "log on its own
#     device": stop, move DIR/wal, leave a symbolic link) works through
#     the link: appends, a kill -9, the replay from there, an online
#     backup (whose own wal/ is a real directory) and the offline audit.
source "$(dirname "$0")/lib.sh"
GOVERIFY=${GOVERIFY:-$LL_BIN/tests/e2e/goverify}
WALPY="$(dirname "$0")/walframes.py"
lc() { "$LOOPCTL" "$@"; }

start_server --sync-interval 3600000
pids=()
for w in 1 2 3 4; do
    (for i in $(seq 1 12); do
        out=$(lc --json append --key "$T/admin.key" --author admin --note "writer$w entry$i") ||
            fail "append w$w $i"
        [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] || fail "append output: $out"
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks.$w"
    done) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a writer failed"; done
cat "$T"/acks.* >"$T/acks"
lc checkpoint >"$T/before.note"
old=$(sed -n 2p "$T/before.note")

# 1. One server per directory.
if out=$("$LOOPLEDGERD" serve --data "$T/ledger" --listen 127.0.0.1:0 --plaintext 2>&1); then
    fail "a second server on the same directory started"
fi
grep -q "another loopledgerd serves" <<<"$out" || fail "second server: $out"

kill9_server
python3 "$WALPY" list "$T/ledger/wal" >"$T/frames"
[[ -s $T/frames ]] || fail "no frames in the write-ahead log"
cp -a "$T/ledger" "$T/copy-tamper"
cp -a "$T/ledger" "$T/copy-damage"

# 2. Roll back, replay, everything acknowledged is there.
start_server --sync-interval 3600000
synced=$(sed -n 's/.*rolled data.mdb back to its last synced state (\([0-9]*\) entries.*/\1/p' "$T/server.log")
[[ -n $synced ]] || fail "no roll-back logged"
# The syncer's first round may catch the genesis; nothing after it.
((synced <= 1)) || fail "LMDB was synced at $synced entries with the sync held off"
grep -q "write-ahead log: $((old - synced)) acknowledged entries (#$synced..#$((old - 1))) past the synced state, replayed and verified" \
    "$T/server.log" || fail "replay not logged for entries $synced..$((old - 1))"
lc checkpoint >"$T/after.note"
new=$(sed -n 2p "$T/after.note")
((new == old)) || fail "size $old before the kill, $new after"
check_acked "$T/acks" || fail "acknowledged entries differ"
lc --json prove --consistency "$old" "$new" >"$T/cons.json"
"$GOVERIFY" -vkey "$VKEY" -checkpoint "$T/after.note" -old "$T/before.note" \
    -consistency "$T/cons.json" >/dev/null || fail "Go: after the replay, inconsistent with before"
lc append --key "$T/admin.key" --author admin --note "after the replay" >/dev/null ||
    fail "append after the replay"
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/ledger") || fail "offline audit after the replay: $out"
echo "replay: $(wc -l <"$T/acks") acknowledged entries only in the log, all back, audit OK"

# 3. A re-sealed, altered leaf: its signature refuses it.
python3 "$WALPY" reseal "$T/copy-tamper/wal" "writer3 entry7" "writer3 entry8" >/dev/null ||
    fail "could not find the leaf to alter"
mv "$T/ledger" "$T/ledger-good"
mv "$T/copy-tamper" "$T/ledger"
start_server --sync-interval 3600000
expect_status DATA_LOSS lc append --key "$T/admin.key" --author admin --note "on a bad log"
out=$(lc append --key "$T/admin.key" --author admin --note "on a bad log" 2>&1) || true
grep -q "write-ahead log does not replay" <<<"$out" || fail "refusal does not say why: $out"
lc get 0 >/dev/null || fail "reads stopped"
# Nor does it sign a tree shorter than one it signed before the kill.
expect_status DATA_LOSS lc checkpoint
kill9_server
echo "altered leaf in the log: not replayed, appends refused ($(cut -c1-120 <<<"$out")...)"

# 4. Damage before acknowledged frames: the start stops, nothing changes.
nframes=$(wc -l <"$T/frames")
((nframes >= 3)) || fail "only $nframes frames"
python3 "$WALPY" damage "$T/copy-damage/wal" 1 >/dev/null || fail "could not damage frame 1"
sum_before=$(cat "$T/copy-damage/data.mdb" | sha256sum)
if out=$("$LOOPLEDGERD" serve --data "$T/copy-damage" --listen 127.0.0.1:0 --plaintext 2>&1); then
    fail "served a damaged write-ahead log"
fi
grep -q "is damaged at offset" <<<"$out" || fail "damage not named: $out"
[[ $(cat "$T/copy-damage/data.mdb" | sha256sum) == "$sum_before" ]] ||
    fail "data.mdb changed although the start was refused"
echo "damaged frame before acknowledged ones: start refused ($(grep -o 'write-ahead log [^:]*is damaged at offset [0-9]*' <<<"$out"))"

# 5. The log on its own device, reached through a symbolic link.
rm -rf "$T/ledger"
mv "$T/ledger-good" "$T/ledger"
mkdir "$T/logdev"
mv "$T/ledger/wal" "$T/logdev/wal"
ln -s "$T/logdev/wal" "$T/ledger/wal"
start_server --sync-interval 3600000
for i in $(seq 1 10); do
    out=$(lc --json append --key "$T/admin.key" --author admin --note "linked log entry$i") ||
        fail "append $i with the log behind a link"
    [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] || fail "append output: $out"
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks.linked"
done
kill9_server
frames=$(python3 "$WALPY" list "$T/logdev/wal" | wc -l)
((frames >= 10)) || fail "only $frames frames in the linked log"
replays=$(grep -c "replayed and verified before serving" "$T/server.log")
start_server --sync-interval 3600000
(($(grep -c "replayed and verified before serving" "$T/server.log") == replays + 1)) ||
    fail "no replay from the linked log"
check_acked "$T/acks.linked" || fail "acknowledged entries lost with the log behind a link"
[[ -L $T/ledger/wal ]] || fail "the link to the log was replaced by the server"
"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/linked-backup" >/dev/null ||
    fail "online backup with the log behind a link"
[[ -d $T/linked-backup/wal && ! -L $T/linked-backup/wal ]] ||
    fail "the backup's log is not a directory of its own"
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/ledger") || fail "audit with the log behind a link: $out"
out=$("$LOOPLEDGERD" verify --data "$T/linked-backup") || fail "audit of the backup: $out"
echo "log behind a link: $frames frames there, replayed after kill -9, backup and audits OK"
echo "e2e wal: ok"
