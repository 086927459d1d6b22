package serve

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "pz/internal/kservepb"
	"pz/orchestrator/engine/triton/wire"
)

// ServerName and ServerVersion answer server metadata.
const (
	ServerName    = "pz"
	ServerVersion = "1"
)

// Extensions are the KServe v2 / Triton extensions served.
var extensions = []string{"binary_tensor_data", "generate", "model_repository", "model_configuration", "parameters"}

// authorized checks an "Authorization: Bearer TOKEN" value.
func (s *Server) authorized(header string) bool {
	if s.o.Token == "" {
		return true
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.o.Token)) == 1
}

// Handler is the HTTP/REST side of the protocol, and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern, endpoint string, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
			if err := h(rw, r); err != nil {
				ae := classify(err)
				if ae.status >= 500 {
					s.log.Warn("serve: request failed", "path", r.URL.Path, "err", ae.msg)
				}
				writeJSON(rw, ae.status, map[string]string{"error": ae.msg})
			}
			s.m.requests.WithLabelValues("http", endpoint, strconv.Itoa(rw.code)).Inc()
			s.m.latency.WithLabelValues("http", endpoint).Observe(time.Since(start).Seconds())
		})
	}
	route("GET /v2/health/live", "live", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	route("GET /v2/health/ready", "ready", func(w http.ResponseWriter, r *http.Request) error {
		if s.draining.Load() {
			return errDraining
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
	route("GET /v2", "server_metadata", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{"name": ServerName, "version": ServerVersion, "extensions": extensions})
		return nil
	})
	for _, prefix := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		route("GET "+prefix, "model_metadata", func(w http.ResponseWriter, r *http.Request) error {
			md, err := s.Metadata(r.PathValue("model"), r.PathValue("version"))
			if err != nil {
				return err
			}
			return writeProto(w, md)
		})
		route("GET "+prefix+"/ready", "model_ready", func(w http.ResponseWriter, r *http.Request) error {
			if err := s.modelVersion(r.PathValue("model"), r.PathValue("version")); err != nil {
				return err
			}
			if s.draining.Load() {
				return errDraining
			}
			w.WriteHeader(http.StatusOK)
			return nil
		})
		route("GET "+prefix+"/config", "model_config", func(w http.ResponseWriter, r *http.Request) error {
			c, err := s.Config(r.PathValue("model"), r.PathValue("version"))
			if err != nil {
				return err
			}
			return writeProto(w, c)
		})
		route("POST "+prefix+"/infer", "infer", s.httpInfer)
	}
	route("POST /v2/models/{model}/generate", "generate", s.httpGenerate)
	route("POST /v2/models/{model}/versions/{version}/generate", "generate", s.httpGenerate)
	route("POST /v2/repository/index", "repository_index", func(w http.ResponseWriter, r *http.Request) error {
		v := strconv.FormatInt(s.Version(), 10)
		var idx []map[string]string
		for _, m := range []string{s.o.Name, s.ScoreModel()} {
			idx = append(idx, map[string]string{"name": m, "version": v, "state": "READY"})
		}
		writeJSON(w, http.StatusOK, idx)
		return nil
	})
	route("POST /v2/repository/models/{model}/load", "repository_load", func(w http.ResponseWriter, r *http.Request) error {
		if _, err := s.Load(r.Context(), r.PathValue("model")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
	route("POST /v2/repository/models/{model}/unload", "repository_unload", func(w http.ResponseWriter, r *http.Request) error {
		return badRequest("pz serve keeps its model loaded; stop the server to unload it")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			s.m.requests.WithLabelValues("http", "auth", "401").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="pz serve"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or wrong bearer token"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.o.MaxRequestBytes)
		mux.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeProto(w http.ResponseWriter, m proto.Message) error {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	return nil
}

// readBody reads a size-limited body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{http.StatusRequestEntityTooLarge, 0, "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
		}
		return nil, badRequest("read body: %v", err)
	}
	return b, nil
}

func (s *Server) httpInfer(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	hl := int64(-1)
	if h := r.Header.Get(wire.HeaderContentLength); h != "" {
		if hl, err = strconv.ParseInt(h, 10, 64); err != nil || hl < 0 {
			return badRequest("%s: %q is not a length", wire.HeaderContentLength, h)
		}
	}
	req, err := wire.DecodeHTTPRequest(r.PathValue("model"), r.PathValue("version"), body, hl)
	if err != nil {
		return badRequest("%v", err)
	}
	resp, err := s.Infer(r.Context(), req)
	if err != nil {
		return err
	}
	out, n, err := wire.EncodeHTTPResponse(resp, req.BinaryOutputs)
	if err != nil {
		return err
	}
	if n >= 0 {
		w.Header().Set(wire.HeaderContentLength, strconv.FormatInt(n, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(out)
	return nil
}

// generateRequest is the generate extension's body: text_input (or pz's
// input_ids) and parameters.
type generateRequest struct {
	ID         string      `json:"id,omitempty"`
	TextInput  *string     `json:"text_input,omitempty"`
	InputIDs   []int32     `json:"input_ids,omitempty"`
	Parameters wire.Params `json:"parameters,omitempty"`
}

func (s *Server) httpGenerate(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return errDraining
	}
	model := r.PathValue("model")
	if model != s.o.Name {
		if err := s.modelVersion(model, ""); err != nil {
			return err
		}
		return badRequest("model %q does not generate (use %q)", model, s.o.Name)
	}
	if err := s.modelVersion(model, r.PathValue("version")); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var gr generateRequest
	if err := wire.StrictJSON(body, &gr); err != nil {
		return badRequest("request JSON: %v", err)
	}
	prompt := gr.InputIDs
	switch {
	case gr.TextInput != nil && len(prompt) > 0:
		return badRequest("give text_input or input_ids, not both")
	case gr.TextInput != nil:
		if s.o.Encode == nil {
			return badRequest("text_input needs a tokenizer, and this server has none (send input_ids)")
		}
		prompt = s.o.Encode(*gr.TextInput)
	}
	var stops []string
	switch st := gr.Parameters["stop"].(type) {
	case nil:
	case string:
		stops = []string{st}
	case []any:
		for _, x := range st {
			v, ok := x.(string)
			if !ok {
				return badRequest("parameter \"stop\": want a string or a list of strings")
			}
			stops = append(stops, v)
		}
	default:
		return badRequest("parameter \"stop\": want a string or a list of strings")
	}
	params := wire.Params{}
	for k, v := range gr.Parameters {
		if k != "stop" {
			params[k] = v
		}
	}
	if n, err := params.Int("n", 1); err != nil || n != 1 {
		return badRequest("parameter \"n\": the generate extension returns one completion per request")
	}
	g, err := s.genParams(params, prompt, stops)
	if err != nil {
		return err
	}
	ctx, cancel, err := s.deadline(r.Context(), params)
	if err != nil {
		return err
	}
	defer cancel()
	res, version, err := s.generate(ctx, g)
	if err != nil {
		return err
	}
	c := res.Completions[0]
	out := wire.GenerateResponse{ID: gr.ID, ModelName: model, ModelVersion: strconv.FormatInt(version, 10), OutputIDs: c.IDs,
		SampleLogProbs: c.SampleLogProbs, PolicyLogProbs: c.PolicyLogProbs, FinishReason: string(c.Finish)}
	if s.o.Decode != nil {
		out.TextOutput = s.o.Decode(c.IDs)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Metadata describes a model's inputs and outputs.
func (s *Server) Metadata(model, version string) (*pb.ModelMetadataResponse, error) {
	if err := s.modelVersion(model, version); err != nil {
		return nil, err
	}
	tm := func(name, dt string, shape ...int64) *pb.ModelMetadataResponse_TensorMetadata {
		return &pb.ModelMetadataResponse_TensorMetadata{Name: name, Datatype: dt, Shape: shape}
	}
	md := &pb.ModelMetadataResponse{Name: model, Versions: []string{strconv.FormatInt(s.Version(), 10)}, Platform: "pz"}
	if model == s.o.Name {
		md.Inputs = []*pb.ModelMetadataResponse_TensorMetadata{tm("input_ids", wire.Int32, 1, -1), tm("stop", wire.Bytes, -1)}
		md.Outputs = []*pb.ModelMetadataResponse_TensorMetadata{tm("output_ids", wire.Int32, -1, -1), tm("output_lengths", wire.Int32, -1),
			tm("sample_logprobs", wire.FP32, -1, -1), tm("policy_logprobs", wire.FP32, -1, -1), tm("finish_reason", wire.Bytes, -1)}
		return md, nil
	}
	for _, n := range []string{inIDs, inPos, inMask, inTarget} {
		md.Inputs = append(md.Inputs, tm(n, wire.Int64, -1, -1))
	}
	md.Outputs = []*pb.ModelMetadataResponse_TensorMetadata{tm(outLogProbs, wire.FP32, -1, -1), tm(outEntropy, wire.FP32, -1, -1)}
	return md, nil
}

// Config is a model's configuration in Triton's schema.
func (s *Server) Config(model, version string) (*pb.ModelConfig, error) {
	md, err := s.Metadata(model, version)
	if err != nil {
		return nil, err
	}
	dtype := map[string]pb.DataType{wire.Int32: pb.DataType_TYPE_INT32, wire.Int64: pb.DataType_TYPE_INT64,
		wire.FP32: pb.DataType_TYPE_FP32, wire.Bytes: pb.DataType_TYPE_STRING}
	c := &pb.ModelConfig{Name: model, Platform: "pz", Backend: "pz",
		VersionPolicy: &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Latest_{Latest: &pb.ModelVersionPolicy_Latest{NumVersions: 1}}},
		Parameters:    map[string]*pb.ModelParameter{"pz_version": {StringValue: strconv.FormatInt(s.Version(), 10)}}}
	for _, t := range md.Inputs {
		c.Input = append(c.Input, &pb.ModelInput{Name: t.Name, DataType: dtype[t.Datatype], Dims: t.Shape, Optional: t.Name == "stop" || t.Name == inPos})
	}
	for _, t := range md.Outputs {
		c.Output = append(c.Output, &pb.ModelOutput{Name: t.Name, DataType: dtype[t.Datatype], Dims: t.Shape})
	}
	if model == s.o.Name {
		c.SchedulingChoice = &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{
			MaxQueueDelayMicroseconds: uint64(s.o.BatchWindow.Microseconds())}}
	}
	return c, nil
}
