#!/usr/bin/env bash
# C2SP tlog-tiles: loopledgerd --tiles publishes the log as static files;
# Debian's nginx serves them; Go's reference tile client
# (golang.org/x/mod/sumdb/tlog TileHashReader) proves inclusion and
# consistency from tiles alone, and its proofs, the checkpoint and the
# entry bundles must equal what the gRPC API answers. Also: the 64 KiB entry
# cap, full tiles written once, restart resumes, a directory of another log
# is refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx.sh"
GOTILES=${GOTILES:-$LL_BIN/tests/e2e/gotiles}
LOADGEN=$LL_BIN/clients/ll-loadgen
lc() { "$LOOPCTL" "$@"; }
trap 'stop_nginx; e2e_cleanup' EXIT

TILES=$T/tiles
# --http serves the same /checkpoint and /tile/ (ll_http_add_static_dir).
start_server --tiles "$TILES" --http 127.0.0.1:0 --http-port-file "$T/hport"
start_nginx "$TILES"

# wait_published SIZE: the tiles checkpoint reaches SIZE.
wait_published() {
    for _ in $(seq 1 400); do
        [[ -f $TILES/checkpoint && $(sed -n 2p "$TILES/checkpoint") -ge $1 ]] && return 0
        sleep 0.05
    done
    fail "tiles checkpoint did not reach $1 (at $(sed -n 2p "$TILES/checkpoint" 2>/dev/null))"
}

lc append --key "$T/admin.key" --author admin --note first >/dev/null
"$LOADGEN" --server "$SERVER" append --key "$T/admin.key" --author admin --count 300 \
    --concurrency 8 >/dev/null || fail "loadgen"
size1=$(lc --json checkpoint | json tree_size)
wait_published "$size1"
"$GOTILES" -url "$TILES_URL" -vkey "$VKEY" -checkpoint "$T/cp1.note" >/dev/null ||
    fail "Go's tile client rejects the first tree"
[[ $(sed -n 2p "$T/cp1.note") == "$size1" ]] || fail "tiles checkpoint is not the latest size"
"$GOTILES" -url "http://127.0.0.1:$(cat "$T/hport")/" -vkey "$VKEY" -checkpoint "$T/cp1h.note" \
    >/dev/null || fail "Go's tile client rejects the tiles served by loopledgerd --http"
cmp -s "$T/cp1.note" "$T/cp1h.note" || fail "--http serves another checkpoint than the tiles directory"
stat -c '%i %a' "$TILES/tile/0/000" >"$T/tile0.stat"
[[ $(cut -d' ' -f2 "$T/tile0.stat") == 644 ]] || fail "tiles must be world-readable (0644)"

# Grow past several full level-0 tiles.
"$LOADGEN" --server "$SERVER" append --key "$T/admin.key" --author admin --count 1100 \
    --concurrency 16 >/dev/null || fail "loadgen"
lc append --key "$T/admin.key" --author admin --note last >/dev/null
size2=$(lc --json checkpoint | json tree_size)
wait_published "$size2"
# The checkpoint note is byte-identical to GetCheckpoint's at that size.
lc checkpoint --size "$size2" >"$T/grpc2.note"
cmp -s "$TILES/checkpoint" "$T/grpc2.note" || fail "tiles checkpoint differs from GetCheckpoint"

lc --json prove --consistency "$size1" "$size2" >"$T/cons.json"
args=()
for s in 0 1 255 256 511 $((size1 - 1)) $((size2 - 1)); do
    lc --json get "$s" >"$T/ge$s.json"
    lc --json prove "$s" --size "$size2" >"$T/pr$s.json"
    args+=(-entry "$T/ge$s.json" -inclusion "$T/pr$s.json")
done
out=$("$GOTILES" -url "$TILES_URL" -vkey "$VKEY" -checkpoint "$T/cp2.note" -old "$T/cp1.note" \
    -consistency "$T/cons.json" "${args[@]}" -bundles 2>&1) || fail "Go's tile client: $out"
echo "$out"

# A full tile is written once: same inode after the log grew past it, and
# the partials of completed tiles are gone.
[[ $(stat -c '%i %a' "$TILES/tile/0/000") == "$(cat "$T/tile0.stat")" ]] ||
    fail "full tile 0 was rewritten"
[[ ! -e $TILES/tile/0/000.p && ! -e $TILES/tile/entries/000.p ]] ||
    fail "partials of a full tile were left behind"
w=$((size2 % 256))
[[ -f $TILES/tile/0/00$((size2 / 256)).p/$w && -f $TILES/tile/entries/00$((size2 / 256)).p/$w ]] ||
    fail "partial tile of width $w missing"
[[ -z $(find "$TILES" -name '*.tmp*') ]] || fail "temporary files left behind"

# HTTP: content types and cache headers as documented.
hdr() { curl -s -D - -o /dev/null "$TILES_URL$1" | tr -d '\r'; }
hdr checkpoint | grep -qi '^content-type: text/plain; charset=utf-8' || fail "checkpoint content type"
hdr checkpoint | grep -qi '^cache-control: no-cache' || fail "checkpoint must not be cached"
hdr tile/0/000 | grep -qi '^cache-control: public, max-age=31536000, immutable' || fail "full tile cache"
hdr tile/0/000 | grep -qi '^content-type: application/octet-stream' || fail "tile content type"
hdr "tile/1/000.p/$((size2 / 256))" | grep -qi '^cache-control: public, max-age=60' ||
    fail "partial tile cache"

# 64 KiB cap while tiles are on: refused with a clear status, nothing written.
big=$(head -c 70000 /dev/zero | tr '\0' a)
expect_status RESOURCE_EXHAUSTED lc append --key "$T/admin.key" --author admin --note "$big"
out=$(lc append --key "$T/admin.key" --author admin --note "$big" 2>&1) || true
grep -q "tlog-tiles" <<<"$out" || fail "the refusal does not say why: $out"
[[ $(lc --json checkpoint | json tree_size) == "$size2" ]] || fail "a refused entry was written"

# Restart: publishing resumes from the directory's checkpoint.
stop_server
start_server --tiles "$TILES"
lc append --key "$T/admin.key" --author admin --note "after restart" >/dev/null
size3=$(lc --json checkpoint | json tree_size)
wait_published "$size3"
"$GOTILES" -url "$TILES_URL" -vkey "$VKEY" -checkpoint "$T/cp3.note" -old "$T/cp2.note" -bundles \
    >/dev/null || fail "Go's tile client after restart"
grep -q "tiles:" "$T/server.log" && fail "publisher logged an error: $(grep tiles: "$T/server.log")"

# Another ledger may not publish into this directory.
stop_server
mkdir -p "$T/other"
if "$LOOPLEDGERD" serve --data "$T/other" --listen 127.0.0.1:0 --plaintext \
    --admin-pub "$T/admin.key.pub" --origin e2e.test/other --tiles "$TILES" >"$T/other.log" 2>&1; then
    fail "a second log published into the same tiles directory"
fi
grep -q "another --tiles" "$T/other.log" || fail "refusal does not say what to do: $(cat "$T/other.log")"
echo "PASS tiles: sizes $size1 -> $size2 -> $size3 verified by Go's tile client via nginx"
