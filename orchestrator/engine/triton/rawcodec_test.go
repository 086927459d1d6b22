package triton_test

import (
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// rawBytes goes on the wire as is (to send malformed protobuf).
type rawBytes []byte

type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(rawBytes))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}
