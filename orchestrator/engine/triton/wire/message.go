package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	pb "pz/internal/kservepb"
)

// HeaderContentLength is the HTTP header of the binary-tensor extension:
// the length of the JSON part of a body that binary tensors follow.
const HeaderContentLength = "Inference-Header-Content-Length"

// Params are request, response or tensor parameters: bool, int64,
// float64 or string values.
type Params map[string]any

// Int reads an integer parameter (JSON numbers arrive as float64).
func (p Params) Int(key string, def int64) (int64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %v is not an integer", key, x)
		}
		return n, nil
	case int64:
		return x, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("parameter %q: %d is too large", key, x)
		}
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("parameter %q: %v is not an integer", key, x)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %w", key, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("parameter %q: %T is not an integer", key, v)
}

// Uint reads an unsigned integer parameter (seeds use the full 64 bits).
func (p Params) Uint(key string, def uint64) (uint64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case uint64:
		return x, nil
	case json.Number:
		n, err := strconv.ParseUint(x.String(), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %v is not an unsigned integer", key, x)
		}
		return n, nil
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %w", key, err)
		}
		return n, nil
	}
	n, err := p.Int(key, 0)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("parameter %q: %d is negative", key, n)
	}
	return uint64(n), nil
}

// Float reads a number parameter.
func (p Params) Float(key string, def float64) (float64, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %v is not a number", key, x)
		}
		return f, nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("parameter %q: %w", key, err)
		}
		return f, nil
	}
	return 0, fmt.Errorf("parameter %q: %T is not a number", key, v)
}

// String reads a string parameter.
func (p Params) String(key string) (string, error) {
	v, ok := p[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("parameter %q: %T is not a string", key, v)
	}
	return s, nil
}

// InferRequest is one inference request, whichever encoding carried it.
type InferRequest struct {
	Model, Version, ID string
	Params             Params
	Inputs             []*Tensor
	// Outputs names the outputs wanted (empty: all). BinaryOutputs asks
	// the HTTP encoding to send them as binary tensors.
	Outputs       []string
	BinaryOutputs bool
}

