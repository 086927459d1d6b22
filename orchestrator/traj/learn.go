package traj

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// LearnRow is what the learner needs of one completion. Optional columns
// carry a Has flag: absent is not the same as zero.
type LearnRow struct {
	PromptIDs     []int32
	CompletionIDs []int32
	Advantage     float32

	OldLogprobs      []float32
	HasOldLogprobs   bool
	RefLogprobs      []float32
	HasRefLogprobs   bool
	LossMask         []int8 // nil: all ones
	Step             int64
	HasStep          bool
	PolicyVersion    int64
	HasPolicyVersion bool
	Filtered         bool
	HasFiltered      bool
	// Role is "generator" or "predictor" ("" when the file has no role
	// column): the learner applies the generator entropy bonus by it.
	Role string
}

// learnParquetRow is the learner's projection of a Parquet row.
type learnParquetRow struct {
	PromptIDs     []int32   `parquet:"prompt_ids,list"`
	CompletionIDs []int32   `parquet:"completion_ids,list"`
	Advantage     float32   `parquet:"advantage"`
	OldLogprobs   []float32 `parquet:"old_logprobs,list"`
	RefLogprobs   []float32 `parquet:"ref_logprobs,list"`
	LossMask      []int8    `parquet:"loss_mask,list"`
	Step          int64     `parquet:"step"`
	PolicyVersion int64     `parquet:"policy_version"`
	Filtered      bool      `parquet:"filtered"`
	Role          string    `parquet:"role"`
}

// learnJSONRow decodes one JSONL line; pointers tell absent from zero.
type learnJSONRow struct {
	PromptIDs     *[]int32   `json:"prompt_ids"`
	CompletionIDs *[]int32   `json:"completion_ids"`
	Advantage     *float32   `json:"advantage"`
	OldLogprobs   *[]float32 `json:"old_logprobs"`
	RefLogprobs   *[]float32 `json:"ref_logprobs"`
	LossMask      *[]int8    `json:"loss_mask"`
	Step          *int64     `json:"step"`
	PolicyVersion *int64     `json:"policy_version"`
	Filtered      *bool      `json:"filtered"`
	Role          string     `json:"role"`
}

// ReadLearnFile reads the learner's columns from a Parquet (.parquet) or
// JSONL (anything else) file, which need not be written by pz: prompt_ids,
// completion_ids and advantage are required; the others are optional.
// Per-token columns must match completion_ids in length. Errors name the
// file, the row (0-based) and the column.
func ReadLearnFile(path string) ([]LearnRow, error) {
	var rows []LearnRow
	var err error
	if strings.HasSuffix(strings.ToLower(path), ".parquet") {
		rows, err = readLearnParquet(path)
	} else {
		rows, err = readLearnJSONL(path)
	}
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if r.HasOldLogprobs && len(r.OldLogprobs) != len(r.CompletionIDs) {
			return nil, fmt.Errorf("%s: row %d: column old_logprobs has %d values for %d completion_ids", path, i, len(r.OldLogprobs), len(r.CompletionIDs))
		}
		if r.HasRefLogprobs && len(r.RefLogprobs) != len(r.CompletionIDs) {
			return nil, fmt.Errorf("%s: row %d: column ref_logprobs has %d values for %d completion_ids", path, i, len(r.RefLogprobs), len(r.CompletionIDs))
		}
		if r.LossMask != nil && len(r.LossMask) != len(r.CompletionIDs) {
			return nil, fmt.Errorf("%s: row %d: column loss_mask has %d values for %d completion_ids", path, i, len(r.LossMask), len(r.CompletionIDs))
		}
	}
	return rows, nil
}

func readLearnParquet(path string) (rows []LearnRow, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trajectories: %w", err)
	}
	defer f.Close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: corrupt parquet: %v", path, r)
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read trajectories: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fmt.Errorf("%s: parquet: %w", path, err)
	}
	has := map[string]bool{}
	for _, col := range LearnColumns {
		has[col] = hasColumn(pf.Schema(), col)
	}
	for _, col := range LearnColumns[:3] {
		if !has[col] {
			return nil, fmt.Errorf("%s: no column %q: %w", path, col, ErrMissingColumn)
		}
	}
	r := parquet.NewGenericReader[learnParquetRow](pf)
	defer r.Close()
	buf := make([]learnParquetRow, 256)
	for {
		clear(buf)
		n, rerr := r.Read(buf)
		for _, p := range buf[:n] {
			lr := LearnRow{
				PromptIDs: p.PromptIDs, CompletionIDs: p.CompletionIDs, Advantage: p.Advantage,
				OldLogprobs: p.OldLogprobs, HasOldLogprobs: has["old_logprobs"],
				RefLogprobs: p.RefLogprobs, HasRefLogprobs: has["ref_logprobs"],
				Step: p.Step, HasStep: has["step"],
				PolicyVersion: p.PolicyVersion, HasPolicyVersion: has["policy_version"],
				Filtered: p.Filtered, HasFiltered: has["filtered"],
				Role: p.Role,
			}
			// An empty ref_logprobs list in a pz file means "not computed".
			if lr.HasRefLogprobs && len(p.RefLogprobs) == 0 && len(p.CompletionIDs) > 0 {
				lr.HasRefLogprobs = false
			}
			if has["loss_mask"] && len(p.LossMask) > 0 {
				lr.LossMask = p.LossMask
			}
			rows = append(rows, lr)
		}
		if rerr == io.EOF {
			return rows, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("%s: %w", path, rerr)
		}
	}
}

func readLearnJSONL(path string) ([]LearnRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read trajectories: %w", err)
	}
	defer f.Close()
	var rows []LearnRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var j learnJSONRow
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		for _, req := range []struct {
			name    string
			present bool
		}{{"prompt_ids", j.PromptIDs != nil}, {"completion_ids", j.CompletionIDs != nil}, {"advantage", j.Advantage != nil}} {
			if !req.present {
				return nil, fmt.Errorf("%s: line %d: no column %q: %w", path, line, req.name, ErrMissingColumn)
			}
		}
		lr := LearnRow{PromptIDs: *j.PromptIDs, CompletionIDs: *j.CompletionIDs, Advantage: *j.Advantage, Role: j.Role}
		if j.OldLogprobs != nil {
			lr.OldLogprobs, lr.HasOldLogprobs = *j.OldLogprobs, true
		}
		if j.RefLogprobs != nil {
			lr.RefLogprobs, lr.HasRefLogprobs = *j.RefLogprobs, true
		}
		if j.LossMask != nil {
			lr.LossMask = *j.LossMask
			if lr.LossMask == nil {
				lr.LossMask = []int8{}
			}
		}
		if j.Step != nil {
			lr.Step, lr.HasStep = *j.Step, true
		}
		if j.PolicyVersion != nil {
			lr.PolicyVersion, lr.HasPolicyVersion = *j.PolicyVersion, true
		}
		if j.Filtered != nil {
			lr.Filtered, lr.HasFiltered = *j.Filtered, true
		}
		rows = append(rows, lr)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", path, line+1, err)
	}
	return rows, nil
}
