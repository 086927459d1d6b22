package triton_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	ort "pz/orchestrator/engine/ort"
	"pz/orchestrator/engine/triton"
	"pz/orchestrator/sample"
	"pz/orchestrator/serve"
)

// fixture is pz serve over a tiny in-process ORT engine on loopback.
type fixture struct {
	eng      *ort.Engine
	cfg      *models.Config
	srv      *serve.Server
	http     string // http://127.0.0.1:port
	grpc     string // grpc://127.0.0.1:port
	weights  map[string][]float32
	reloaded map[string][]float32
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	cfg := models.Tiny()
	cfg.VocabSize = 120
	f := &fixture{cfg: &cfg, weights: qwen3.RandomWeights(&cfg, 21, 0.3), reloaded: qwen3.RandomWeights(&cfg, 22, 0.3)}
	eng, err := ort.New(exporttest.Runtime(t), &cfg, f.weights, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	f.eng = eng
	srv, err := serve.New(serve.Options{Engine: eng, VocabSize: cfg.VocabSize, Token: token, MaxRequestBytes: 1 << 20,
		Reload: func(ctx context.Context, model string) (map[string][]float32, int64, error) {
			return f.reloaded, 2, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	httpURL := serveHTTP(t, srv)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := srv.NewGRPC()
	go gs.Serve(gl)
	t.Cleanup(gs.Stop)
	f.srv, f.http, f.grpc = srv, httpURL, "grpc://"+gl.Addr().String()
	return f
}

// serveHTTP serves srv's HTTP handler on a loopback port until the test
// ends and returns its URL.
func serveHTTP(tb testing.TB, srv *serve.Server) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(l)
	tb.Cleanup(func() { hs.Close() })
	return "http://" + l.Addr().String()
}

func client(t *testing.T, o triton.Options) *triton.Engine {
	t.Helper()
	if o.Backoff == 0 {
		o.Backoff = 5 * time.Millisecond
	}
	e, err := triton.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func genReqs() []orchestrator.GenRequest {
	return []orchestrator.GenRequest{
		{Prompt: []int32{5, 9, 33, 7, 81}, N: 3, Seed: 10, Sampling: sample.Options{}, MaxNewTokens: 12},
		{Prompt: []int32{17, 2}, N: 2, Seed: 20, Sampling: sample.Options{Temperature: 0.7, TopK: 20}, MaxNewTokens: 7},
		{Prompt: []int32{100, 101, 102}, N: 1, Seed: 30, Sampling: sample.Options{}, MaxNewTokens: 5},
		{Prompt: []int32{7, 7, 7, 1}, N: 4, Seed: 40, Sampling: sample.Options{Temperature: 1.2, TopP: 0.9}, MaxNewTokens: 9},
	}
}

func closeTo(a, b []float32, tol float64) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d values, want %d", len(a), len(b))
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return fmt.Errorf("[%d] = %g, want %g", i, a[i], b[i])
		}
	}
	return nil
}

// The same requests through pz serve (HTTP binary tensors and gRPC) and
// through the in-process engine: same token ids, log-probs within 1e-5.
func TestGenerateAndScoreMatchInProcess(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	want, err := f.eng.Generate(ctx, genReqs())
	if err != nil {
		t.Fatal(err)
	}
	var sr []orchestrator.ScoreRequest
	for i, r := range genReqs() {
		for _, c := range want[i].Completions {
			sr = append(sr, orchestrator.ScoreRequest{IDs: append(slices.Clone(r.Prompt), c.IDs...), From: len(r.Prompt), Entropy: true})
		}
	}
	wantScore, err := f.eng.Score(ctx, sr)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    triton.Options
	}{
		{"http", triton.Options{Endpoints: []string{f.http}}},
		{"grpc", triton.Options{Endpoints: []string{f.grpc}}},
		{"generate-extension", triton.Options{Endpoints: []string{f.http}, Protocol: triton.ProtocolGenerate}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := client(t, c.o)
			if err := e.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := e.Generate(ctx, genReqs())
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				for s, w := range want[i].Completions {
					g := got[i].Completions[s]
					if !slices.Equal(g.IDs, w.IDs) || g.Finish != w.Finish {
						t.Fatalf("request %d sample %d: ids %v (%s), want %v (%s)", i, s, g.IDs, g.Finish, w.IDs, w.Finish)
					}
					if err := closeTo(g.PolicyLogProbs, w.PolicyLogProbs, 1e-5); err != nil {
						t.Fatalf("request %d sample %d policy log-probs: %v", i, s, err)
					}
					if err := closeTo(g.SampleLogProbs, w.SampleLogProbs, 1e-5); err != nil {
						t.Fatalf("request %d sample %d sample log-probs: %v", i, s, err)
					}
					if g.ServedVersion != 1 || g.LogProbsRecomputed {
						t.Fatalf("served version %d, recomputed %v", g.ServedVersion, g.LogProbsRecomputed)
					}
				}
			}
			sc, err := e.Score(ctx, sr)
			if err != nil {
				t.Fatal(err)
			}
			for i := range sr {
				if err := closeTo(sc[i].LogProbs, wantScore[i].LogProbs, 1e-5); err != nil {
					t.Fatalf("score %d: %v", i, err)
				}
				if err := closeTo(sc[i].Entropy, wantScore[i].Entropy, 1e-5); err != nil {
					t.Fatalf("entropy %d: %v", i, err)
				}
			}
		})
	}
}