// Input returns the named input, or nil.
func (r *InferRequest) Input(name string) *Tensor {
	for _, t := range r.Inputs {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// InferResponse is one inference response.
type InferResponse struct {
	Model, Version, ID string
	Params             Params
	Outputs            []*Tensor
}

// Output returns the named output, or nil.
func (r *InferResponse) Output(name string) *Tensor {
	for _, t := range r.Outputs {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// jsonTensor is a tensor in the HTTP/JSON encoding.
type jsonTensor struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Parameters Params          `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

type jsonOutputReq struct {
	Name       string `json:"name"`
	Parameters Params `json:"parameters,omitempty"`
}

type jsonRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters Params          `json:"parameters,omitempty"`
	Inputs     []jsonTensor    `json:"inputs"`
	Outputs    []jsonOutputReq `json:"outputs,omitempty"`
}

type jsonResponse struct {
	ModelName    string       `json:"model_name"`
	ModelVersion string       `json:"model_version,omitempty"`
	ID           string       `json:"id,omitempty"`
	Parameters   Params       `json:"parameters,omitempty"`
	Outputs      []jsonTensor `json:"outputs"`
}

// tensorsToJSON encodes tensors, binary ones appended to tail.
func tensorsToJSON(ts []*Tensor, binary bool, tail *bytes.Buffer) ([]jsonTensor, error) {
	out := make([]jsonTensor, len(ts))
	for i, t := range ts {
		if err := t.Validate(); err != nil {
			return nil, err
		}
		jt := jsonTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		if jt.Shape == nil {
			jt.Shape = []int64{}
		}
		if binary {
			raw, err := t.Raw()
			if err != nil {
				return nil, err
			}
			jt.Parameters = Params{"binary_data_size": int64(len(raw))}
			tail.Write(raw)
		} else {
			var d any = t.Data
			if s, ok := t.Data.([][]byte); ok {
				strs := make([]string, len(s))
				for j, b := range s {
					strs[j] = string(b)
				}
				d = strs
			}
			b, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			jt.Data = b
		}
		out[i] = jt
	}
	return out, nil
}

// tensorsFromJSON decodes tensors, taking binary ones from tail in order.
func tensorsFromJSON(jts []jsonTensor, tail []byte) ([]*Tensor, error) {
	out := make([]*Tensor, len(jts))
	for i, jt := range jts {
		if jt.Name == "" {
			return nil, fmt.Errorf("tensor %d has no name", i)
		}
		if jt.Shape == nil {
			return nil, fmt.Errorf("tensor %q has no shape", jt.Name)
		}
		if size, ok := jt.Parameters["binary_data_size"]; ok {
			n, err := jt.Parameters.Int("binary_data_size", 0)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tensor %q: binary_data_size %v", jt.Name, size)
			}
			if int64(len(tail)) < n {
				return nil, fmt.Errorf("tensor %q: binary_data_size %d but %d binary bytes left", jt.Name, n, len(tail))
			}
			t, err := FromRaw(jt.Name, jt.Datatype, jt.Shape, tail[:n])
			if err != nil {
				return nil, err
			}
			tail = tail[n:]
			out[i] = t
			continue
		}
		t, err := fromJSONData(jt)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	if len(tail) != 0 {
		return nil, fmt.Errorf("%d binary bytes after the last binary tensor", len(tail))
	}
	return out, nil
}

// fromJSONData decodes a tensor's JSON "data" (flat or nested arrays).
func fromJSONData(jt jsonTensor) (*Tensor, error) {
	if len(jt.Data) == 0 {
		return nil, fmt.Errorf("tensor %q has neither data nor binary_data_size", jt.Name)
	}
	var nested any
	dec := json.NewDecoder(bytes.NewReader(jt.Data))
	dec.UseNumber()
	if err := dec.Decode(&nested); err != nil {
		return nil, fmt.Errorf("tensor %q data: %w", jt.Name, err)
	}
	var flat []any
	var walk func(v any)
	walk = func(v any) {
		if a, ok := v.([]any); ok {
			for _, x := range a {
				walk(x)
			}
			return
		}
		flat = append(flat, v)
	}
	walk(nested)
	t := &Tensor{Name: jt.Name, Datatype: jt.Datatype, Shape: jt.Shape}
	bad := func(j int) error {
		return fmt.Errorf("tensor %q: element %d (%v) is not %s", jt.Name, j, flat[j], jt.Datatype)
	}
	num := func(j int) (json.Number, bool) { n, ok := flat[j].(json.Number); return n, ok }
	switch jt.Datatype {
	case Int32, Int64, UInt8, UInt64:
		i64 := make([]int64, len(flat))
		for j := range flat {
			n, ok := num(j)
			if !ok {
				return nil, bad(j)
			}
			v, err := strconv.ParseInt(n.String(), 10, 64)
			if err != nil {
				return nil, bad(j)
			}
			i64[j] = v
		}
		switch jt.Datatype {
		case Int64:
			t.Data = i64
		case Int32:
			d := make([]int32, len(i64))
			for j, v := range i64 {
				if v != int64(int32(v)) {
					return nil, bad(j)
				}
				d[j] = int32(v)
			}
			t.Data = d
		case UInt8:
			d := make([]uint8, len(i64))
			for j, v := range i64 {
				if v < 0 || v > 255 {
					return nil, bad(j)
				}
				d[j] = uint8(v)
			}
			t.Data = d
		case UInt64:
			d := make([]uint64, len(i64))
			for j, v := range i64 {
				if v < 0 {
					return nil, bad(j)
				}
				d[j] = uint64(v)
			}
			t.Data = d
		}
	case FP32, FP64:
		f64 := make([]float64, len(flat))
		for j := range flat {
			n, ok := num(j)
			if !ok {
				return nil, bad(j)
			}
			v, err := n.Float64()
			if err != nil {
				return nil, bad(j)
			}
			f64[j] = v
		}
		if jt.Datatype == FP64 {
			t.Data = f64
		} else {
			d := make([]float32, len(f64))
			for j, v := range f64 {
				d[j] = float32(v)
			}
			t.Data = d
		}
	case Bool:
		d := make([]bool, len(flat))
		for j := range flat {
			b, ok := flat[j].(bool)
			if !ok {
				return nil, bad(j)
			}
			d[j] = b
		}
		t.Data = d
	case Bytes:
		d := make([][]byte, len(flat))
		for j := range flat {
			s, ok := flat[j].(string)
			if !ok {
				return nil, bad(j)
			}
			d[j] = []byte(s)
		}
		t.Data = d
	default:
		return nil, fmt.Errorf("tensor %q: datatype %q is not supported", jt.Name, jt.Datatype)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// splitBody separates the JSON part of an HTTP body from the binary
// tensors after it (headerLen < 0: no binary part).
func splitBody(body []byte, headerLen int64) ([]byte, []byte, error) {
	if headerLen < 0 {
		return body, nil, nil
	}
	if headerLen > int64(len(body)) {
		return nil, nil, fmt.Errorf("%s %d exceeds the body's %d bytes", HeaderContentLength, headerLen, len(body))
	}
	return body[:headerLen], body[headerLen:], nil
}

// GenerateResponse is the generate extension's answer: text_output, and
// from pz serve also the ids and log-probs (other servers return text).
type GenerateResponse struct {
	ID             string    `json:"id,omitempty"`
	ModelName      string    `json:"model_name"`
	ModelVersion   string    `json:"model_version"`
	TextOutput     string    `json:"text_output"`
	OutputIDs      []int32   `json:"output_ids,omitempty"`
	SampleLogProbs []float32 `json:"sample_logprobs,omitempty"`
	PolicyLogProbs []float32 `json:"policy_logprobs,omitempty"`
	FinishReason   string    `json:"finish_reason,omitempty"`
}

// StrictJSON decodes one JSON object, refusing unknown fields; numbers
// in Params stay exact (json.Number: a 64-bit seed survives).
func StrictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON object")
	}
	return nil
}

// EncodeHTTPRequest writes a request body; with binary, tensors go as
// binary data and jsonLen is the value of HeaderContentLength (else -1).
func EncodeHTTPRequest(r *InferRequest, binary bool) (body []byte, jsonLen int64, err error) {
	var tail bytes.Buffer
	ins, err := tensorsToJSON(r.Inputs, binary, &tail)
	if err != nil {
		return nil, 0, err
	}
	jr := jsonRequest{ID: r.ID, Parameters: r.Params, Inputs: ins}
	for _, o := range r.Outputs {
		jo := jsonOutputReq{Name: o}
		if r.BinaryOutputs {
			jo.Parameters = Params{"binary_data": true}
		}
		jr.Outputs = append(jr.Outputs, jo)
	}
	if r.BinaryOutputs && len(r.Outputs) == 0 {
		if jr.Parameters == nil {
			jr.Parameters = Params{}
		} else {
			jr.Parameters = clone(jr.Parameters)
		}
		jr.Parameters["binary_data_output"] = true
	}
	head, err := json.Marshal(jr)
	if err != nil {
		return nil, 0, err
	}
	if !binary && !r.BinaryOutputs {
		return head, -1, nil
	}
	return append(head, tail.Bytes()...), int64(len(head)), nil
}

func clone(p Params) Params {
	out := make(Params, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// DecodeHTTPRequest parses a request body for model and version.
func DecodeHTTPRequest(model, version string, body []byte, headerLen int64) (*InferRequest, error) {
	head, tail, err := splitBody(body, headerLen)
	if err != nil {
		return nil, err
	}
	var jr jsonRequest
	if err := StrictJSON(head, &jr); err != nil {
		return nil, fmt.Errorf("request JSON: %w", err)
	}
	ins, err := tensorsFromJSON(jr.Inputs, tail)
	if err != nil {
		return nil, err
	}
	r := &InferRequest{Model: model, Version: version, ID: jr.ID, Params: jr.Parameters, Inputs: ins}
	if b, ok := jr.Parameters["binary_data_output"].(bool); ok && b {
		r.BinaryOutputs = true
	}
	for _, o := range jr.Outputs {
		r.Outputs = append(r.Outputs, o.Name)
		if b, ok := o.Parameters["binary_data"].(bool); ok && b {
			r.BinaryOutputs = true
		}
	}
	return r, nil
}

// EncodeHTTPResponse writes a response body (binary: outputs as binary
// data, jsonLen the HeaderContentLength value, else -1).
func EncodeHTTPResponse(r *InferResponse, binary bool) (body []byte, jsonLen int64, err error) {
	var tail bytes.Buffer
	outs, err := tensorsToJSON(r.Outputs, binary, &tail)
	if err != nil {
		return nil, 0, err
	}
	head, err := json.Marshal(jsonResponse{ModelName: r.Model, ModelVersion: r.Version, ID: r.ID, Parameters: r.Params, Outputs: outs})
	if err != nil {
		return nil, 0, err
	}
	if !binary {
		return head, -1, nil
	}
	return append(head, tail.Bytes()...), int64(len(head)), nil
}

// DecodeHTTPResponse parses a response body. Unknown fields are allowed:
// servers add their own.
func DecodeHTTPResponse(body []byte, headerLen int64) (*InferResponse, error) {
	head, tail, err := splitBody(body, headerLen)
	if err != nil {
		return nil, err
	}
	var jr jsonResponse
	if err := json.Unmarshal(head, &jr); err != nil {
		return nil, fmt.Errorf("response JSON: %w", err)
	}
	outs, err := tensorsFromJSON(jr.Outputs, tail)
	if err != nil {
		return nil, err
	}
	return &InferResponse{Model: jr.ModelName, Version: jr.ModelVersion, ID: jr.ID, Params: jr.Parameters, Outputs: outs}, nil
}

// paramsToPB converts parameters to the gRPC form.
func paramsToPB(p Params) (map[string]*pb.InferParameter, error) {
	if len(p) == 0 {
		return nil, nil
	}
	out := make(map[string]*pb.InferParameter, len(p))
	for k, v := range p {
		switch x := v.(type) {
		case bool:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: x}}
		case int64:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: x}}
		case int:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: int64(x)}}
		case uint64:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_Uint64Param{Uint64Param: x}}
		case float64:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: x}}
		case string:
			out[k] = &pb.InferParameter{ParameterChoice: &pb.InferParameter_StringParam{StringParam: x}}
		default:
			return nil, fmt.Errorf("parameter %q: %T has no protocol type", k, v)
		}
	}
	return out, nil
}

func paramsFromPB(m map[string]*pb.InferParameter) Params {
	if len(m) == 0 {
		return nil
	}
	out := make(Params, len(m))
	for k, v := range m {
		switch x := v.GetParameterChoice().(type) {
		case *pb.InferParameter_BoolParam:
			out[k] = x.BoolParam
		case *pb.InferParameter_Int64Param:
			out[k] = x.Int64Param
		case *pb.InferParameter_Uint64Param:
			out[k] = x.Uint64Param
		case *pb.InferParameter_DoubleParam:
			out[k] = x.DoubleParam
		case *pb.InferParameter_StringParam:
			out[k] = x.StringParam
		}
	}
	return out
}

// fromContents decodes typed gRPC contents.
func fromContents(name, dt string, shape []int64, c *pb.InferTensorContents) (*Tensor, error) {
	t := &Tensor{Name: name, Datatype: dt, Shape: shape}
	switch dt {
	case Int32:
		t.Data = append([]int32{}, c.GetIntContents()...)
	case Int64:
		t.Data = append([]int64{}, c.GetInt64Contents()...)
	case FP32:
		t.Data = append([]float32{}, c.GetFp32Contents()...)
	case FP64:
		t.Data = append([]float64{}, c.GetFp64Contents()...)
	case Bool:
		t.Data = append([]bool{}, c.GetBoolContents()...)
	case UInt64:
		t.Data = append([]uint64{}, c.GetUint64Contents()...)
	case UInt8:
		u := c.GetUintContents()
		d := make([]uint8, len(u))
		for i, v := range u {
			if v > 255 {
				return nil, fmt.Errorf("tensor %q: UINT8 element %d is %d", name, i, v)
			}
			d[i] = uint8(v)
		}
		t.Data = d
	case Bytes:
		t.Data = append([][]byte{}, c.GetBytesContents()...)
	default:
		return nil, fmt.Errorf("tensor %q: datatype %q is not supported", name, dt)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// RequestToPB converts a request to gRPC, tensors as raw contents.
func RequestToPB(r *InferRequest) (*pb.ModelInferRequest, error) {
	params, err := paramsToPB(r.Params)
	if err != nil {
		return nil, err
	}
	m := &pb.ModelInferRequest{ModelName: r.Model, ModelVersion: r.Version, Id: r.ID, Parameters: params}
	for _, t := range r.Inputs {
		raw, err := t.Raw()
		if err != nil {
			return nil, err
		}
		m.Inputs = append(m.Inputs, &pb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
		m.RawInputContents = append(m.RawInputContents, raw)
	}
	for _, o := range r.Outputs {
		m.Outputs = append(m.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: o})
	}
	return m, nil
}

// RequestFromPB converts a gRPC request (raw or typed contents).
func RequestFromPB(m *pb.ModelInferRequest) (*InferRequest, error) {
	r := &InferRequest{Model: m.GetModelName(), Version: m.GetModelVersion(), ID: m.GetId(), Params: paramsFromPB(m.GetParameters())}
	raw := m.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(m.GetInputs()) {
		return nil, fmt.Errorf("%d raw_input_contents for %d inputs", len(raw), len(m.GetInputs()))
	}
	for i, in := range m.GetInputs() {
		if in.GetName() == "" {
			return nil, fmt.Errorf("input %d has no name", i)
		}
		var t *Tensor
		var err error
		if len(raw) > 0 {
			if in.GetContents() != nil {
				return nil, fmt.Errorf("input %q has both contents and raw_input_contents", in.GetName())
			}
			t, err = FromRaw(in.GetName(), in.GetDatatype(), in.GetShape(), raw[i])
		} else {
			t, err = fromContents(in.GetName(), in.GetDatatype(), in.GetShape(), in.GetContents())
		}
		if err != nil {
			return nil, err
		}
		r.Inputs = append(r.Inputs, t)
	}
	for _, o := range m.GetOutputs() {
		r.Outputs = append(r.Outputs, o.GetName())
	}
	return r, nil
}

// ResponseToPB converts a response to gRPC with raw contents.
func ResponseToPB(r *InferResponse) (*pb.ModelInferResponse, error) {
	params, err := paramsToPB(r.Params)
	if err != nil {
		return nil, err
	}
	m := &pb.ModelInferResponse{ModelName: r.Model, ModelVersion: r.Version, Id: r.ID, Parameters: params}
	for _, t := range r.Outputs {
		raw, err := t.Raw()
		if err != nil {
			return nil, err
		}
		m.Outputs = append(m.Outputs, &pb.ModelInferResponse_InferOutputTensor{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
		m.RawOutputContents = append(m.RawOutputContents, raw)
	}
	return m, nil
}

// ResponseFromPB converts a gRPC response (raw or typed contents).
func ResponseFromPB(m *pb.ModelInferResponse) (*InferResponse, error) {
	r := &InferResponse{Model: m.GetModelName(), Version: m.GetModelVersion(), ID: m.GetId(), Params: paramsFromPB(m.GetParameters())}
	raw := m.GetRawOutputContents()
	if len(raw) > 0 && len(raw) != len(m.GetOutputs()) {
		return nil, fmt.Errorf("%d raw_output_contents for %d outputs", len(raw), len(m.GetOutputs()))
	}
	for i, o := range m.GetOutputs() {
		var t *Tensor
		var err error
		if len(raw) > 0 {
			t, err = FromRaw(o.GetName(), o.GetDatatype(), o.GetShape(), raw[i])
		} else {
			t, err = fromContents(o.GetName(), o.GetDatatype(), o.GetShape(), o.GetContents())
		}
		if err != nil {
			return nil, err
		}
		r.Outputs = append(r.Outputs, t)
	}
	return r, nil
}
