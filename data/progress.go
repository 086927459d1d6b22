package data

// Progress receives progress reports from long operations (bytes of input
// read for Prepare). Implementations must be safe for concurrent use; the
// CLI's terminal bar is one. A nil Progress is allowed wherever one is
// taken.
type Progress interface {
	SetTotal(total int64) // total units expected, -1 if unknown
	Add(n int64)          // n more units done
}

// TokenCounter counts tokens for token budgets. The models tokenizer
// (pz/models/tokenizer.(*Tokenizer)) satisfies it; data never imports it.
type TokenCounter interface {
	Encode(text string) []int32
}
