package triton

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "pz/internal/kservepb"
	"pz/orchestrator/engine/triton/wire"
)

// transport is one endpoint's protocol.
type transport interface {
	name() string
	infer(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error)
	hasGenerate() bool
	generate(ctx context.Context, model string, body map[string]any) (*wire.GenerateResponse, error)
	ready(ctx context.Context, model, version string) (bool, error)
	load(ctx context.Context, model string) error
	close()
}

// httpError is a non-2xx answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.msg) }

// transient says whether another try (maybe elsewhere) may succeed.
func transient(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.status == http.StatusBadGateway || he.status == http.StatusServiceUnavailable || he.status == http.StatusGatewayTimeout || he.status == http.StatusTooManyRequests
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		switch s.Code() {
		case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func newTransport(endpoint string, o Options) (transport, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("triton: endpoint %q: %w", endpoint, err)
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify}
	switch u.Scheme {
	case "http", "https":
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = o.MaxInFlight
		if u.Scheme == "https" {
			tr.TLSClientConfig = tlsCfg
		}
		return &httpTransport{base: strings.TrimSuffix(u.String(), "/"), token: o.Token, c: &http.Client{Transport: tr}}, nil
	case "grpc", "grpcs":
		creds := insecure.NewCredentials()
		if u.Scheme == "grpcs" {
			creds = credentials.NewTLS(tlsCfg)
		}
		conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30), grpc.MaxCallSendMsgSize(1<<30)))
		if err != nil {
			return nil, fmt.Errorf("triton: endpoint %q: %w", endpoint, err)
		}
		return &grpcTransport{addr: endpoint, token: o.Token, conn: conn, c: pb.NewGRPCInferenceServiceClient(conn)}, nil
	}
	return nil, fmt.Errorf("triton: endpoint %q: scheme %q (want http, https, grpc or grpcs)", endpoint, u.Scheme)
}

type httpTransport struct {
	base, token string
	c           *http.Client
}

func (t *httpTransport) name() string      { return t.base }
func (t *httpTransport) hasGenerate() bool { return true }
func (t *httpTransport) close()            { t.c.CloseIdleConnections() }

func (t *httpTransport) do(ctx context.Context, method, path string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return resp, b, &httpError{resp.StatusCode, msg}
	}
	return resp, b, nil
}

func modelPath(model, version string) string {
	p := "/v2/models/" + url.PathEscape(model)
	if version != "" {
		p += "/versions/" + url.PathEscape(version)
	}
	return p
}

func (t *httpTransport) infer(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error) {
	body, n, err := wire.EncodeHTTPRequest(r, true)
	if err != nil {
		return nil, err
	}
	hdr := map[string]string{"Content-Type": "application/octet-stream"}
	if n >= 0 {
		hdr[wire.HeaderContentLength] = strconv.FormatInt(n, 10)
	}
	resp, b, err := t.do(ctx, http.MethodPost, modelPath(r.Model, r.Version)+"/infer", body, hdr)
	if err != nil {
		return nil, err
	}
	hl := int64(-1)
	if h := resp.Header.Get(wire.HeaderContentLength); h != "" {
		if hl, err = strconv.ParseInt(h, 10, 64); err != nil {
			return nil, fmt.Errorf("%s: %q", wire.HeaderContentLength, h)
		}
	}
	return wire.DecodeHTTPResponse(b, hl)
}

func (t *httpTransport) generate(ctx context.Context, model string, body map[string]any) (*wire.GenerateResponse, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	_, out, err := t.do(ctx, http.MethodPost, modelPath(model, "")+"/generate", b, map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return nil, err
	}
	var g wire.GenerateResponse
	if err := json.Unmarshal(out, &g); err != nil {
		return nil, fmt.Errorf("generate response: %w", err)
	}
	return &g, nil
}

func (t *httpTransport) ready(ctx context.Context, model, version string) (bool, error) {
	_, _, err := t.do(ctx, http.MethodGet, modelPath(model, version)+"/ready", nil, nil)
	var he *httpError
	if errors.As(err, &he) && (he.status == http.StatusServiceUnavailable || he.status == http.StatusNotFound) {
		return false, err
	}
	return err == nil, err
}

func (t *httpTransport) load(ctx context.Context, model string) error {
	_, _, err := t.do(ctx, http.MethodPost, "/v2/repository/models/"+url.PathEscape(model)+"/load", []byte("{}"), map[string]string{"Content-Type": "application/json"})
	return err
}

type grpcTransport struct {
	addr, token string
	conn        *grpc.ClientConn
	c           pb.GRPCInferenceServiceClient
}

func (t *grpcTransport) name() string      { return t.addr }
func (t *grpcTransport) hasGenerate() bool { return false }
func (t *grpcTransport) close()            { t.conn.Close() }

func (t *grpcTransport) ctx(ctx context.Context) context.Context {
	if t.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+t.token)
}

func (t *grpcTransport) infer(ctx context.Context, r *wire.InferRequest) (*wire.InferResponse, error) {
	m, err := wire.RequestToPB(r)
	if err != nil {
		return nil, err
	}
	resp, err := t.c.ModelInfer(t.ctx(ctx), m)
	if err != nil {
		return nil, err
	}
	return wire.ResponseFromPB(resp)
}

func (t *grpcTransport) generate(context.Context, string, map[string]any) (*wire.GenerateResponse, error) {
	return nil, errors.New("the generate extension is HTTP only")
}

func (t *grpcTransport) ready(ctx context.Context, model, version string) (bool, error) {
	r, err := t.c.ModelReady(t.ctx(ctx), &pb.ModelReadyRequest{Name: model, Version: version})
	if err != nil {
		return false, err
	}
	return r.GetReady(), nil
}

func (t *grpcTransport) load(ctx context.Context, model string) error {
	_, err := t.c.RepositoryModelLoad(t.ctx(ctx), &pb.RepositoryModelLoadRequest{ModelName: model})
	return err
}
