#!/usr/bin/env bash
# Runs the two independent gRPC stacks against a pz serve gRPC address:
#   scripts/conformance/run.sh HOST:PORT [TOKEN] [MODEL] [VOCAB]
# Needs /usr/bin/python3 with python3-grpcio and python3-protobuf, protoc,
# and node with @grpc/grpc-js and @grpc/proto-loader (npm install --prefix
# $PZ_CONFORMANCE_NODE_MODULES/.. from package.json here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
protos="$here/../../internal/kservepb"
addr="$1"; token="${2:-}"; model="${3:-pz}"; vocab="${4:-1000000}"
pbdir="$(mktemp -d)"; trap 'rm -rf "$pbdir"' EXIT
protoc -I "$protos" --python_out="$pbdir" "$protos"/grpc_service.proto "$protos"/model_config.proto "$protos"/health.proto
PZ_PB_DIR="$pbdir" /usr/bin/python3 "$here/grpc_python.py" "$addr" "$token" "$model" "$vocab"
NODE_PATH="${PZ_CONFORMANCE_NODE_MODULES:-$here/node_modules}" node "$here/grpc_node.js" "$addr" "$token" "$model" "$protos"
