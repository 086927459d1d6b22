package triton_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"pz/export/exporttest"
	"pz/export/tritonrepo"
	"pz/models"
	"pz/models/qwen3"
	"pz/orchestrator"
	ort "pz/orchestrator/engine/ort"
	"pz/orchestrator/engine/triton"
	"pz/orchestrator/sample"
	"pz/orchestrator/serve"
)

// benchConfig is the model of the load benchmarks: PZ_LOAD_PRESET (tiny
// or small, default tiny).
func benchConfig(b *testing.B) *models.Config {
	name := os.Getenv("PZ_LOAD_PRESET")
	if name == "" {
		name = "tiny"
	}
	cfg, err := models.Preset(name)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkLoopbackLoad: PZ_LOAD_CLIENTS (32) concurrent clients, each
// sending one prompt at a time to pz serve over loopback HTTP (binary
// tensors) for PZ_LOAD_SECONDS (20), against the in-process engine
// generating the same requests in batches of as many rows for as long.
// Reports requests/s, tokens/s, p50/p99 latency, errors, and the ratio of
// served to in-process tokens/s. Run with -benchtime=1x.
func BenchmarkLoopbackLoad(b *testing.B) {
	cfg := benchConfig(b)
	clients, secs := envInt("PZ_LOAD_CLIENTS", 32), envInt("PZ_LOAD_SECONDS", 20)
	promptLen, newTok := envInt("PZ_LOAD_PROMPT", 64), envInt("PZ_LOAD_NEW", 32)
	eng, err := ort.New(exporttest.Runtime(b), cfg, qwen3.RandomWeights(cfg, 1, 0.02), ort.Options{MaxBatch: clients})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	req := func(i int) orchestrator.GenRequest {
		p := make([]int32, promptLen)
		for j := range p {
			p[j] = int32((i*7919 + j*104729) % cfg.VocabSize)
		}
		// Temperature 1 with EOS out of reach of the length: every
		// completion runs to max tokens, so both sides do equal work.
		return orchestrator.GenRequest{Prompt: p, N: 1, Seed: uint64(i), Sampling: sample.Options{Temperature: 1}, MaxNewTokens: newTok}
	}
	srv, err := serve.New(serve.Options{Engine: eng, VocabSize: cfg.VocabSize, MaxBatchRows: clients, BatchWindow: 2 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	url := serveHTTP(b, srv)
	cl, err := triton.New(triton.Options{Endpoints: []string{url}, MaxInFlight: clients})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	for b.Loop() {
		// In-process: batches of `clients` requests, back to back.
		var inTok int
		start := time.Now()
		for i := 0; time.Since(start) < time.Duration(secs)*time.Second; i++ {
			batch := make([]orchestrator.GenRequest, clients)
			for k := range batch {
				batch[k] = req(i*clients + k)
			}
			res, err := eng.Generate(ctx, batch)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				inTok += len(r.Completions[0].IDs)
			}
		}
		inRate := float64(inTok) / time.Since(start).Seconds()

		// Served: clients loop until the time is up.
		var mu sync.Mutex
		var lat []time.Duration
		var tokens, errs int
		start = time.Now()
		stop := start.Add(time.Duration(secs) * time.Second)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := 0; time.Now().Before(stop); i++ {
					t0 := time.Now()
					res, err := cl.Generate(ctx, []orchestrator.GenRequest{req(c*100000 + i)})
					d := time.Since(t0)
					mu.Lock()
					if err != nil {
						errs++
					} else {
						lat = append(lat, d)
						tokens += len(res[0].Completions[0].IDs)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))].Seconds() * 1000
		}
		b.ReportMetric(float64(len(lat))/el, "req/s")
		b.ReportMetric(float64(tokens)/el, "tok/s")
		b.ReportMetric(inRate, "inproc-tok/s")
		b.ReportMetric(float64(tokens)/el/inRate, "ratio")
		b.ReportMetric(pct(0.5), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(errs), "errors")
	}
}

// BenchmarkReload: one weight update through the repository: write
// version N+1 (ONNX graphs and the pz folder), POST load, wait until
// served. Reports the write and load+ready seconds.
func BenchmarkReload(b *testing.B) {
	cfg := benchConfig(b)
	w := qwen3.RandomWeights(cfg, 1, 0.02)
	eng, err := ort.New(exporttest.Runtime(b), cfg, w, ort.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	repo := filepath.Join(b.TempDir(), "repo")
	ro := tritonrepo.Options{Repo: repo, Name: "pz", SkipONNX: os.Getenv("PZ_RELOAD_SKIP_ONNX") == "1"}
	srv, err := serve.New(serve.Options{Engine: eng, VocabSize: cfg.VocabSize, Reload: func(ctx context.Context, model string) (map[string][]float32, int64, error) {
		ck, v, err := tritonrepo.LoadLatest(repo, "pz")
		if err != nil {
			return nil, 0, err
		}
		return ck.Weights, v, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	url := serveHTTP(b, srv)
	var write time.Duration
	cl, err := triton.New(triton.Options{Endpoints: []string{url},
		Publish: func(ctx context.Context, w map[string][]float32, v int64) error {
			t0 := time.Now()
			err := tritonrepo.WriteVersion(ctx, ro, cfg, w, v)
			write = time.Since(t0)
			return err
		}})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	v := int64(1)
	var total, writes time.Duration
	n := 0
	for b.Loop() {
		v++
		t0 := time.Now()
		if err := cl.LoadWeights(context.Background(), w, v); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		writes += write
		n++
	}
	b.ReportMetric(writes.Seconds()/float64(n), "write-s")
	b.ReportMetric((total-writes).Seconds()/float64(n), "load+ready-s")
	b.ReportMetric(total.Seconds()/float64(n), "total-s")
}
