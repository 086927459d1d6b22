package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// Binary forms computed by hand (little-endian; BYTES length-prefixed).
func TestRaw(t *testing.T) {
	cases := []struct {
		t    Tensor
		want []byte
	}{
		{Tensor{"a", Int32, []int64{2}, []int32{1, -1}}, []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{Tensor{"b", Int64, []int64{1}, []int64{258}}, []byte{2, 1, 0, 0, 0, 0, 0, 0}},
		{Tensor{"c", FP32, []int64{1}, []float32{1}}, []byte{0, 0, 0x80, 0x3f}},
		{Tensor{"d", Bytes, []int64{2}, [][]byte{[]byte("hi"), {}}}, []byte{2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0}},
		{Tensor{"e", Bool, []int64{2}, []bool{true, false}}, []byte{1, 0}},
	}
	for _, c := range cases {
		got, err := c.t.Raw()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: % x, want % x", c.t.Name, got, c.want)
		}
		back, err := FromRaw(c.t.Name, c.t.Datatype, c.t.Shape, got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Data, c.t.Data) {
			t.Errorf("%s: round trip %v, want %v", c.t.Name, back.Data, c.t.Data)
		}
	}
}

func sample() *InferRequest {
	return &InferRequest{Model: "m", ID: "7", Params: Params{"max_tokens": int64(4), "temperature": 0.5, "tag": "x", "seed": uint64(1<<63 + 5)},
		Inputs: []*Tensor{
			{Name: "input_ids", Datatype: Int32, Shape: []int64{1, 3}, Data: []int32{5, 6, 7}},
			{Name: "stop", Datatype: Bytes, Shape: []int64{1}, Data: [][]byte{[]byte("\n")}},
			{Name: "w", Datatype: FP32, Shape: []int64{2}, Data: []float32{0.25, -2}},
		}, Outputs: []string{"output_ids"}}
}

// JSON and binary HTTP bodies and gRPC messages carry the same request.
func TestRoundTrips(t *testing.T) {
	want := sample()
	for _, binary := range []bool{false, true} {
		body, n, err := EncodeHTTPRequest(want, binary)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeHTTPRequest("m", "", body, n)
		if err != nil {
			t.Fatalf("binary %v: %v", binary, err)
		}
		for i := range want.Inputs {
			if !reflect.DeepEqual(got.Inputs[i], want.Inputs[i]) {
				t.Errorf("binary %v: input %d %+v, want %+v", binary, i, got.Inputs[i], want.Inputs[i])
			}
		}
		if v, _ := got.Params.Int("max_tokens", 0); v != 4 {
			t.Errorf("binary %v: max_tokens %v", binary, got.Params["max_tokens"])
		}
		if v, _ := got.Params.Uint("seed", 0); v != 1<<63+5 {
			t.Errorf("binary %v: a 64-bit seed came back as %v", binary, got.Params["seed"])
		}
	}
	m, err := RequestToPB(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RequestFromPB(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gRPC: %+v, want %+v", got, want)
	}
	resp := &InferResponse{Model: "m", Version: "3", Outputs: want.Inputs}
	for _, binary := range []bool{false, true} {
		body, n, err := EncodeHTTPResponse(resp, binary)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeHTTPResponse(body, n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Outputs, resp.Outputs) || back.Version != "3" {
			t.Errorf("response binary %v: %+v", binary, back)
		}
	}
}

// A JSON body as the protocol's documentation writes it: nested data.
func TestDecodeDocumentedJSON(t *testing.T) {
	body := `{"id":"42","inputs":[{"name":"input0","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,4]]},
	{"name":"input1","shape":[3],"datatype":"BOOL","data":[true,false,true]}],"outputs":[{"name":"output0"}]}`
	r, err := DecodeHTTPRequest("m", "", []byte(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Inputs[0].Data, []int64{1, 2, 3, 4}) || !reflect.DeepEqual(r.Inputs[1].Data, []bool{true, false, true}) || r.Outputs[0] != "output0" {
		t.Fatalf("%+v", r)
	}
}

func TestBadRequests(t *testing.T) {
	const short = `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}]}`
	cases := []struct {
		name, body string
		hdr        int64
		want       string
	}{
		{"malformed", `{"inputs":[`, -1, "request JSON"},
		{"unknown field", `{"inputz":[]}`, -1, "unknown field"},
		{"shape", `{"inputs":[{"name":"a","shape":[3],"datatype":"INT32","data":[1,2]}]}`, -1, "needs 3 elements"},
		{"dtype", `{"inputs":[{"name":"a","shape":[1],"datatype":"COMPLEX","data":[1]}]}`, -1, "not supported"},
		{"type", `{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":["x"]}]}`, -1, "is not INT32"},
		{"overflow", `{"inputs":[{"name":"a","shape":[1],"datatype":"INT32","data":[4294967296]}]}`, -1, "is not INT32"},
		{"no data", `{"inputs":[{"name":"a","shape":[1],"datatype":"INT32"}]}`, -1, "neither data"},
		{"binary short", `{"inputs":[{"name":"a","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}]}` + "\x01\x00\x00\x00", int64(len(short)), "binary bytes left"},
		{"header past body", `{}`, 99, "exceeds"},
	}
	for _, c := range cases {
		_, err := DecodeHTTPRequest("m", "", []byte(c.body), c.hdr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
