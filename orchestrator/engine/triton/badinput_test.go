package triton_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "pz/internal/kservepb"
)

// Bad requests get protocol errors with a message, never a crash.
func TestBadInputHTTP(t *testing.T) {
	f := newFixture(t, "")
	ids := `{"name":"input_ids","shape":[1,2],"datatype":"INT32","data":[1,2]}`
	cases := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"malformed JSON", "/v2/models/pz/infer", `{"inputs":[`, 400, "request JSON"},
		{"unknown model", "/v2/models/nope/infer", `{"inputs":[` + ids + `]}`, 404, "unknown model"},
		{"unknown version", "/v2/models/pz/versions/7/infer", `{"inputs":[` + ids + `]}`, 404, "is not available"},
		{"wrong tensor name", "/v2/models/pz/infer", `{"inputs":[{"name":"ids","shape":[1],"datatype":"INT32","data":[1]}]}`, 400, "needs input"},
		{"wrong dtype", "/v2/models/pz/infer", `{"inputs":[{"name":"input_ids","shape":[1],"datatype":"FP32","data":[1]}]}`, 400, "want INT32 or INT64"},
		{"wrong shape", "/v2/models/pz/infer", `{"inputs":[{"name":"input_ids","shape":[2,1],"datatype":"INT32","data":[1,2]}]}`, 400, "one prompt per request"},
		{"token out of vocabulary", "/v2/models/pz/infer", `{"inputs":[{"name":"input_ids","shape":[1],"datatype":"INT32","data":[999]}]}`, 400, "outside the vocabulary"},
		{"bad parameter", "/v2/models/pz/infer", `{"parameters":{"max_tokens":0},"inputs":[` + ids + `]}`, 400, "max_tokens"},
		{"bad temperature", "/v2/models/pz/infer", `{"parameters":{"temperature":-1},"inputs":[` + ids + `]}`, 400, "temperature"},
		{"unknown output", "/v2/models/pz/infer", `{"inputs":[` + ids + `],"outputs":[{"name":"logits"}]}`, 400, "has no output"},
		{"score targets", "/v2/models/pz_score/infer", `{"inputs":[{"name":"input_ids","shape":[1,2],"datatype":"INT64","data":[1,2]},
			{"name":"attention_mask","shape":[1,2],"datatype":"INT64","data":[1,1]},{"name":"target_ids","shape":[1,2],"datatype":"INT64","data":[3,4]}]}`, 400, "own next tokens"},
		{"oversized", "/v2/models/pz/infer", `{"inputs":[` + ids + `],"id":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "exceeds"},
		{"generate n", "/v2/models/pz/generate", `{"input_ids":[1,2],"parameters":{"n":2}}`, 400, "one completion"},
		{"generate unknown field", "/v2/models/pz/generate", `{"input_idz":[1,2]}`, 400, "unknown field"},
		{"deadline", "/v2/models/pz/infer", `{"parameters":{"timeout":1,"max_tokens":64},"inputs":[` + ids + `]}`, 504, "deadline"},
	}
	for _, c := range cases {
		resp, err := http.Post(f.http+c.path, "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, resp.StatusCode, b.String(), c.status, c.want)
		}
	}
}

func TestBadInputGRPC(t *testing.T) {
	f := newFixture(t, "")
	conn, err := grpc.NewClient(strings.TrimPrefix(f.grpc, "grpc://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewGRPCInferenceServiceClient(conn)
	ctx := context.Background()
	cases := []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		want string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "nope"}, codes.NotFound, "unknown model"},
		{"raw count", &pb.ModelInferRequest{ModelName: "pz", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input_ids", Datatype: "INT32", Shape: []int64{1}}},
			RawInputContents: [][]byte{{1}, {2}}}, codes.InvalidArgument, "raw_input_contents"},
		{"raw size", &pb.ModelInferRequest{ModelName: "pz", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input_ids", Datatype: "INT32", Shape: []int64{2}}},
			RawInputContents: [][]byte{{1, 0, 0, 0}}}, codes.InvalidArgument, "needs 8 bytes"},
		{"typed", &pb.ModelInferRequest{ModelName: "pz", Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input_ids", Datatype: "INT32", Shape: []int64{2},
			Contents: &pb.InferTensorContents{IntContents: []int32{1}}}}}, codes.InvalidArgument, "needs 2 elements"},
	}
	for _, k := range cases {
		_, err := c.ModelInfer(ctx, k.req)
		if status.Code(err) != k.code || !strings.Contains(err.Error(), k.want) {
			t.Errorf("%s: %v, want %s with %q", k.name, err, k.code, k.want)
		}
	}
	// Typed contents (not raw) are served as well.
	resp, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "pz", Parameters: map[string]*pb.InferParameter{
		"max_tokens": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 3}}, "temperature": {ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: 0}}},
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input_ids", Datatype: "INT32", Shape: []int64{1, 2}, Contents: &pb.InferTensorContents{IntContents: []int32{4, 5}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Outputs) != 5 || resp.ModelVersion != "1" {
		t.Fatalf("%v", resp)
	}
	// Malformed protobuf bytes: the gRPC layer refuses them.
	var out pb.ModelInferResponse
	err = conn.Invoke(ctx, "/inference.GRPCInferenceService/ModelInfer", rawBytes{0xff, 0xff, 0xff}, &out, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.Internal && status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed protobuf: %v", err)
	}
}
