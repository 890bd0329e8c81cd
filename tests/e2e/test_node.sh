#!/usr/bin/env bash
# End to end with an independent gRPC implementation (@grpc/grpc-js and
# protobufjs loading our .proto files) against a real loopledgerd.
source "$(dirname "$0")/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")/node" && pwd)
[[ -d $NODE_DIR/node_modules/@grpc/grpc-js ]] ||
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    fail "npm ci failed"
start_server
ADMIN_KEY=$T/admin.key PROTO_DIR=$(cd "$(dirname "$0")/../../proto" && pwd) \
    node "$NODE_DIR/test.js" || fail "node client"
stop_server
