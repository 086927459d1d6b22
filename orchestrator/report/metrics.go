package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Step is the part of one metrics.jsonl line (orchestrator.StepMetrics)
// that the report plots. Numbers are pointers so that a field an older run
// did not write is a gap in its curve, not a zero; unknown fields are
// ignored.
type Step struct {
	Step          int64    `json:"step"`
	Mode          string   `json:"mode"`
	Rollout       Rollout  `json:"rollout"`
	GenLength     *float64 `json:"gen_response_length"`
	PredLength    *float64 `json:"pred_response_length"`
	Learn         Learn    `json:"learn"`
	LearnRows     *float64 `json:"learn_rows"`
	FilteredRows  *float64 `json:"filtered_rows"`
	GenSeconds    *float64 `json:"gen_seconds"`
	PredSeconds   *float64 `json:"pred_seconds"`
	VerifySeconds *float64 `json:"verify_seconds"`
	LearnSeconds  *float64 `json:"learn_seconds"`
	SyncSeconds   *float64 `json:"sync_seconds"`
	WriteSeconds  *float64 `json:"write_seconds"`
	StepSeconds   *float64 `json:"step_seconds"`
	SampledTokPS  *float64 `json:"sampled_tokens_per_s"`
	SampledTokens *float64 `json:"sampled_tokens"`
	TrainTokPS    *float64 `json:"train_tokens_per_s"`
	Eval          *Eval    `json:"eval"`
	// SpanKinds: valid masks by labelled kind (corpora with spans.jsonl).
	SpanKinds map[string]SpanKind `json:"span_kinds"`
}

// SpanKind is one kind's count among a step's valid masks.
type SpanKind struct {
	Masks       float64 `json:"masks"`
	Predictions float64 `json:"predictions"`
	Correct     float64 `json:"correct"`
	Accuracy    float64 `json:"accuracy"`
}

// Rollout is the plotted part of reward.StepStats.
type Rollout struct {
	Generator      Role               `json:"generator"`
	Predictor      Role               `json:"predictor"`
	Proposals      *float64           `json:"proposals"`
	ValidMasks     *float64           `json:"valid_masks"`
	InvalidRate    *float64           `json:"invalid_rate"`
	Invalid        map[string]float64 `json:"invalid_by_reason"`
	StrictAccuracy *float64           `json:"strict_accuracy"`
	NormAccuracy   *float64           `json:"normalised_accuracy"`
	StopWordShare  *float64           `json:"stop_word_share"`
	DistinctSpans  *float64           `json:"distinct_spans"`
	TopSpans       []SpanCount        `json:"top_spans"`
	MaskWordsMean  *float64           `json:"mask_words_mean"`
	MaskTokensMean *float64           `json:"mask_tokens_mean"`
	// Guards is reward.GuardCounts as a map, so that new guards show up
	// without a change here.
	Guards map[string]float64 `json:"guards"`
}

// Role is the plotted part of reward.RoleStats.
type Role struct {
	Rows           *float64 `json:"rows"`
	Groups         *float64 `json:"groups"`
	FilteredGroups *float64 `json:"filtered_groups"`
	FilteredRows   *float64 `json:"filtered_rows"`
	RewardMean     *float64 `json:"reward_mean"`
}

// SpanCount is a span and how many valid proposals had it.
type SpanCount struct {
	Span  string `json:"span"`
	Count int    `json:"count"`
}

// Learn is the plotted part of learn.Metrics.
type Learn struct {
	Loss     *float64 `json:"loss"`
	PGLoss   *float64 `json:"pg_loss"`
	ClipFrac *float64 `json:"clip_frac"`
	ApproxKL *float64 `json:"approx_kl"`
	Entropy  *float64 `json:"entropy"`
	GradNorm *float64 `json:"grad_norm"`
	Mismatch *float64 `json:"mismatch"`
	Skipped  string   `json:"skipped"`
	Tokens   *float64 `json:"tokens"`
}

// Eval is an evaluation's result per kind (orchestrator.EvalReport; also
// the format of eval.json).
type Eval struct {
	Kinds map[string]*KindResult `json:"kinds"`
}

// KindResult is the accuracy on one kind of question with its 95%
// interval (orchestrator.KindResult).
type KindResult struct {
	N        int     `json:"n"`
	Correct  int     `json:"correct"`
	Accuracy float64 `json:"accuracy"`
	Low      float64 `json:"ci95_low"`
	High     float64 `json:"ci95_high"`
}

// ReadMetrics reads a metrics.jsonl file. Blank lines are skipped. A line
// that does not parse is an error naming path:line, except the last line,
// which a run killed mid-write may have left truncated: it is skipped with
// a warning on log (nil: slog.Default()).
func ReadMetrics(path string, log *slog.Logger) ([]Step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	return readMetrics(f, path, log)
}

func readMetrics(r io.Reader, path string, log *slog.Logger) ([]Step, error) {
	if log == nil {
		log = slog.Default()
	}
	br := bufio.NewReader(r)
	var (
		steps   []Step
		pending error // the previous line's parse error, fatal unless it was the last line
		lineNo  int
	)
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, fmt.Errorf("metrics %s:%d: %w", path, lineNo+1, rerr)
		}
		if len(line) > 0 {
			lineNo++
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if pending != nil {
					return nil, pending
				}
				var s Step
				if err := json.Unmarshal(t, &s); err != nil {
					pending = fmt.Errorf("metrics %s:%d: %w", path, lineNo, err)
				} else {
					steps = append(steps, s)
				}
			}
		}
		if rerr != nil {
			break
		}
	}
	if pending != nil {
		log.Warn("report: skipping the unreadable last line (a run stopped mid-write?)", "err", pending)
	}
	return steps, nil
}
