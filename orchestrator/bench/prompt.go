package bench

import (
	"fmt"
	"strings"
)

// Prompt is the text pz asks a question with (pz's own wording). Multiple
// choice asks for reasoning and then "The answer is (X)" or \boxed{X},
// the formats both harnesses' extraction reads; math asks for the final
// answer in \boxed{}.
func Prompt(kind Kind, it Item) string {
	var b strings.Builder
	switch kind {
	case MMLUPro, SuperGPQA:
		b.WriteString("Answer the multiple-choice question below. Reason step by step, then give the letter of the correct option as \"The answer is (X)\" or as \\boxed{X}.\n\n")
		if it.Category != "" {
			fmt.Fprintf(&b, "Subject: %s\n", it.Category)
		}
		fmt.Fprintf(&b, "Question: %s\nOptions:\n", strings.TrimSpace(it.Question))
		for i, o := range it.Options {
			fmt.Fprintf(&b, "(%s) %s\n", Letter(i), strings.TrimSpace(o))
		}
		b.WriteString("\nReasoning:")
	case GSM8K:
		fmt.Fprintf(&b, "Work out the problem below step by step. End with the final number in \\boxed{}.\n\nProblem: %s\n\nSolution:", strings.TrimSpace(it.Question))
	case AIME:
		fmt.Fprintf(&b, "Work out the problem below step by step. Its answer is an integer from 0 to 999; end with it in \\boxed{}.\n\nProblem: %s\n\nSolution:", strings.TrimSpace(it.Question))
	default:
		fmt.Fprintf(&b, "Work out the problem below step by step. End with the final answer, simplified, in \\boxed{}.\n\nProblem: %s\n\nSolution:", strings.TrimSpace(it.Question))
	}
	return b.String()
}

// StopStrings end a completion where a base model would start the next
// question of its own; they are cut from the completion before scoring.
func StopStrings(kind Kind) []string {
	if kind.MultipleChoice() {
		return []string{"\nQuestion:"}
	}
	return []string{"\nProblem:"}
}

// TrimStop cuts a stop string (and what follows) off a completion.
func TrimStop(kind Kind, completion string) string {
	for _, s := range StopStrings(kind) {
		if i := strings.Index(completion, s); i >= 0 {
			completion = completion[:i]
		}
	}
	return completion
}
