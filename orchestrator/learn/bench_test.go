package learn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"pz/export/exporttest"
	"pz/models"
	"pz/models/qwen3"
)

// Benchmarks of the learner (read, never asserted; see
// design/PERF-ANCHORS.md for the PyTorch figures on the same shapes):
//
//	go test -run '^$' -bench 'TrainStep|Checkpoint' -benchtime 3x ./orchestrator/learn/
//
// Each reports tokens/s over every position of the batch (B·T, as the
// anchors count them), seconds per step, the share of the MatMul ceiling
// reached by 6·params FLOPs per token — %ceiling against the anchors'
// 460.6 GFLOP/s, %ceiling_now against the ceiling measured in the same
// process just before (exporttest.Ceiling: the machine's speed drifts) —
// x_pytorch (tokens/s over PyTorch's, where the anchors have a figure) and
// x_pytorch_now (the same scaled by the ceiling's drift), and the
// process's peak resident memory against the parameters' float32 bytes.

// PyTorch's train-step figure for the small preset at 8 × 512
// (design/PERF-ANCHORS.md): 402 tokens/s.
const pytorchSmall = 402

// demoConfig is the toy model of design/TOY-SCALE.md: 4 layers × 128
// hidden, FFN 352, 4/2 heads of 32, vocab 2048 (1.0 M parameters).
func demoConfig() *models.Config {
	c := models.Tiny()
	c.HiddenSize, c.IntermediateSize = 128, 352
	c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim = 4, 4, 2, 32
	c.VocabSize = 2048
	return &c
}

// benchBatch makes B sequences of T positions (a 1-token prompt and T
// completion tokens, so every position has loss), with old log-probs near
// a uniform policy's so the learner does not recompute them.
func benchBatch(cfg *models.Config, B, T int, seed uint64) []Sample {
	return benchPromptBatch(cfg, B, 1, T, seed)
}

// benchPromptBatch makes B sequences of a P-token prompt and C completion
// tokens (P + C − 1 positions, C of them with loss).
func benchPromptBatch(cfg *models.Config, B, P, C int, seed uint64) []Sample {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]Sample, B)
	u := float32(-math.Log(float64(cfg.VocabSize)))
	for i := range out {
		s := Sample{Advantage: float32(rng.NormFloat64())}
		for range P {
			s.PromptIDs = append(s.PromptIDs, int32(rng.IntN(cfg.VocabSize)))
		}
		for range C {
			s.CompletionIDs = append(s.CompletionIDs, int32(rng.IntN(cfg.VocabSize)))
			s.OldLogProbs = append(s.OldLogProbs, u)
		}
		out[i] = s
	}
	return out
}

// usage is the process's resource usage (zero if it cannot be read).
func usage() syscall.Rusage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

