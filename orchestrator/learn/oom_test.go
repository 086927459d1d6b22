package learn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	rt "pz/export/ort"
)

func TestOOMHint(t *testing.T) {
	l := &Learner{opts: Options{MicroBatchTokens: 4096}}
	p := &packed{B: 8, T: 512}
	oom := fmt.Errorf("run %q: %w", "train", &rt.OOMError{Session: "train", Device: "cuda", Bytes: 1 << 30})
	got := l.oomHint(oom, p)
	if !errors.Is(got, rt.ErrOutOfMemory) {
		t.Errorf("%v no longer wraps ErrOutOfMemory", got)
	}
	for _, w := range []string{"8×512 = 4096 padded tokens", "--micro-batch-tokens", "1.00 GiB"} {
		if !strings.Contains(got.Error(), w) {
			t.Errorf("%q does not say %q", got, w)
		}
	}
	other := errors.New("shape mismatch")
	if l.oomHint(other, p) != other {
		t.Error("a non-OOM error was changed")
	}
}
