package models

import "testing"

// TestQwen3_4BShape: the parameter count of Qwen3-4B (tied), computed by
// hand: embed 151936·2560; per layer q 2560·4096, k and v 2560·1024 each,
// o 4096·2560, q/k norms 2·128, two layer norms 2·2560, MLP 3·2560·9728;
// final norm 2560.
func TestQwen3_4BShape(t *testing.T) {
	c := Qwen3_4BShape()
	layer := int64(2560*4096 + 2*2560*1024 + 4096*2560 + 2*128 + 2*2560 + 3*2560*9728)
	want := int64(151936*2560) + 36*layer + 2560
	if got := c.ParamCount(); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
	for _, n := range []string{"small", "qwen3-4b"} {
		if _, err := BenchShape(n); err != nil {
			t.Error(err)
		}
	}
	if _, err := BenchShape("7b"); err == nil {
		t.Error("unknown shape accepted")
	}
}