// cpuSeconds is the process's user+system CPU time, a figure less
// disturbed than wall time by other work on a shared machine.
func cpuSeconds() float64 {
	ru := usage()
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// sysSeconds is the process's system CPU time.
func sysSeconds() float64 { ru := usage(); return float64(ru.Stime.Nano()) / 1e9 }

// minorFaults counts the process's minor page faults.
func minorFaults() int64 { return usage().Minflt }

func peakRSSBytes() float64 { return float64(usage().Maxrss) * 1024 }

func benchTrainStep(b *testing.B, cfg *models.Config, B, T int, opts Options) {
	benchTrainBatch(b, cfg, benchBatch(cfg, B, T, 1), B, T, opts)
}

// benchTrainBatch is benchTrainStep on a given batch of B rows of T positions.
func benchTrainBatch(b *testing.B, cfg *models.Config, batch []Sample, B, T int, opts Options) {
	w := qwen3.RandomWeights(cfg, 20261128, 0.02)
	opts.MicroBatchTokens = B * T
	opts.RecycleWeights = true                   // as pz train, pretrain and learn run it
	opts.ProfilePrefix = os.Getenv("PZ_PROFILE") // ORT traces for scripts/ortprof
	if opts.LR == 0 {
		opts.LR = 1e-4
	}
	l, err := New(exporttest.Runtime(b), cfg, w, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	// Two warm-up steps: ORT sizes its arena on the first run and lays out
	// its memory pattern on the second (measured on the small preset: 1.5 M
	// and 1.4 M page faults in steps 1 and 2, 0.1 M from step 3 on).
	for range 2 {
		if _, err := l.Step(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	ceil := exporttest.Ceiling(b, 2, time.Second)
	start, cpu0, sys0, flt0 := time.Now(), cpuSeconds(), sysSeconds(), minorFaults()
	n := 0
	for b.Loop() {
		m, err := l.Step(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if m.MicroBatch != 1 {
			b.Fatalf("%d micro-batches, want 1", m.MicroBatch)
		}
		n++
	}
	sec := time.Since(start).Seconds() / float64(n)
	b.ReportMetric((cpuSeconds()-cpu0)/float64(n), "cpu_s/step")
	// Page faults cost ~10 µs each in this VM: fresh gradient or weight
	// buffers every step showed up here as ~80 k faults and ~1 s of system
	// time per small-preset step.
	b.ReportMetric((sysSeconds()-sys0)/float64(n), "sys_s/step")
	b.ReportMetric(float64(minorFaults()-flt0)/float64(n), "faults/step")
	tok := float64(B * T)
	params := float64(cfg.ParamCount())
	b.ReportMetric(tok/sec, "tokens/s")
	b.ReportMetric(sec, "s/step")
	b.ReportMetric(100*6*params*tok/sec/exporttest.AnchorCeiling, "%ceiling")
	b.ReportMetric(100*6*params*tok/sec/ceil, "%ceiling_now")
	b.ReportMetric(ceil/1e9, "ceiling_GFLOP/s")
	if small := models.Small(); cfg.ParamCount() == small.ParamCount() && B == 8 && T == 512 {
		b.ReportMetric(tok/sec/pytorchSmall, "x_pytorch")
		b.ReportMetric(tok/sec/pytorchSmall*exporttest.AnchorCeiling/ceil, "x_pytorch_now")
	}
	b.ReportMetric(peakRSSBytes()/(4*params), "peakRSS/params")
	b.ReportMetric(peakRSSBytes()/(1<<20), "peakRSS_MiB")
}

// BenchmarkTrainStepSmall: the small preset (42 M parameters), batch 8 ×
// 512, GRPO loss, AdamW, one micro-batch; PyTorch: 402 tokens/s, 10.2 s/step.
func BenchmarkTrainStepSmall(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: seconds per step")
	}
	cfg := models.Small()
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			for _, h := range heads() {
				b.Run("head="+h.name, func(b *testing.B) {
					benchTrainStep(b, &cfg, 8, 512, Options{Objective: GRPO, IntraOpThreads: th, VocabChunk: h.chunk,
						MemPattern: h.pattern, LowMemory: h.noArena})
				})
			}
		})
	}
}

// heads are the train graph's vocabulary heads the benchmarks compare:
// the default chunked log-softmax and the full-vocabulary one. Peak RSS
// is the process's, so compare heads in separate runs (-bench
// 'TrainStepSmall/threads=2/head=full').
func heads() []struct {
	name             string
	chunk            int
	pattern, noArena bool
} {
	return []struct {
		name             string
		chunk            int
		pattern, noArena bool
	}{{"chunked", 0, false, false}, {"full", -1, false, false},
		{"chunked-pattern", 0, true, false}, {"full-pattern", -1, true, false}, {"chunked-noarena", 0, false, true}}
}

// BenchmarkTrainStepSmallPrompt: the small preset at 8 × 512 positions
// with a 385-token prompt and 128 completion tokens per row, against the
// same 512 positions all with loss: the difference is what computing
// log-probs only at completion positions (qwen3.LossPositions) saves.
// Compare cpu_s/step of the two in one run: measured 16.7 → 11.8 (load ~4).
func BenchmarkTrainStepSmallPrompt(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: seconds per step")
	}
	cfg := models.Small()
	for _, c := range []struct{ prompt, completion int }{{1, 512}, {385, 128}} {
		b.Run(fmt.Sprintf("completion=%d", c.completion), func(b *testing.B) {
			batch := benchPromptBatch(&cfg, 8, c.prompt, c.completion, 1)
			benchTrainBatch(b, &cfg, batch, 8, 512, Options{Objective: GRPO, IntraOpThreads: 2})
		})
	}
}

