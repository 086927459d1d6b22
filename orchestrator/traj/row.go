// Package traj stores rollout trajectories: one Parquet row per completion
// (zstd), written under a temporary name and renamed on Close so that a file
// that exists is complete — the hand-off from rollout workers to a learner on
// another machine. It also reads them back (whole, streaming, or as the
// learner's subset of columns from Parquet or JSONL) and audits them
// (Audit, behind `pz verify`).
//
// # Schema (version 1)
//
// The columns pz learn reads, with these exact names and types:
//
//	prompt_ids      list<int32>   prompt token ids
//	completion_ids  list<int32>   sampled token ids, EOS included when produced
//	old_logprobs    list<float32> raw policy log-prob of each sampled token (len = completion_ids)
//	advantage       float32       GRPO advantage (0 when filtered)
//	loss_mask       list<int8>    optional per-token mask (empty = all ones)
//	step            int64         rollout step
//	policy_version  int64         version of the weights that sampled the row
//	filtered        bool          the row's group was filtered (DAPO); the learner leaves it out
//
// and besides them:
//
//	schema_version     int32   SchemaVersion
//	run_id             string
//	role               string  "generator" or "predictor"
//	group_id           string  the advantage group (a paragraph for generators, a mask for predictors)
//	sample_index       int32   index of the completion within its group
//	passage_id         string  source passage id
//	passage_text       string  the paragraph (generator rows; "" on predictor rows)
//	mask_group_id      string  generator rows with a valid mask: group_id of its prediction group
//	prompt_text        string
//	completion_text    string
//	sampling_logprobs  list<float32> log-probs under the sampling distribution (temperature, top-p)
//	ref_logprobs       list<float32> optional reference-policy log-probs
//	finish_reason      string  "eos", "stop" (stop string) or "length" (max new tokens)
//	parsed             string  span (generator) or answer (predictor) as parsed, untrimmed
//	parse_ok           bool    the last \mask{} / \boxed{} was found and closed
//	valid              bool    generator: the mask is usable; predictor: always true
//	invalid_reason     string  task.InvalidReason name; "" when valid
//	target             string  predictor rows: the masked span (the ground truth)
//	strict             bool    predictor: exact match after trimming
//	normalised         bool    predictor: match after normalisation (logged, rewarded only if configured)
//	reward             double
//	mask_accuracy      double  generator: accuracy of its mask's predictions; predictor: of its group
//	mask_words         int32   words in the span
//	mask_tokens        int32   tokens in the span (0 when unknown)
//	occurrences        int32   occurrences of the span counted in the paragraph (all are masked unless OneMask)
//	generate_seconds   float32 wall time of the generation batch that produced the row
//	created_unix_ms    int64
//	served_version     int64   model version a remote server (pz serve, Triton) reported for the row; 0 in-process
//	logprobs_recomputed bool   the server returned no log-probs; old_logprobs were recomputed by scoring
//
// The file's key-value metadata holds pz.traj.schema_version and, from the
// rollout, pz.run_id, pz.reward_config, pz.mask_options, pz.templates (JSON)
// that Audit uses to recompute the rows.
package traj

// SchemaVersion is the version of the row schema. Readers accept files of
// this version or older; new columns only ever get added.
const SchemaVersion = 1

// Metadata keys.
const (
	MetaSchemaVersion = "pz.traj.schema_version"
	MetaRunID         = "pz.run_id"
	MetaRewardConfig  = "pz.reward_config"   // reward.Config, JSON
	MetaMaskOptions   = "pz.mask_options"    // task.MaskOptions, JSON
	MetaTemplates     = "pz.templates"       // task.Templates, JSON
	MetaAllOccurrence = "pz.all_occurrences" // "true" or "false"
	MetaMode          = "pz.mode"            // "pretrainzero" (default), "random-span", "random-ntp", "entropy-ntp", "rlvr"
	MetaNTPReward     = "pz.ntp_reward"      // next-token modes' verifier: "exact" (absent in older files: "prefix")
	// MetaBench is the benchmark kind whose verifier scored an RLVR file
	// (pz train --task rlvr); its rows keep the question and options as
	// JSON in passage_text.
	MetaBench = "pz.bench"
)

