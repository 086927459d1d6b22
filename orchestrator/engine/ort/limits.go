package ort

import (
	"fmt"
	"math"

	"pz/models"
	"pz/orchestrator"
)

// WeightsAuto picks the weight mode by size (ResolveWeightMode).
const WeightsAuto WeightMode = "auto"

// MaxInitializerBytes is the most float32 weight bytes a graph may hold as
// initializers: a serialised ONNX model is one protobuf message, which
// cannot exceed 2 GiB, and the graph's own nodes need some room.
const MaxInitializerBytes = math.MaxInt32 - 64<<20

// ResolveWeightMode turns "" or WeightsAuto into initializers (prepacked,
// faster at small batch) when the model's float32 weights fit a protobuf,
// and inputs otherwise; an explicit initializers mode for a model that does
// not fit is an error naming the size.
func ResolveWeightMode(cfg *models.Config, mode WeightMode) (WeightMode, error) {
	bytes := cfg.ParamCount() * 4
	switch mode {
	case "", WeightsAuto:
		if bytes > MaxInitializerBytes {
			return WeightsInputs, nil
		}
		return WeightsInitializers, nil
	case WeightsInitializers:
		if bytes > MaxInitializerBytes {
			return "", fmt.Errorf("engine: --weights initializers: the model's float32 weights are %.2f GB, over the %.2f GB a graph can hold (protobuf's 2 GiB limit); use --weights inputs or auto",
				float64(bytes)/1e9, float64(MaxInitializerBytes)/1e9)
		}
		return mode, nil
	case WeightsInputs:
		return mode, nil
	}
	return "", fmt.Errorf("engine: weight mode %q (want %q, %q or %q)", mode, WeightsAuto, WeightsInputs, WeightsInitializers)
}

// withVocabLimit gives every request without a vocabulary limit the
// engine's (Options.VocabLimit), so no sampler, greedy decoding included,
// can draw a padded embedding row.
func (e *Engine) withVocabLimit(reqs []orchestrator.GenRequest) []orchestrator.GenRequest {
	if e.opts.VocabLimit <= 0 {
		return reqs
	}
	out := make([]orchestrator.GenRequest, len(reqs))
	for i, r := range reqs {
		if r.Sampling.VocabLimit == 0 || r.Sampling.VocabLimit > e.opts.VocabLimit {
			r.Sampling.VocabLimit = e.opts.VocabLimit
		}
		out[i] = r
	}
	return out
}

// ban sets the logits of Options.Banned ids (holes in the tokenizer's
// ids) to −Inf, which every sampler treats as probability 0.
func (e *Engine) ban(logits []float32) {
	for _, id := range e.opts.Banned {
		if int(id) < len(logits) {
			logits[id] = float32(math.Inf(-1))
		}
	}
}

// VocabMask returns the vocabulary limit and the banned ids for a model of
// modelVocab embedding rows and a tokenizer: ids at or past the tokenizer's
// size (Qwen3 pads 151,669 ids to 151,936 rows) and ids inside it that
// the tokenizer does not define. It fails when the tokenizer has more ids
// than the model has rows.
func VocabMask(modelVocab int, tok interface {
	VocabSize() int
	TokenString(int32) string
}) (limit int, banned []int32, err error) {
	n := tok.VocabSize()
	if n > modelVocab {
		return 0, nil, fmt.Errorf("the tokenizer has %d ids but the model only %d embedding rows (vocab_size)", n, modelVocab)
	}
	for id := range int32(n) {
		if tok.TokenString(id) == "" {
			banned = append(banned, id)
		}
	}
	if n < modelVocab {
		limit = n
	}
	return limit, banned, nil
}