// Bearer auth on every call, health included: HTTP 401, gRPC
// Unauthenticated, and nothing runs.
func TestAuth(t *testing.T) {
	f := newFixture(t, "s3cret")
	ctx := context.Background()
	for _, path := range []string{"/v2/health/live", "/v2/health/ready", "/v2", "/metrics", "/v2/models/pz/ready"} {
		for _, hdr := range []string{"", "Bearer wrong", "s3cret"} {
			req, _ := http.NewRequest(http.MethodGet, f.http+path, nil)
			if hdr != "" {
				req.Header.Set("Authorization", hdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with %q: %d, want 401", path, hdr, resp.StatusCode)
			}
		}
	}
	for _, ep := range []string{f.http, f.grpc} {
		bad := client(t, triton.Options{Endpoints: []string{ep}, Token: "wrong", Retries: 1})
		_, err := bad.Generate(ctx, genReqs()[:1])
		if err == nil {
			t.Fatalf("%s: a wrong token generated", ep)
		}
		if strings.HasPrefix(ep, "grpc") && status.Code(errors.Unwrap(errors.Unwrap(errors.Unwrap(err)))) != codes.Unauthenticated && !strings.Contains(err.Error(), "Unauthenticated") {
			t.Errorf("grpc: %v, want Unauthenticated", err)
		}
		if strings.HasPrefix(ep, "http") && !strings.Contains(err.Error(), "HTTP 401") {
			t.Errorf("http: %v, want 401", err)
		}
		good := client(t, triton.Options{Endpoints: []string{ep}, Token: "s3cret"})
		if err := good.Ready(ctx); err != nil {
			t.Fatalf("%s: %v", ep, err)
		}
	}
}

// A dead endpoint in the list: calls fail over to the live one.
func TestFailover(t *testing.T) {
	f := newFixture(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close() // nothing listens there now
	ctx := context.Background()
	for _, eps := range [][]string{{"http://" + dead, f.http}, {"grpc://" + dead, f.grpc}} {
		e := client(t, triton.Options{Endpoints: eps})
		want, err := f.eng.Generate(ctx, genReqs())
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			got, err := e.Generate(ctx, genReqs())
			if err != nil {
				t.Fatalf("%v: %v", eps, err)
			}
			if !slices.Equal(got[0].Completions[0].IDs, want[0].Completions[0].IDs) {
				t.Fatalf("%v: ids differ", eps)
			}
		}
	}
	// Every endpoint dead: a clear error after the retries, no hang.
	e := client(t, triton.Options{Endpoints: []string{"http://" + dead}, Retries: 2})
	if _, err := e.Generate(ctx, genReqs()[:1]); err == nil || !strings.Contains(err.Error(), "3 attempts failed") {
		t.Fatalf("dead fleet: %v", err)
	}
}

// LoadWeights publishes, calls the repository API and waits until the new
// version is served; completions then carry it and follow the new weights.
func TestReload(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	published := int64(0)
	for _, ep := range []string{f.http, f.grpc} {
		e := client(t, triton.Options{Endpoints: []string{ep}, Publish: func(ctx context.Context, w map[string][]float32, v int64) error {
			published = v
			return nil
		}})
		if err := e.LoadWeights(ctx, f.reloaded, 2); err != nil {
			t.Fatal(err)
		}
		if published != 2 || f.srv.Version() != 2 {
			t.Fatalf("published %d, serving %d", published, f.srv.Version())
		}
		got, err := e.Generate(ctx, genReqs()[:1])
		if err != nil {
			t.Fatal(err)
		}
		if v := got[0].Completions[0].ServedVersion; v != 2 {
			t.Fatalf("served version %d, want 2", v)
		}
	}
	ref, err := ort.New(exporttest.Runtime(t), f.cfg, f.reloaded, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	want, err := ref.Generate(ctx, genReqs()[:1])
	if err != nil {
		t.Fatal(err)
	}
	e := client(t, triton.Options{Endpoints: []string{f.http}})
	got, err := e.Generate(ctx, genReqs()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].Completions[0].IDs, want[0].Completions[0].IDs) {
		t.Fatalf("after reload: %v, want the new weights' %v", got[0].Completions[0].IDs, want[0].Completions[0].IDs)
	}
}
