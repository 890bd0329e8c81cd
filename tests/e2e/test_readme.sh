#!/usr/bin/env bash
# The README's walk-throughs run as written. Every ```sh block of README.md
# (in order; a block fenced ```sh norun is a synopsis or a whole-machine
# command such as ./ops/run itself, and is skipped) runs in one bash shell,
# as a reader would paste them, in a fresh working directory whose build/
# is this build and whose ops/ is the repository's, against a server started
# by ops/serve exactly as ./ops/run starts it (own var/, free ports; the
# README reaches it through $LOOPLEDGER_SERVER and its HTTP face through
# $LOOPLEDGER_HTTP). The test fails at the
# first failing command and names its block and line.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$T/work
mkdir -p "$W"
ln -s "$LL_BIN" "$W/build"
ln -s "$ROOT/ops" "$W/ops"

LL_BIN=$LL_BIN LL_VAR=$W/var LOOPLEDGER_LISTEN=127.0.0.1:0 LOOPLEDGER_HTTP=127.0.0.1:0 \
    "$ROOT/ops/serve" >"$T/server.log" 2>&1 &
SERVE_PID=$!
readme_cleanup() {
    if [[ -s $W/var/server.pid ]]; then
        kill -TERM "$(cat "$W/var/server.pid")" 2>/dev/null || true
    fi
    wait "$SERVE_PID" 2>/dev/null || true
    e2e_cleanup
}
trap readme_cleanup EXIT
for _ in $(seq 1 600); do
    [[ -f $W/var/demo.loaded ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || fail "ops/serve exited"
    sleep 0.1
done
[[ -f $W/var/demo.loaded ]] || fail "the demo was not loaded"
export LOOPLEDGER_SERVER=127.0.0.1:$(cat "$W/var/server.port")
[[ -s $W/var/http.port ]] || fail "ops/serve did not start the HTTP face"
export LOOPLEDGER_HTTP=127.0.0.1:$(cat "$W/var/http.port")
unset LOOPLEDGER_CA LOOPLEDGER_CERT LOOPLEDGER_KEY

# Extract the blocks into one script; a trap names the failing block/line.
/usr/bin/python3 - "$ROOT/README.md" "$T/readme.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read().splitlines()
out, block, n, start = [], None, 0, 0
for i, line in enumerate(text, 1):
    if block is None:
        m = re.match(r"^```(\S*)\s*(.*)$", line)
        if m and m.group(1) == "sh" and "norun" not in m.group(2).split():
            block, start, n = [], i, n + 1
        elif m and m.group(1):
            block = False  # another fenced block: skip to its end
        continue
    if line.startswith("```"):
        if block:
            out.append(f"README_BLOCK='block {n} (README.md line {start})'")
            out.extend(block)
        block = None
        continue
    if block is not False:
        block.append(line)
assert n >= 3, "too few runnable blocks: %d" % n
open(sys.argv[2], "w").write(
    "set -eEuo pipefail\n"
    "trap 'echo \"README walk-through failed: $README_BLOCK, command: $BASH_COMMAND\" >&2' ERR\n"
    + "\n".join(out) + "\necho README-OK\n")
PY
(cd "$W" && timeout 300 bash "$T/readme.sh") >"$T/readme.out" 2>&1 ||
    fail "$(tail -n 25 "$T/readme.out")"
grep -q "^README-OK$" "$T/readme.out" || fail "the walk-through did not finish: $(tail -n 5 "$T/readme.out")"
# ops/serve printed where the console is, as ./ops/run shows it.
for _ in $(seq 1 100); do
    grep -q "console at https://$LOOPLEDGER_HTTP/console/" "$T/server.log" && break
    sleep 0.1
done
grep -q "console at https://$LOOPLEDGER_HTTP/console/" "$T/server.log" ||
    fail "ops/serve did not print the console URL: $(grep 'ops/run' "$T/server.log")"
# What the walk-through writes stays under var/ (ignored by git).
extra=$(cd "$W" && ls -A | grep -vx -e build -e ops -e var || true)
[[ -z $extra ]] || fail "the walk-through wrote outside var/: $extra"
echo "e2e readme: ok"
