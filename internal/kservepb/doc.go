// Package kservepb holds the KServe v2 / Triton protocol messages and gRPC
// stubs (inference.GRPCInferenceService, the inference.ModelConfig schema of
// config.pbtxt, grpc.health.v1.Health), generated from the .proto files
// beside this one. Regenerate with scripts/gen-kserve.sh (or go generate).
//
// It registers grpc.health.v1 messages itself, so a binary that links it
// must not also link google.golang.org/grpc/health/grpc_health_v1.
package kservepb

//go:generate bash ../../scripts/gen-kserve.sh
