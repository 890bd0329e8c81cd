#!/usr/bin/env bash
# End to end with an independent gRPC implementation (@grpc/grpc-js and
# protobufjs loading our .proto files) against a real loopledgerd.
source "$(dirname "$0")/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")/node" && pwd)
node_deps "$NODE_DIR"
start_server
ADMIN_KEY=$T/admin.key PROTO_DIR=$(cd "$(dirname "$0")/../../proto" && pwd) \
    node "$NODE_DIR/test.js" || fail "node client"
stop_server
