package orchestrator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"pz/data"
	"pz/orchestrator/learn"
	"pz/orchestrator/stopwords"
	"pz/orchestrator/task"
)

// PretrainMix is the share of each kind of text in the pretraining stream.
// Cloze and proposal examples teach a small model the \boxed{}/\mask{}
// formats that large base models know from their pretraining
// (TOY-SCALE.md: 50% plain, 40% cloze, 10% proposals).
type PretrainMix struct {
	Plain, Cloze, Proposal float64
}

// PretrainOptions configure Pretrain.
type PretrainOptions struct {
	Steps     int           // optimizer steps (upper bound)
	Budget    time.Duration // stop after this much time (0: no limit)
	BatchSeqs int           // sequences per step
	SeqLen    int           // tokens per sequence (packed windows)
	Mix       PretrainMix
	// Templates format the cloze (Prediction) and proposal (Generation)
	// examples; the answer follows the prompt: "\boxed{span}" or
	// "\mask{span}", then the end-of-text token.
	Templates task.Templates
	EOS       int32
	Seed      uint64
	// SpanWords caps the cloze/proposal span length in words.
	SpanWords int
	// AnswerSpace writes a space before the span inside the braces
	// ("\boxed{ span}"), so that in a byte-level BPE vocabulary the
	// answer's tokens are the very tokens of the word in the paragraph
	// (" span", not "span"): a model trained from scratch then only has to
	// copy ids, not also learn which unprefixed token goes with each
	// space-prefixed one. Verification trims spaces, so answers with or
	// without it score the same.
	AnswerSpace bool
	OnStep      func(learn.Metrics)
}

// PretrainText renders passage p as one training example of the given
// kind ("plain", "cloze", "proposal") in o's format, with spans drawn from
// rng.
func PretrainText(p data.Passage, kind string, o *PretrainOptions, rng *rand.Rand) string {
	t, spanWords := o.Templates, o.SpanWords
	if kind == "plain" {
		return p.Text
	}
	sp, ok := data.RandomWordSpan(rng, p.Text, data.WordSpanOptions{P: 0.5, MaxWords: max(spanWords, 1)})
	if !ok {
		return p.Text
	}
	// Proposals demonstrate spans with a content word (a few draws), as the
	// generator is asked to mask "important words".
	stop := stopwords.English()
	for try := 0; kind == "proposal" && try < 8 && stop.OnlyStopWords(sp.Text); try++ {
		sp, _ = data.RandomWordSpan(rng, p.Text, data.WordSpanOptions{P: 0.5, MaxWords: max(spanWords, 1)})
	}
	answer := sp.Text
	if o.AnswerSpace {
		answer = " " + answer
	}
	if kind == "proposal" {
		return t.GenerationPrompt(p.Text) + task.MaskCommand + "{" + answer + "}"
	}
	m, why := task.ValidateMask(p.Text, sp.Text, task.MaskOptions{})
	if why != task.Valid {
		return p.Text
	}
	return t.PredictionPrompt(task.MaskParagraph(p.Text, m, true, nil)) + task.BoxedCommand + "{" + answer + "}"
}

// Pretrain trains with the next-token objective on a stream of packed
// windows of mixed plain, cloze and proposal texts drawn from passages.
func Pretrain(ctx context.Context, l *learn.Learner, tok Tokenizer, src Passages, o PretrainOptions) (int, error) {
	if o.SeqLen < 2 || o.BatchSeqs < 1 {
		return 0, fmt.Errorf("pretrain: seq len %d and batch %d must be >= 2 and >= 1", o.SeqLen, o.BatchSeqs)
	}
	mix := o.Mix
	total := mix.Plain + mix.Cloze + mix.Proposal
	if total <= 0 {
		mix, total = PretrainMix{Plain: 1}, 1
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x7072657472))
	var stream []int32
	next := func() error {
		p, err := src.Next()
		if err != nil {
			return err
		}
		u := rng.Float64() * total
		kind := "plain"
		switch {
		case u < mix.Cloze:
			kind = "cloze"
		case u < mix.Cloze+mix.Proposal:
			kind = "proposal"
		}
		stream = append(stream, tok.EncodeSpecial(PretrainText(p, kind, &o, rng))...)
		stream = append(stream, o.EOS)
		return nil
	}
	start := time.Now()
	steps := 0
	for ; steps < o.Steps; steps++ {
		if err := ctx.Err(); err != nil {
			return steps, err
		}
		if o.Budget > 0 && time.Since(start) > o.Budget {
			break
		}
		batch := make([]learn.Sample, 0, o.BatchSeqs)
		for len(batch) < o.BatchSeqs {
			for len(stream) < o.SeqLen {
				if err := next(); err != nil {
					return steps, fmt.Errorf("pretrain: data: %w", err)
				}
			}
			w := stream[:o.SeqLen]
			batch = append(batch, learn.Sample{PromptIDs: w[:1:1], CompletionIDs: append([]int32(nil), w[1:]...)})
			stream = stream[o.SeqLen:]
		}
		m, err := l.Step(ctx, batch)
		if err != nil {
			return steps, err
		}
		if o.OnStep != nil {
			o.OnStep(m)
		}
	}
	return steps, nil
}

// ShortTemplates are compact prompts for small models trained from
// scratch (the demo): the paper's instructions would be most of a tiny
// model's context. The answer follows directly: "\mask{span}" after
// "Mask:", "\boxed{span}" after "Answer:".
func ShortTemplates() task.Templates {
	return task.Templates{
		Generation: task.Placeholder + "\nMask:",
		Prediction: task.Placeholder + "\nAnswer:",
		NextToken:  task.Placeholder,
	}
}
