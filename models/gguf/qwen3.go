package gguf

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"pz/models"
)

// TokenizerInfo is the byte-level BPE vocabulary written into a GGUF file
// (the GPT-2 style tokenizer Qwen uses).
type TokenizerInfo struct {
	Tokens []string // by id
	// Types are llama.cpp token types by id: 1 normal, 2 unknown, 3 control,
	// 4 user-defined, 5 unused, 6 byte. Nil means all normal.
	Types  []int32
	Merges []string // "left right", by rank
	EOS    int32
	BOS    int32 // -1 when the model has none
}

// llama.cpp token type written for ids past the tokenizer's vocabulary, as
// convert_hf_to_gguf.py pads ("[PAD<id>]", UNUSED).
const tokenTypeUnused = 5

// qwen3LayerName maps a per-layer HF tensor suffix to llama.cpp's name for
// the qwen3 architecture (gguf-py constants MODEL_TENSOR ATTN_NORM, ATTN_Q,
// ATTN_Q_NORM, ATTN_K, ATTN_K_NORM, ATTN_V, ATTN_OUT, FFN_NORM, FFN_GATE,
// FFN_UP, FFN_DOWN).
func qwen3LayerName(hf string) string {
	switch hf {
	case "input_layernorm.weight":
		return "attn_norm.weight"
	case "self_attn.q_proj.weight":
		return "attn_q.weight"
	case "self_attn.q_proj.bias":
		return "attn_q.bias"
	case "self_attn.q_norm.weight":
		return "attn_q_norm.weight"
	case "self_attn.k_proj.weight":
		return "attn_k.weight"
	case "self_attn.k_proj.bias":
		return "attn_k.bias"
	case "self_attn.k_norm.weight":
		return "attn_k_norm.weight"
	case "self_attn.v_proj.weight":
		return "attn_v.weight"
	case "self_attn.v_proj.bias":
		return "attn_v.bias"
	case "self_attn.o_proj.weight":
		return "attn_output.weight"
	case "self_attn.o_proj.bias":
		return "attn_output.bias"
	case "post_attention_layernorm.weight":
		return "ffn_norm.weight"
	case "mlp.gate_proj.weight":
		return "ffn_gate.weight"
	case "mlp.up_proj.weight":
		return "ffn_up.weight"
	case "mlp.down_proj.weight":
		return "ffn_down.weight"
	}
	return ""
}

// Qwen3TensorName maps an HF tensor name to its llama.cpp qwen3 name.
func Qwen3TensorName(hf string) (string, error) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", nil
	case "model.norm.weight":
		return "output_norm.weight", nil
	case "lm_head.weight":
		return "output.weight", nil
	}
	var layer int
	var rest string
	if _, err := fmt.Sscanf(hf, "model.layers.%d.", &layer); err == nil {
		rest = strings.TrimPrefix(hf, fmt.Sprintf("model.layers.%d.", layer))
		if g := qwen3LayerName(rest); g != "" {
			return fmt.Sprintf("blk.%d.%s", layer, g), nil
		}
	}
	return "", fmt.Errorf("tensor %s: no llama.cpp qwen3 name", hf)
}

// WriteQwen3 writes a Qwen3 model as an F32 GGUF file that llama.cpp loads
// as architecture "qwen3". tensors holds every tensor of cfg.TensorSpecs()
// by HF name (row-major, as in safetensors); each missing, unexpected or
// wrong-size tensor is reported.
//
// What llama.cpp expects was read from its sources (ggml-org/llama.cpp):
//   - conversion/qwen.py: Qwen3Model subclasses Qwen2Model, which subclasses
//     TextModel and does not override the tensor data, so unlike LlamaModel
//     there is no q/k row permutation: HF weights are written as they are.
//   - conversion/base.py TextModel.set_gguf_parameters: context_length,
//     embedding_length, feed_forward_length, block_count, attention.head_count,
//     attention.head_count_kv, rope.freq_base, attention.layer_norm_rms_epsilon,
//     attention.key_length and value_length from head_dim, general.file_type.
//   - ggml docs/gguf.md: dimensions are written innermost first, so an HF
//     Linear weight [out, in] becomes ne = [in, out] with the same bytes.
//   - tied embeddings: no output.weight is written; llama.cpp falls back to
//     token_embd.weight. The vocabulary is padded to vocab_size with
//     "[PAD<id>]" tokens of type UNUSED, as convert_hf_to_gguf does.
func WriteQwen3(path string, cfg *models.Config, tensors map[string][]float32, tok TokenizerInfo) error {
	if cfg.ModelType != models.FamilyQwen3 {
		return fmt.Errorf("write qwen3 gguf %s: model_type %q, want qwen3", path, cfg.ModelType)
	}
	return writeDecoder(path, "qwen3", cfg, tensors, tok, nil, func(w *Writer, s models.TensorSpec) error {
		name, err := Qwen3TensorName(s.Name)
		if err != nil {
			return err
		}
		w.AddF32(name, s.Shape, tensors[s.Name])
		return nil
	})
}

