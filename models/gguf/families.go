package gguf

import (
	"fmt"
	"slices"
	"strings"

	"pz/models"
)

// Write writes cfg's model as an F32 GGUF file for llama.cpp, under the
// architecture of its family: qwen3, qwen3moe or smollm3.
func Write(path string, cfg *models.Config, tensors map[string][]float32, tok TokenizerInfo) error {
	switch cfg.ModelType {
	case models.FamilyQwen3:
		return WriteQwen3(path, cfg, tensors, tok)
	case models.FamilyQwen3MoE:
		return WriteQwen3MoE(path, cfg, tensors, tok)
	case models.FamilySmolLM3:
		return WriteSmolLM3(path, cfg, tensors, tok)
	}
	return fmt.Errorf("write gguf %s: model_type %q has no llama.cpp export (want qwen3, qwen3_moe or smollm3)", path, cfg.ModelType)
}

// WriteQwen3MoE writes a Qwen3-MoE model as llama.cpp's "qwen3moe": the
// attention tensors as for qwen3, and per layer the router as
// ffn_gate_inp.weight (ne [hidden, experts]) and the experts stacked into
// ffn_{gate,up,down}_exps.weight, row-major [experts, out, in] (ne [in,
// out, experts]), as convert_hf_to_gguf.py's Qwen3MoeModel merges them;
// keys expert_count, expert_used_count and expert_feed_forward_length.
//
// llama.cpp's qwen3moe has experts in every layer and always renormalises
// the top-k weights, so configs with dense layers (mlp_only_layers,
// decoder_sparse_step > 1) or norm_topk_prob false are refused rather than
// written into a file that would compute something else.
func WriteQwen3MoE(path string, cfg *models.Config, tensors map[string][]float32, tok TokenizerInfo) error {
	const arch = "qwen3moe"
	if cfg.ModelType != models.FamilyQwen3MoE {
		return fmt.Errorf("write %s gguf %s: model_type %q, want qwen3_moe", arch, path, cfg.ModelType)
	}
	for i := range cfg.NumHiddenLayers {
		if !cfg.SparseLayer(i) {
			return fmt.Errorf("write %s gguf %s: layer %d is dense (mlp_only_layers %v, decoder_sparse_step %d); llama.cpp's qwen3moe has experts in every layer",
				arch, path, i, cfg.MoE.MLPOnlyLayers, cfg.MoE.DecoderSparseStep)
		}
	}
	if !cfg.MoE.NormTopKProb {
		return fmt.Errorf("write %s gguf %s: norm_topk_prob false; llama.cpp's qwen3moe always renormalises the top-k weights", arch, path)
	}
	E, F, H := cfg.MoE.NumExperts, int64(cfg.MoE.MoEIntermediateSize), int64(cfg.HiddenSize)
	kv := func(w *Writer) {
		w.AddUint32(arch+".expert_count", uint32(E))
		w.AddUint32(arch+".expert_used_count", uint32(cfg.MoE.NumExpertsPerTok))
		w.AddUint32(arch+".expert_feed_forward_length", uint32(F))
	}
	return writeDecoder(path, arch, cfg, tensors, tok, kv, func(w *Writer, s models.TensorSpec) error {
		var layer int
		if _, err := fmt.Sscanf(s.Name, "model.layers.%d.mlp.", &layer); err == nil && strings.Contains(s.Name, ".mlp.") {
			if s.Name != models.RouterName(layer) {
				return nil // an expert: written stacked with the router
			}
			w.AddF32(fmt.Sprintf("blk.%d.ffn_gate_inp.weight", layer), s.Shape, tensors[s.Name])
			for _, p := range []struct {
				proj, gg string
				shape    []int64
			}{{"gate_proj", "ffn_gate_exps", []int64{int64(E), F, H}}, {"up_proj", "ffn_up_exps", []int64{int64(E), F, H}},
				{"down_proj", "ffn_down_exps", []int64{int64(E), H, F}}} {
				stacked := make([]float32, 0, int64(E)*F*H)
				for e := range E {
					stacked = append(stacked, tensors[models.ExpertName(layer, e, p.proj)]...)
				}
				w.AddF32(fmt.Sprintf("blk.%d.%s.weight", layer, p.gg), p.shape, stacked)
			}
			return nil
		}
		name, err := Qwen3TensorName(s.Name)
		if err != nil {
			return err
		}
		w.AddF32(name, s.Shape, tensors[s.Name])
		return nil
	})
}

// WriteSmolLM3 writes a SmolLM3 model as llama.cpp's "smollm3". Its
// convert_hf_to_gguf.py class derives from LlamaModel, whose llama.cpp
// graph rotates adjacent pairs (GPT-J style) where transformers rotates
// halves, so q_proj and k_proj rows are permuted within each head (row 2i
// from row i, row 2i+1 from row i + head_dim/2), as LlamaModel.permute
// does. llama.cpp skips RoPE on every 4th layer (n_no_rope_layer_step 4,
// hard-coded, not read from the file), so other NoPE layouts are refused.
func WriteSmolLM3(path string, cfg *models.Config, tensors map[string][]float32, tok TokenizerInfo) error {
	const arch = "smollm3"
	if cfg.ModelType != models.FamilySmolLM3 {
		return fmt.Errorf("write %s gguf %s: model_type %q, want smollm3", arch, path, cfg.ModelType)
	}
	var have, want []int
	for i := range cfg.NumHiddenLayers {
		if !cfg.UseRoPE(i) {
			have = append(have, i)
		}
		if (i+1)%4 == 0 {
			want = append(want, i)
		}
	}
	if !slices.Equal(have, want) {
		return fmt.Errorf("write %s gguf %s: NoPE layers %v (no_rope_layers); llama.cpp's smollm3 skips RoPE on layers %v (every 4th) and cannot be told otherwise", arch, path, have, want)
	}
	D := cfg.HeadDim
	perm := make([]int, D) // row j of a head comes from row perm[j]
	for i := range D / 2 {
		perm[2*i], perm[2*i+1] = i, i+D/2
	}
	kv := func(w *Writer) {
		w.AddUint32(arch+".rope.dimension_count", uint32(D))
		w.AddUint32(arch+".vocab_size", uint32(cfg.VocabSize))
	}
	return writeDecoder(path, arch, cfg, tensors, tok, kv, func(w *Writer, s models.TensorSpec) error {
		name, err := Qwen3TensorName(s.Name)
		if err != nil {
			return err
		}
		data := tensors[s.Name]
		if strings.HasSuffix(s.Name, "self_attn.q_proj.weight") || strings.HasSuffix(s.Name, "self_attn.k_proj.weight") ||
			strings.HasSuffix(s.Name, "self_attn.q_proj.bias") || strings.HasSuffix(s.Name, "self_attn.k_proj.bias") {
			data = permuteHeadRows(data, int(s.Shape[0])/D, D, perm)
		}
		w.AddF32(name, s.Shape, data)
		return nil
	})
}

// permuteHeadRows returns w (heads·d rows of equal width) with row j of
// each head taken from row perm[j] of that head.
func permuteHeadRows(w []float32, heads, d int, perm []int) []float32 {
	out := make([]float32, len(w))
	cols := len(w) / (heads * d)
	for h := range heads {
		for j, src := range perm {
			copy(out[(h*d+j)*cols:(h*d+j+1)*cols], w[(h*d+src)*cols:(h*d+src+1)*cols])
		}
	}
	return out
}
