package orchestrator

import (
	"strings"
	"testing"

	"pz/models"
)

// TestEstimateMemoryByHand checks each part on a config small enough to
// count by hand: 2 layers, hidden 4, FFN 8, 2 heads, 1 KV head of 2,
// vocabulary 10, tied.
func TestEstimateMemoryByHand(t *testing.T) {
	c := models.Tiny()
	c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers = 4, 8, 2
	c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize = 2, 1, 2, 10
	// embed 40; per layer: 2 norms 8, q 16, k 8, v 8, o 16, q/k norm 4,
	// gate 32, up 32, down 32 = 156; final norm 4: 40 + 312 + 4 = 356.
	if p := c.ParamCount(); p != 356 {
		t.Fatalf("param count %d, want 356", p)
	}
	e := EstimateMemory(&c, MemorySettings{MaxBatch: 3, MaxPromptTokens: 5, MaxNewTokens: 2, MicroBatchTokens: 14, OptimizerSlots: 2, SaveBytesPerWeight: 2})
	want := map[string]int64{
		"weights":         3 * 356 * 4,
		"KV cache":        2 * 2 * 3 * 1 * 7 * 2 * 4, // k+v × layers × rows × kv heads × (5+2) × head dim × 4
		"decode logits":   2 * 3 * 10 * 4,
		"optimizer state": 2 * 2 * 356 * 4,
		"gradients":       2 * 356 * 4,
		// 3·T·V + T·L·(12H + 4F + 2·NH·D + 2·KV·D) + 2·L·rows·NH·T_row², rows = 14/7 = 2
		"learner activations": (3*14*10 + 14*2*(48+32+8+4) + 2*2*2*2*7*7) * 4,
		"checkpoint save":     356 * (8 + 2 + 2),
	}
	var total int64
	for _, p := range e.Parts {
		if w, ok := want[p.Name]; !ok || w != p.Bytes {
			t.Errorf("%s: %d bytes, want %d", p.Name, p.Bytes, w)
		}
		total += p.Bytes
	}
	if len(e.Parts) != len(want) || e.Total != total {
		t.Errorf("%d parts, total %d (sum %d)", len(e.Parts), e.Total, total)
	}
	if err := e.Check(total); err != nil {
		t.Errorf("the total itself is refused: %v", err)
	}
	if err := e.Check(total - 1); err == nil || !strings.Contains(err.Error(), FormatBytes(total)) {
		t.Errorf("one byte short: %v", err)
	}
}

// TestQwen3_4BRecipeIsRefused: the recipe's settings
// (scripts/recipes/qwen3-4b-base.yaml) on Qwen3-4B need terabytes (the
// learner's attention probabilities for 5,632-token rows and the KV cache
// of 256 such rows lead) and are refused on 128 GB with the numbers named.
func TestQwen3_4BRecipeIsRefused(t *testing.T) {
	c := models.Tiny()
	c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers = 2560, 9728, 36
	c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize = 32, 8, 128, 151936
	e := EstimateMemory(&c, MemorySettings{MaxBatch: 256, MaxPromptTokens: 1536, MaxNewTokens: 4096, MicroBatchTokens: 32768, OptimizerSlots: 2, SaveBytesPerWeight: 2})
	t.Logf("Qwen3-4B at the recipe's settings:\n%s", e)
	kv := e.Parts[1]
	if kv.Name != "KV cache" || kv.Bytes != 2*36*256*8*5632*128*4 {
		t.Errorf("KV cache %d", kv.Bytes)
	}
	err := e.Check(128e9)
	if err == nil || !strings.Contains(err.Error(), "KV cache") || !strings.Contains(err.Error(), "128.0 GB") {
		t.Errorf("128 GB: %v", err)
	}
}

func TestParseHostMemory(t *testing.T) {
	for in, want := range map[string]int64{"off": 0, "24GB": 24e9, "64GiB": 64 << 30, "1.5T": 1.5e12, "1000": 1000} {
		if got, err := ParseHostMemory(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseHostMemory("lots"); err == nil {
		t.Error("lots accepted")
	}
	if n, err := ParseHostMemory("auto"); err != nil || n < 0 {
		t.Errorf("auto: %d, %v", n, err)
	}
}
