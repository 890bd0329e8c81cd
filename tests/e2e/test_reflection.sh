#!/usr/bin/env bash
# gRPC server reflection (grpc.reflection.v1 and v1alpha) against a real
# loopledgerd, from independent clients: grpc-reflection-js and a raw
# @grpc/grpc-js stream (node/reflection.js). Lists the services, fetches
# every file descriptor with its imports, and calls methods through the
# reflected descriptors alone.
source "$(dirname "$0")/lib.sh"
NODE_DIR=$(cd "$(dirname "$0")/node" && pwd)
node_deps "$NODE_DIR"
start_server
node "$NODE_DIR/reflection.js" || fail "reflection client"
stop_server
