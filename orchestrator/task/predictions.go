package task

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// PredictionLine is one line of an external predictions JSONL file: a target
// and either an extracted answer or a completion to parse.
type PredictionLine struct {
	Target     *string `json:"target"`
	Answer     *string `json:"answer"`
	Completion *string `json:"completion"`
}

// PredictionReport counts the verdicts of a predictions file.
type PredictionReport struct {
	Lines      int            `json:"lines"`
	Scored     int            `json:"scored"`
	BadLines   int            `json:"bad_lines"` // not JSON, or no target, or neither answer nor completion
	Parsed     int            `json:"parsed"`
	Strict     int            `json:"strict"`
	Normalised int            `json:"normalised"`
	Failures   map[string]int `json:"parse_failures,omitempty"`
}

// StrictAccuracy is Strict/Scored (0 with nothing scored).
func (r PredictionReport) StrictAccuracy() float64 { return ratio(r.Strict, r.Scored) }

// NormalisedAccuracy is Normalised/Scored.
func (r PredictionReport) NormalisedAccuracy() float64 { return ratio(r.Normalised, r.Scored) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// ScorePredictions verifies every line of a predictions JSONL stream with the
// same verifier as the rollout. A line with "answer" is compared directly;
// one with "completion" has its last \boxed{} parsed first. Bad lines are
// counted and logged (name identifies the stream), never fatal.
func ScorePredictions(ctx context.Context, name string, r io.Reader, log *slog.Logger) (PredictionReport, error) {
	if log == nil {
		log = slog.Default()
	}
	rep := PredictionReport{Failures: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		if rep.Lines%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		rep.Lines++
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var pl PredictionLine
		if err := json.Unmarshal(line, &pl); err != nil || pl.Target == nil || (pl.Answer == nil && pl.Completion == nil) {
			rep.BadLines++
			log.Warn("predictions: bad line", "file", name, "line", rep.Lines, "err", err)
			continue
		}
		var v Verdict
		if pl.Answer != nil {
			v = VerifyAnswer(*pl.Answer, *pl.Target)
		} else {
			v = Verify(*pl.Completion, *pl.Target)
		}
		rep.Scored++
		if v.Parsed {
			rep.Parsed++
		} else {
			rep.Failures[v.Failure.String()]++
		}
		if v.Strict {
			rep.Strict++
		}
		if v.Normalised {
			rep.Normalised++
		}
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("%s: line %d: %w", name, rep.Lines+1, err)
	}
	return rep, nil
}