// writeDecoder writes the parts every decoder architecture shares: the
// hyperparameters under arch, the vocabulary, and each tensor of
// cfg.TensorSpecs() through tensor (which names, and may reshape or merge,
// it). kv, when set, adds the architecture's own keys.
func writeDecoder(path, arch string, cfg *models.Config, tensors map[string][]float32, tok TokenizerInfo,
	kv func(w *Writer), tensor func(w *Writer, s models.TensorSpec) error) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("write %s gguf %s: %w", arch, path, err)
	}
	specs := cfg.TensorSpecs()
	if err := checkTensors(specs, tensors); err != nil {
		return fmt.Errorf("write %s gguf %s: %w", arch, path, err)
	}
	if err := checkTokenizer(cfg, tok); err != nil {
		return fmt.Errorf("write %s gguf %s: %w", arch, path, err)
	}

	w := NewWriter()
	w.AddString("general.architecture", arch)
	w.AddString("general.name", "pz")
	w.AddUint32("general.file_type", 0) // ALL_F32
	w.AddUint32("general.quantization_version", 2)
	w.AddUint32(arch+".block_count", uint32(cfg.NumHiddenLayers))
	w.AddUint32(arch+".context_length", uint32(cfg.MaxPositionEmbeddings))
	w.AddUint32(arch+".embedding_length", uint32(cfg.HiddenSize))
	w.AddUint32(arch+".feed_forward_length", uint32(cfg.IntermediateSize))
	w.AddUint32(arch+".attention.head_count", uint32(cfg.NumAttentionHeads))
	w.AddUint32(arch+".attention.head_count_kv", uint32(cfg.NumKeyValueHeads))
	w.AddUint32(arch+".attention.key_length", uint32(cfg.HeadDim))
	w.AddUint32(arch+".attention.value_length", uint32(cfg.HeadDim))
	w.AddFloat32(arch+".attention.layer_norm_rms_epsilon", float32(cfg.RMSNormEps))
	w.AddFloat32(arch+".rope.freq_base", float32(cfg.RopeTheta))
	if s := cfg.RopeScaling; s != nil {
		w.AddString(arch+".rope.scaling.type", s.Type)
		w.AddFloat32(arch+".rope.scaling.factor", float32(s.Factor))
		if s.OriginalMaxPositionEmbeddings > 0 {
			w.AddUint32(arch+".rope.scaling.original_context_length", uint32(s.OriginalMaxPositionEmbeddings))
		}
	}
	if kv != nil {
		kv(w)
	}

	tokens := make([]string, cfg.VocabSize)
	types := make([]int32, cfg.VocabSize)
	for i := range tokens {
		switch {
		case i < len(tok.Tokens):
			tokens[i], types[i] = tok.Tokens[i], 1
			if tok.Types != nil {
				types[i] = tok.Types[i]
			}
		default:
			tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), tokenTypeUnused
		}
	}
	w.AddString("tokenizer.ggml.model", "gpt2")
	w.AddString("tokenizer.ggml.pre", "qwen2")
	w.AddStrings("tokenizer.ggml.tokens", tokens)
	w.AddInt32s("tokenizer.ggml.token_type", types)
	w.AddStrings("tokenizer.ggml.merges", tok.Merges)
	w.AddUint32("tokenizer.ggml.eos_token_id", uint32(tok.EOS))
	if tok.BOS >= 0 {
		w.AddUint32("tokenizer.ggml.bos_token_id", uint32(tok.BOS))
	}
	w.AddBool("tokenizer.ggml.add_bos_token", false)

	for _, s := range specs {
		if err := tensor(w, s); err != nil {
			return fmt.Errorf("write %s gguf %s: %w", arch, path, err)
		}
	}
	return w.WriteFile(path)
}

func checkTensors(specs []models.TensorSpec, tensors map[string][]float32) error {
	var errs []string
	want := map[string]bool{}
	for _, s := range specs {
		want[s.Name] = true
		n := int64(1)
		for _, d := range s.Shape {
			n *= d
		}
		data, ok := tensors[s.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("missing %s %v", s.Name, s.Shape))
		case int64(len(data)) != n:
			errs = append(errs, fmt.Sprintf("tensor %s: %d values, shape %v needs %d", s.Name, len(data), s.Shape, n))
		}
	}
	var extra []string
	for name := range tensors {
		if !want[name] {
			extra = append(extra, "unexpected "+name)
		}
	}
	sort.Strings(extra)
	errs = append(errs, extra...)
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

func checkTokenizer(cfg *models.Config, tok TokenizerInfo) error {
	switch {
	case len(tok.Tokens) == 0:
		return errors.New("tokenizer: no tokens")
	case len(tok.Tokens) > cfg.VocabSize:
		return fmt.Errorf("tokenizer: %d tokens exceed vocab_size %d", len(tok.Tokens), cfg.VocabSize)
	case tok.Types != nil && len(tok.Types) != len(tok.Tokens):
		return fmt.Errorf("tokenizer: %d token types for %d tokens", len(tok.Types), len(tok.Tokens))
	case tok.EOS < 0 || int(tok.EOS) >= cfg.VocabSize:
		return fmt.Errorf("tokenizer: eos id %d out of range [0, %d)", tok.EOS, cfg.VocabSize)
	case int(tok.BOS) >= cfg.VocabSize:
		return fmt.Errorf("tokenizer: bos id %d out of range [0, %d)", tok.BOS, cfg.VocabSize)
	}
	return nil
}