// Roles.
const (
	RoleGenerator = "generator"
	RolePredictor = "predictor"
)

// Finish reasons (orchestrator.FinishReason's values).
const (
	FinishEOS    = "eos"    // the model produced end-of-sequence
	FinishStop   = "stop"   // a stop string ended the completion
	FinishLength = "length" // max new tokens reached
)

// Row is one completion.
type Row struct {
	SchemaVersion int32  `parquet:"schema_version" json:"schema_version"`
	RunID         string `parquet:"run_id" json:"run_id"`
	Step          int64  `parquet:"step" json:"step"`
	PolicyVersion int64  `parquet:"policy_version" json:"policy_version"`
	Role          string `parquet:"role" json:"role"`
	GroupID       string `parquet:"group_id" json:"group_id"`
	SampleIndex   int32  `parquet:"sample_index" json:"sample_index"`
	PassageID     string `parquet:"passage_id" json:"passage_id"`
	PassageText   string `parquet:"passage_text" json:"passage_text,omitempty"`
	MaskGroupID   string `parquet:"mask_group_id" json:"mask_group_id,omitempty"`

	PromptText       string    `parquet:"prompt_text" json:"prompt_text"`
	PromptIDs        []int32   `parquet:"prompt_ids,list" json:"prompt_ids"`
	CompletionText   string    `parquet:"completion_text" json:"completion_text"`
	CompletionIDs    []int32   `parquet:"completion_ids,list" json:"completion_ids"`
	OldLogprobs      []float32 `parquet:"old_logprobs,list" json:"old_logprobs"`
	SamplingLogprobs []float32 `parquet:"sampling_logprobs,list" json:"sampling_logprobs,omitempty"`
	RefLogprobs      []float32 `parquet:"ref_logprobs,list" json:"ref_logprobs,omitempty"`
	LossMask         []int8    `parquet:"loss_mask,list" json:"loss_mask,omitempty"`
	FinishReason     string    `parquet:"finish_reason" json:"finish_reason"`

	Parsed        string  `parquet:"parsed" json:"parsed"`
	ParseOK       bool    `parquet:"parse_ok" json:"parse_ok"`
	Valid         bool    `parquet:"valid" json:"valid"`
	InvalidReason string  `parquet:"invalid_reason" json:"invalid_reason,omitempty"`
	Target        string  `parquet:"target" json:"target,omitempty"`
	Strict        bool    `parquet:"strict" json:"strict"`
	Normalised    bool    `parquet:"normalised" json:"normalised"`
	Reward        float64 `parquet:"reward" json:"reward"`
	Advantage     float32 `parquet:"advantage" json:"advantage"`
	MaskAccuracy  float64 `parquet:"mask_accuracy" json:"mask_accuracy"`
	Filtered      bool    `parquet:"filtered" json:"filtered"`
	MaskWords     int32   `parquet:"mask_words" json:"mask_words"`
	MaskTokens    int32   `parquet:"mask_tokens" json:"mask_tokens"`
	Occurrences   int32   `parquet:"occurrences" json:"occurrences"`

	GenerateSeconds float32 `parquet:"generate_seconds" json:"generate_seconds"`
	CreatedUnixMs   int64   `parquet:"created_unix_ms" json:"created_unix_ms"`

	ServedVersion      int64 `parquet:"served_version" json:"served_version,omitempty"`
	LogprobsRecomputed bool  `parquet:"logprobs_recomputed" json:"logprobs_recomputed,omitempty"`
}

// LearnColumns are the columns pz learn reads; the first three are required.
var LearnColumns = []string{"prompt_ids", "completion_ids", "advantage", "old_logprobs", "ref_logprobs", "loss_mask", "step", "policy_version", "filtered"}
