package data

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPrepareSample measures Prepare on the shipped sample
// (data/sample/train.jsonl, 3.1 MB) with 1 and 2 workers; MB/s is input
// bytes per second.
//
//	go test ./data -run '^$' -bench PrepareSample -benchtime 10x
func BenchmarkPrepareSample(b *testing.B) {
	st, err := os.Stat(sampleTrain)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			out := b.TempDir()
			b.SetBytes(st.Size())
			for b.Loop() {
				if _, err := Prepare(context.Background(), PrepareOptions{Out: out, Shards: 4, ProcessOptions: ProcessOptions{
					Inputs: []string{sampleTrain}, Heldout: 0.05, Workers: workers,
				}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrepareSynthetic measures throughput and peak memory of Prepare
// on a synthetic JSONL corpus generated from the sample's paragraphs with
// their words shuffled per record (so nearly every passage is unique and
// the dedup set grows as it would). Opt-in: the size in MB comes from
// PZ_BENCH_SYNTH_MB (e.g. 2048 for the 2 GB figure); it is skipped when
// unset so `go test -bench .` and `make test` stay fast.
//
//	PZ_BENCH_SYNTH_MB=2048 go test ./data -run '^$' -bench PrepareSynthetic -benchtime 1x -timeout 30m
//
// Reported: MB/s, peak-heap-MB (sampled HeapInuse every 50 ms, garbage
// included), peak-live-MB (the largest heap found live by a GC) and
// peak-rss-MB (the process's max RSS so far, getrusage: it covers the
// earlier sub-benchmarks too).
func BenchmarkPrepareSynthetic(b *testing.B) {
	mbEnv := os.Getenv("PZ_BENCH_SYNTH_MB")
	if mbEnv == "" {
		b.Skip("set PZ_BENCH_SYNTH_MB to run (e.g. 2048)")
	}
	mb, err := strconv.Atoi(mbEnv)
	if err != nil || mb <= 0 {
		b.Fatalf("PZ_BENCH_SYNTH_MB=%q: want a positive integer", mbEnv)
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "synthetic.jsonl")
	size := writeSynthetic(b, in, int64(mb)<<20)
	for _, nodedup := range []bool{false, true} {
		b.Run(fmt.Sprintf("mb=%d/nodedup=%v", mb, nodedup), func(b *testing.B) {
			b.SetBytes(size)
			var peak, peakLive atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				var ms runtime.MemStats
				live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
						metrics.Read(live)
						if v := live[0].Value.Uint64(); v > peakLive.Load() {
							peakLive.Store(v)
						}
					}
				}
			}()
			var st *Stats
			for b.Loop() {
				st, err = Prepare(context.Background(), PrepareOptions{Out: filepath.Join(dir, "out"), Shards: 8, ProcessOptions: ProcessOptions{
					Inputs: []string{in}, Heldout: 0.05, NoDedup: nodedup,
				}})
				if err != nil {
					b.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(peakLive.Load())/(1<<20), "peak-live-MB")
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MB")
			b.ReportMetric(float64(st.PassagesKept+st.PassagesHeldout), "passages")
		})
	}
}

// writeSynthetic writes about size bytes of JSONL and returns the size.
func writeSynthetic(b *testing.B, path string, size int64) int64 {
	raw, err := os.ReadFile(sampleTrain)
	if err != nil {
		b.Fatal(err)
	}
	var paras [][]string
	for l := range strings.Lines(string(raw)) {
		var r struct{ Text string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			b.Fatal(err)
		}
		paras = append(paras, strings.Fields(r.Text))
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 1))
	var n int64
	var words []string
	for k := 0; n < size; k++ {
		words = append(words[:0], paras[k%len(paras)]...)
		rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("syn-%d", k), "title": fmt.Sprintf("Synthetic %d", k/10), "text": strings.Join(words, " ")})
		line = append(line, '\n')
		w.Write(line)
		n += int64(len(line))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return n
}

// BenchmarkProcessSample is BenchmarkPrepareSample without writing: read,
// split, normalise, filter and dedup only.
func BenchmarkProcessSample(b *testing.B) {
	st, err := os.Stat(sampleTrain)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			b.SetBytes(st.Size())
			for b.Loop() {
				if _, err := Process(context.Background(), ProcessOptions{Inputs: []string{sampleTrain}, Workers: workers},
					func(Passage, bool) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
