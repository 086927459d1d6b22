package triton_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"pz/orchestrator"
	"pz/orchestrator/engine/triton"
	"pz/orchestrator/sample"
)

// Drain: unready at once, new inference refused with 503 (not retried
// into a crash), in-flight requests finish with their results.
func TestDrain(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	e := client(t, triton.Options{Endpoints: []string{f.http}, Retries: 1})
	long := []orchestrator.GenRequest{{Prompt: []int32{1, 2, 3}, N: 16, Seed: 1, Sampling: sample.Options{Temperature: 1}, MaxNewTokens: 200}}
	done := make(chan error, 1)
	go func() {
		res, err := e.Generate(ctx, long)
		if err == nil && len(res[0].Completions) != 16 {
			err = context.Canceled
		}
		done <- err
	}()
	// Wait until the request is queued or running, then drain.
	for {
		resp, err := http.Get(f.http + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if strings.Contains(b.String(), "pz_serve_queued_requests 1") || strings.Contains(b.String(), `pz_serve_engine_seconds_count{call="generate"}`) {
			break
		}
	}
	f.srv.Drain()
	resp, err := http.Get(f.http + "/v2/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ready while draining: %d", resp.StatusCode)
	}
	if _, err := e.Generate(ctx, long[:1]); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("new request while draining: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
}
