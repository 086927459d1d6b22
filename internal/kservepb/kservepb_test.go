package kservepb

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// A config.pbtxt in the style of Triton's documentation parses into the
// fields of the same names.
func TestConfigTextFormat(t *testing.T) {
	const pbtxt = `
name: "qwen3_decode"
backend: "onnxruntime"
max_batch_size: 8
input [ { name: "input_ids" data_type: TYPE_INT64 dims: [ -1 ] } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 32000 ] } ]
version_policy: { latest: { num_versions: 1 } }
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
instance_group [ { count: 2 kind: KIND_GPU gpus: [ 0 ] } ]
parameters { key: "pz_version" value: { string_value: "3" } }
`
	var c ModelConfig
	if err := prototext.Unmarshal([]byte(pbtxt), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "qwen3_decode" || c.Backend != "onnxruntime" || c.MaxBatchSize != 8 {
		t.Fatalf("header: %v", &c)
	}
	if in := c.Input[0]; in.Name != "input_ids" || in.DataType != DataType_TYPE_INT64 || len(in.Dims) != 1 || in.Dims[0] != -1 {
		t.Fatalf("input: %v", in)
	}
	if c.GetVersionPolicy().GetLatest().GetNumVersions() != 1 {
		t.Fatal("version policy")
	}
	if db := c.GetDynamicBatching(); db == nil || db.MaxQueueDelayMicroseconds != 100 || len(db.PreferredBatchSize) != 2 {
		t.Fatalf("dynamic batching: %v", db)
	}
	if g := c.InstanceGroup[0]; g.Kind != ModelInstanceGroup_KIND_GPU || g.Count != 2 {
		t.Fatalf("instance group: %v", g)
	}
	if c.Parameters["pz_version"].GetStringValue() != "3" {
		t.Fatal("parameters")
	}
	if err := prototext.Unmarshal([]byte(`name: "x" no_such_field: 1`), &c); err == nil {
		t.Fatal("an unknown field parsed")
	}
}

// Field numbers are the specification's: hand-encoded wire bytes.
func TestInferRequestWire(t *testing.T) {
	cases := []struct {
		name string
		msg  proto.Message
		want []byte
	}{
		// model_name = 1 (tag 0x0a), model_version = 2 (0x12).
		{"names", &ModelInferRequest{ModelName: "m", ModelVersion: "2"}, []byte{0x0a, 1, 'm', 0x12, 1, '2'}},
		// raw_input_contents = 7 (tag 0x3a).
		{"raw", &ModelInferRequest{RawInputContents: [][]byte{{1, 2}}}, []byte{0x3a, 2, 1, 2}},
		// inputs = 5 (0x2a) holding name = 1, datatype = 2, shape = 3 packed (0x1a).
		{"input", &ModelInferRequest{Inputs: []*ModelInferRequest_InferInputTensor{{Name: "a", Datatype: "INT32", Shape: []int64{2}}}},
			[]byte{0x2a, 13, 0x0a, 1, 'a', 0x12, 5, 'I', 'N', 'T', '3', '2', 0x1a, 1, 2}},
		// raw_output_contents = 6 (tag 0x32).
		{"response raw", &ModelInferResponse{RawOutputContents: [][]byte{{9}}}, []byte{0x32, 1, 9}},
		// RepositoryModelLoadRequest.model_name = 2.
		{"load", &RepositoryModelLoadRequest{ModelName: "m"}, []byte{0x12, 1, 'm'}},
		// HealthCheckResponse.status = 1, SERVING = 1.
		{"health", &HealthCheckResponse{Status: HealthCheckResponse_SERVING}, []byte{0x08, 1}},
	}
	for _, c := range cases {
		got, err := proto.MarshalOptions{Deterministic: true}.Marshal(c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: % x, want % x", c.name, got, c.want)
		}
	}
}