// BenchmarkTrainStepDemo: the toy model at batch 16 × 256 with the
// next-token objective (the prototype reached ~11.5 k tokens/s).
func BenchmarkTrainStepDemo(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			benchTrainStep(b, demoConfig(), 16, 256, Options{Objective: NextToken, IntraOpThreads: th})
		})
	}
}

// BenchmarkCheckpointSmall: learn.Save, and models.LoadCheckpoint plus
// Learner.Restore, of the small preset with AdamW state (weights 168 MB,
// optimizer 336 MB).
func BenchmarkCheckpointSmall(b *testing.B) {
	if testing.Short() {
		b.Skip("slow")
	}
	cfg := models.Small()
	l, err := New(exporttest.Runtime(b), &cfg, qwen3.RandomWeights(&cfg, 1, 0.02), Options{LR: 1e-4})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.Run("save", func(b *testing.B) {
		dir := b.TempDir()
		for b.Loop() {
			if _, err := l.Save(dir, SaveOptions{KeepLast: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("load", func(b *testing.B) {
		dir := b.TempDir()
		p, err := l.Save(dir, SaveOptions{KeepLast: 1})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := models.LoadCheckpoint(p); err != nil {
				b.Fatal(err)
			}
			if _, err := l.Restore(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSharedPrefix: a GRPO step on 4 groups of G = 8 completions of
// 16 tokens after a 200-token prompt (the toy loop's shape), plain versus
// Options.SharedPrefix, one micro-batch each, 1 intra-op thread: on the
// demo model and on the small preset.
func BenchmarkSharedPrefix(b *testing.B) {
	small := models.Small()
	for _, c := range []struct {
		name string
		cfg  *models.Config
	}{{"demo", demoConfig()}, {"small", &small}} {
		b.Run(c.name, func(b *testing.B) {
			if c.name == "small" && testing.Short() {
				b.Skip("slow: seconds per step")
			}
			benchSharedPrefix(b, c.cfg)
		})
	}
}

func benchSharedPrefix(b *testing.B, cfg *models.Config) {
	const groups, G, prompt, completion = 4, 8, 200, 16
	rng := rand.New(rand.NewPCG(3, 1))
	var batch []Sample
	u := float32(-math.Log(float64(cfg.VocabSize)))
	for range groups {
		p := make([]int32, prompt)
		for i := range p {
			p[i] = int32(rng.IntN(cfg.VocabSize))
		}
		for range G {
			s := Sample{PromptIDs: p, Advantage: float32(rng.NormFloat64())}
			for range completion {
				s.CompletionIDs = append(s.CompletionIDs, int32(rng.IntN(cfg.VocabSize)))
				s.OldLogProbs = append(s.OldLogProbs, u)
			}
			batch = append(batch, s)
		}
	}
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared=%t", shared), func(b *testing.B) {
			l, err := New(exporttest.Runtime(b), cfg, qwen3.RandomWeights(cfg, 20261128, 0.02),
				Options{LR: 1e-4, IntraOpThreads: 1, MicroBatchTokens: 1 << 14, SharedPrefix: shared})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			if _, err := l.Step(ctx, batch); err != nil {
				b.Fatal(err)
			}
			start, cpu0 := time.Now(), cpuSeconds()
			n := 0
			for b.Loop() {
				if _, err := l.Step(ctx, batch); err != nil {
					b.Fatal(err)
				}
				n++
			}
			sec := time.Since(start).Seconds() / float64(n)
			b.ReportMetric(sec, "s/step")
			b.ReportMetric((cpuSeconds()-cpu0)/float64(n), "cpu_s/step")
			b.ReportMetric(float64(groups*G*completion)/sec, "completion_tokens/s")
		})
	}
}
