package orchestrator

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"pz/models"
)

// Host-memory estimate of a pz train (or pz rollout) process, so that a
// configuration that cannot fit is refused before it spends an hour on
// its first step. Everything is float32, as the engine and learner hold
// it. The parts, and what bounds them:
//
//   - weights: the learner's current version and, with weight recycling,
//     the two before it (the engine's inputs mode references the current
//     one; initializers mode adds ORT's own copy);
//   - optimizer: AdamW's two moments, each in two alternating buffer sets
//     (learn.Learner.apply); SGD with momentum one slot;
//   - gradients: two sets (the first micro-batch's and the others');
//   - KV cache: the engine keeps, per layer, keys and values for
//     --max-batch rows of --max-prompt-tokens + max new tokens (the
//     standard-op decode graph holds two such sets);
//   - decode logits: --max-batch rows of the vocabulary;
//   - learner activations for one micro-batch of --micro-batch-tokens
//     padded tokens: logits, log-softmax and their gradient over the
//     vocabulary, about 12 hidden-sized and 4 FFN-sized tensors per token
//     and layer, and the attention scores and probabilities
//     (rows × heads × row length²) of every layer, kept for the backward
//     pass;
//   - checkpoint save: the optimizer state and weights encoded at once.
//
// It is an estimate from the graphs' shapes, not a measurement; ORT's
// arena and Go's heap add to it.

// MemorySettings are the flags that size a run.
type MemorySettings struct {
	MaxBatch         int // engine rows decoded together (--max-batch)
	MaxPromptTokens  int // --max-prompt-tokens
	MaxNewTokens     int // max(--gen-max-tokens, --pred-max-tokens)
	MicroBatchTokens int // --micro-batch-tokens; 0: engine only (pz rollout)
	OptimizerSlots   int // 2 for AdamW
	// StandardOps: the decode graph copies its cache (two sets).
	StandardOps bool
	// Initializers: the engine's graphs hold their own copy of the weights.
	Initializers       bool
	SaveBytesPerWeight int // checkpoint weight dtype size (4 f32, 2 bf16)
}

// MemoryPart is one line of an estimate.
type MemoryPart struct {
	Name  string
	Bytes int64
	Flags string // what bounds it
}

// MemoryEstimate is the sum of its parts.
type MemoryEstimate struct {
	Parts []MemoryPart
	Total int64
}

// EstimateMemory estimates the host memory of a run of cfg.
func EstimateMemory(cfg *models.Config, s MemorySettings) MemoryEstimate {
	P := cfg.ParamCount()
	L, H, F := int64(cfg.NumHiddenLayers), int64(cfg.HiddenSize), int64(cfg.IntermediateSize)
	V, KV, D, NH := int64(cfg.VocabSize), int64(cfg.NumKeyValueHeads), int64(cfg.HeadDim), int64(cfg.NumAttentionHeads)
	rows := int64(max(s.MaxBatch, 1))
	rowLen := int64(s.MaxPromptTokens + s.MaxNewTokens)
	var e MemoryEstimate
	add := func(name string, b int64, flags string) {
		e.Parts = append(e.Parts, MemoryPart{name, b, flags})
		e.Total += b
	}
	copies := int64(1)
	if s.MicroBatchTokens > 0 {
		copies = 3
	}
	if s.Initializers {
		copies++
	}
	add("weights", copies*P*4, "model size")
	sets := int64(1)
	if s.StandardOps {
		sets = 2
	}
	add("KV cache", sets*2*L*rows*KV*rowLen*D*4, "--max-batch × (--max-prompt-tokens + max new tokens)")
	add("decode logits", 2*rows*V*4, "--max-batch")
	if s.MicroBatchTokens <= 0 {
		return e
	}
	add("optimizer state", 2*int64(s.OptimizerSlots)*P*4, "--optimizer")
	add("gradients", 2*P*4, "model size")
	T := int64(s.MicroBatchTokens)
	tr := min(rowLen, T)
	mbRows := max(T/max(tr, 1), 1)
	act := 3*T*V*4 + T*L*(12*H+4*F+2*NH*D+2*KV*D)*4 + 2*L*mbRows*NH*tr*tr*4
	add("learner activations", act, "--micro-batch-tokens (and row length)")
	add("checkpoint save", P*(int64(s.OptimizerSlots)*4+int64(max(s.SaveBytesPerWeight, 2))+2), "--save-dtype")
	return e
}

// String lists the parts and the total.
func (e MemoryEstimate) String() string {
	var b strings.Builder
	for _, p := range e.Parts {
		fmt.Fprintf(&b, "%-20s %10s  (%s)\n", p.Name, FormatBytes(p.Bytes), p.Flags)
	}
	fmt.Fprintf(&b, "%-20s %10s\n", "total", FormatBytes(e.Total))
	return b.String()
}

// Check refuses an estimate over limit bytes (limit <= 0: no check),
// naming the total, the limit and the largest part.
func (e MemoryEstimate) Check(limit int64) error {
	if limit <= 0 || e.Total <= limit {
		return nil
	}
	big := e.Parts[0]
	for _, p := range e.Parts {
		if p.Bytes > big.Bytes {
			big = p
		}
	}
	return fmt.Errorf("estimated host memory %s exceeds the %s available (largest part: %s %s, bounded by %s); lower those flags, or set --host-memory off to run anyway:\n%s",
		FormatBytes(e.Total), FormatBytes(limit), big.Name, FormatBytes(big.Bytes), big.Flags, e)
}

// FormatBytes writes n in decimal units (GB = 1e9 bytes).
func FormatBytes(n int64) string {
	f := float64(n)
	for _, u := range []struct {
		s string
		v float64
	}{{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}} {
		if f >= u.v {
			return strconv.FormatFloat(f/u.v, 'f', 1, 64) + " " + u.s
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

// ParseHostMemory reads --host-memory: "auto" (the machine's MemTotal),
// "off" (0: no check), or a size such as 24GB, 64GiB, 1.5TB or a byte
// count.
func ParseHostMemory(s string) (int64, error) {
	switch v := strings.TrimSpace(strings.ToLower(s)); v {
	case "off", "0":
		return 0, nil
	case "auto", "":
		return memTotal()
	default:
		units := []struct {
			s string
			m float64
		}{{"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"tb", 1e12}, {"gb", 1e9}, {"mb", 1e6}, {"t", 1e12}, {"g", 1e9}, {"m", 1e6}, {"b", 1}}
		m := 1.0
		for _, u := range units {
			if strings.HasSuffix(v, u.s) {
				v, m = strings.TrimSpace(strings.TrimSuffix(v, u.s)), u.m
				break
			}
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("--host-memory %q: want auto, off or a size such as 24GB", s)
		}
		return int64(f * m), nil
	}
}

// memTotal is /proc/meminfo's MemTotal (0, no check, where it is absent).
func memTotal() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", f[1], err)
			}
			return kb << 10, nil
		}
	}
	return 0, nil
}
