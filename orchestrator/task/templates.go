// Package task holds PretrainZero's two tasks without a model: the prompt
// templates, the parsers of the last \mask{...} and \boxed{...} command of a
// completion, the validation of proposed mask spans against their paragraph,
// the masking of a paragraph, and the exact-match verifier of predictions.
//
// Spans and answers are compared as strings; nothing here allocates on the
// verification path (Verify, ParseLastCommand).
package task

import (
	"errors"
	"fmt"
	"strings"
)

// Placeholder is the one slot of every template: the paragraph (generation),
// the masked paragraph (prediction) or the context prefix (next token).
const Placeholder = "{paragraph}"

// Paper templates (METHOD.md §2.3, Fig. 5 of PretrainZero; §8.1 for RPT's
// prompt v0), verbatim with <paragraph> written as {paragraph}.
const (
	PaperGenerationTemplate = `Generate a mask to mask important words in the following paragraph, satisfying the requirements below:
1) The mask should mask one or more entities in the passage. The masked words should be continuous.
2) The masked words should exactly match words in the original passage.
3) The masked words could be predicted according to the context. The difficulty to predict should be moderately challenging for you, so the answer would be short and as unique as possible.
Paragraph: {paragraph}
The final generated masked words must be placed inside \mask{}.`

	PaperPredictionTemplate = `There is a passage with masked words by [mask]:
{paragraph}
Please reason step by step, and put the predicted masked words within \boxed{}.`

	RPTNextTokenTemplate = `Complete the given text under '### Context' by predicting the next token, and wrap it in '\boxed{}'. Please reason step by step to find the most probable next token as the final answer, and enclose it in \boxed{} (note: the token may begin with a space, e.g., \boxed{ para} or \boxed{ =}; do not use \text{}). ### Context {paragraph}`
)

// MaskToken replaces the masked span in the prediction prompt.
const MaskToken = "[mask]"

// Templates are the prompts of the three tasks. Each holds Placeholder
// exactly once.
type Templates struct {
	Generation string `json:"generation"`
	Prediction string `json:"prediction"`
	NextToken  string `json:"next_token"`
}

// DefaultTemplates are the paper's prompts.
func DefaultTemplates() Templates {
	return Templates{
		Generation: PaperGenerationTemplate,
		Prediction: PaperPredictionTemplate,
		NextToken:  RPTNextTokenTemplate,
	}
}

// ErrTemplate reports a template without exactly one placeholder.
var ErrTemplate = errors.New("template must contain " + Placeholder + " exactly once")

// Validate checks that each template holds the placeholder exactly once.
func (t Templates) Validate() error {
	for _, f := range []struct{ name, text string }{
		{"generation", t.Generation}, {"prediction", t.Prediction}, {"next_token", t.NextToken},
	} {
		if n := strings.Count(f.text, Placeholder); n != 1 {
			return fmt.Errorf("%s template: found %d placeholders: %w", f.name, n, ErrTemplate)
		}
	}
	return nil
}

// Fill substitutes text for the placeholder of template. The text itself is
// never scanned for placeholders.
func Fill(template, text string) string {
	i := strings.Index(template, Placeholder)
	if i < 0 {
		return template
	}
	return template[:i] + text + template[i+len(Placeholder):]
}

// GenerationPrompt is the mask-generation prompt for paragraph.
func (t Templates) GenerationPrompt(paragraph string) string { return Fill(t.Generation, paragraph) }

// PredictionPrompt is the mask-prediction prompt for a masked paragraph.
func (t Templates) PredictionPrompt(masked string) string { return Fill(t.Prediction, masked) }

// NextTokenPrompt is RPT's next-token prompt for a context prefix.
func (t Templates) NextTokenPrompt(context string) string { return Fill(t.NextToken, context) }

// Commands parsed out of completions.
const (
	MaskCommand  = `\mask`
	BoxedCommand = `\boxed`
)
