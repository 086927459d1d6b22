#!/usr/bin/env bash
# Regenerates the Go code of the KServe v2 / Triton protocol
# (internal/kservepb) from its .proto files.
# Needs protoc (Debian protobuf-compiler) and, from the Go module proxy,
# protoc-gen-go and protoc-gen-go-grpc at the versions below.
set -euo pipefail
cd "$(dirname "$0")/.."
GOBIN="${GOBIN:-$(go env GOPATH)/bin}"
if [ ! -x "$GOBIN/protoc-gen-go" ]; then go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12; fi
if [ ! -x "$GOBIN/protoc-gen-go-grpc" ]; then go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1; fi
command -v protoc >/dev/null || { echo "gen-kserve: protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }
dir=internal/kservepb
PATH="$GOBIN:$PATH" protoc -I "$dir" \
  --go_out="$dir" --go_opt=paths=source_relative \
  --go-grpc_out="$dir" --go-grpc_opt=paths=source_relative \
  "$dir"/health.proto "$dir"/model_config.proto "$dir"/grpc_service.proto
gofmt -l "$dir" >/dev/null
