package bench

import (
	"encoding/json"
	"fmt"

	"pz/orchestrator/task"
)

// RewardVerdict is a completion's verdict as the RL reward code reads it
// (task.Verdict: Strict and Normalised both mean correct; Parsed means an
// answer was found). The stop strings are cut first, as RunBench does.
func RewardVerdict(kind Kind, it Item, completion string) (task.Verdict, Verdict) {
	v := Score(kind, it, TrimStop(kind, completion))
	parsed := v.Reason != ReasonNoAnswer && v.Reason != ReasonUnclosedBoxed && v.Reason != ReasonEmptyBoxed
	return task.Verdict{Answer: v.Extracted, Parsed: parsed, Strict: v.Correct, Normalised: v.Correct}, v
}

// rowQuestion is what an RLVR trajectory row keeps of its question (in
// passage_text) so `pz verify` can re-score it: the options matter to
// multiple-choice extraction.
type rowQuestion struct {
	Question string   `json:"question"`
	Options  []string `json:"options,omitempty"`
}

// EncodeRowQuestion is the passage_text of an RLVR row.
func EncodeRowQuestion(it Item) string {
	b, _ := json.Marshal(rowQuestion{Question: it.Question, Options: it.Options})
	return string(b)
}

// DecodeRowQuestion reads passage_text back into an item with the given
// reference answer.
func DecodeRowQuestion(passage, answer string) (Item, error) {
	var q rowQuestion
	if err := json.Unmarshal([]byte(passage), &q); err != nil {
		return Item{}, fmt.Errorf("rlvr row passage_text: %w", err)
	}
	return Item{Question: q.Question, Options: q.Options, Answer: answer}, nil
}
