package learn

import (
	"errors"
	"fmt"

	rt "pz/export/ort"
)

// oomHint adds to an out-of-memory error of micro-batch p its size and
// what to change; other errors pass unchanged. The step's weights are
// untouched (the optimizer has not run), so a caller that stops here
// keeps its last checkpoint valid.
func (l *Learner) oomHint(err error, p *packed) error {
	if !errors.Is(err, rt.ErrOutOfMemory) {
		return err
	}
	return fmt.Errorf("%w; the micro-batch held %d×%d = %d padded tokens (MicroBatchTokens %d): lower --micro-batch-tokens, since activations grow with it",
		err, p.B, p.T, p.B*p.T, l.opts.MicroBatchTokens)
}
