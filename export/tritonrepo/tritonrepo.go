// Package tritonrepo writes Triton model repositories of pz models:
//
//	REPO/NAME/config.pbtxt            the decode graph (KV cache as explicit inputs/outputs)
//	REPO/NAME/<v>/model.onnx (+ .data)
//	REPO/NAME/<v>/pz/                 the model folder (config.json, safetensors, tokenizer) pz serve loads
//	REPO/NAME_score/config.pbtxt      the score graph (log-probs and entropy of given tokens)
//	REPO/NAME_score/<v>/model.onnx (+ .data)
//
// Every config.pbtxt is written from, and checked against, the generated
// inference.ModelConfig types (protobuf text format, the schema Triton
// reads). Versions are whole folders written under a temporary name and
// renamed, so a server polling or loading the repository never sees half a
// version; the version policy is "latest", so Triton's explicit
// model-control load (POST /v2/repository/models/NAME/load) serves the
// newest complete one.
package tritonrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/prototext"

	"pz/export"
	"pz/internal/atomicfile"
	pb "pz/internal/kservepb"
	"pz/models"
	"pz/models/qwen3"
)

// Options configure a repository.
type Options struct {
	Repo string
	Name string // default "pz"
	// MaxBatch is max_batch_size (default 64); GPU puts the instances on
	// GPUs (KIND_GPU), else KIND_CPU; Instances per device (default 1).
	MaxBatch  int
	GPU       bool
	Instances int
	// QueueDelay is dynamic batching's max_queue_delay_microseconds
	// (default 1000).
	QueueDelay uint64
	// SkipONNX leaves the ONNX graphs out (a repository for pz serve
	// only: a weight update then costs a safetensors write).
	SkipONNX bool
	// KeepLast keeps this many versions (default 2; older ones removed).
	KeepLast      int
	TokenizerFrom string // folder whose tokenizer files go into <v>/pz
}

func (o *Options) defaults() error {
	if o.Repo == "" {
		return errors.New("triton repository: no folder given")
	}
	if o.Name == "" {
		o.Name = "pz"
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.Instances <= 0 {
		o.Instances = 1
	}
	if o.QueueDelay == 0 {
		o.QueueDelay = 1000
	}
	if o.KeepLast <= 0 {
		o.KeepLast = 2
	}
	return nil
}

// ScoreName is the score model's name.
func ScoreName(name string) string { return name + "_score" }

var dtypes = map[export.DType]pb.DataType{export.Float32: pb.DataType_TYPE_FP32, export.Int64: pb.DataType_TYPE_INT64,
	export.Int32: pb.DataType_TYPE_INT32}

// dims drops the batch dimension; symbolic dimensions become -1.
func dims(s export.Shape) []int64 {
	out := make([]int64, 0, len(s))
	for _, d := range s[1:] {
		if d.Static() {
			out = append(out, d.Size)
		} else {
			out = append(out, -1)
		}
	}
	return out
}

// Config is the Triton configuration of a built graph.
func Config(name string, g *export.Graph, o Options) (*pb.ModelConfig, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	kind := pb.ModelInstanceGroup_KIND_CPU
	if o.GPU {
		kind = pb.ModelInstanceGroup_KIND_GPU
	}
	c := &pb.ModelConfig{Name: name, Backend: "onnxruntime", MaxBatchSize: int32(o.MaxBatch),
		VersionPolicy:        &pb.ModelVersionPolicy{PolicyChoice: &pb.ModelVersionPolicy_Latest_{Latest: &pb.ModelVersionPolicy_Latest{NumVersions: 1}}},
		InstanceGroup:        []*pb.ModelInstanceGroup{{Kind: kind, Count: int32(o.Instances)}},
		SchedulingChoice:     &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{MaxQueueDelayMicroseconds: o.QueueDelay}},
		DefaultModelFilename: "model.onnx"}
	for _, v := range g.Inputs() {
		dt, ok := dtypes[v.DType()]
		if !ok || len(v.Shape()) == 0 {
			return nil, fmt.Errorf("model %s: input %s (%v %v) has no Triton form", name, v.Name(), v.DType(), v.Shape())
		}
		c.Input = append(c.Input, &pb.ModelInput{Name: v.Name(), DataType: dt, Dims: dims(v.Shape())})
	}
	for _, v := range g.Outputs() {
		dt, ok := dtypes[v.DType()]
		if !ok || len(v.Shape()) == 0 {
			return nil, fmt.Errorf("model %s: output %s (%v %v) has no Triton form", name, v.Name(), v.DType(), v.Shape())
		}
		c.Output = append(c.Output, &pb.ModelOutput{Name: v.Name(), DataType: dt, Dims: dims(v.Shape())})
	}
	return c, nil
}

// ReadConfig parses a config.pbtxt with the ModelConfig schema.
func ReadConfig(path string) (*pb.ModelConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c pb.ModelConfig
	if err := prototext.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func writeConfig(dir string, c *pb.ModelConfig) error {
	b, err := prototext.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(c)
	if err != nil {
		return err
	}
	// Checked by parsing it back with the schema, as Triton will.
	var back pb.ModelConfig
	if err := prototext.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("config.pbtxt of %s does not parse back: %w", c.Name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.pbtxt"), b, 0o644)
}

// graphs builds the decode and score graphs with the weights inside.
func graphs(cfg *models.Config, weights map[string][]float32) (dec, score *export.Model, err error) {
	src := qwen3.WeightsAsInitializers(weights)
	// The standard-op decode graph: its past_* and present_* are separate
	// tensors, as Triton passes them (the fused graph shares one buffer).
	if dec, err = qwen3.BuildDecode(cfg, qwen3.DecodeOptions{Weights: src}); err != nil {
		return nil, nil, err
	}
	fw, err := qwen3.BuildForward(cfg, qwen3.ForwardOptions{Weights: src, Entropy: true, Name: "qwen3_score"})
	if err != nil {
		return nil, nil, err
	}
	fw.G.Output(qwen3.LogProbs, fw.LogProbs)
	fw.G.Output(qwen3.Entropy, fw.Entropy)
	if score, err = fw.G.Build(); err != nil {
		return nil, nil, err
	}
	return dec, score, nil
}

// WriteVersion writes version v of the model (configs included) and
// removes versions beyond KeepLast.
func WriteVersion(ctx context.Context, o Options, cfg *models.Config, weights map[string][]float32, v int64) error {
	if err := o.defaults(); err != nil {
		return err
	}
	if v < 1 {
		return fmt.Errorf("triton repository %s: version %d (Triton versions start at 1)", o.Repo, v)
	}
	ver := strconv.FormatInt(v, 10)
	var dec, score *export.Model
	if !o.SkipONNX {
		var err error
		if dec, score, err = graphs(cfg, weights); err != nil {
			return fmt.Errorf("triton repository %s: %w", o.Repo, err)
		}
		for _, m := range []struct {
			name string
			g    *export.Model
		}{{o.Name, dec}, {ScoreName(o.Name), score}} {
			c, err := Config(m.name, m.g.Graph, o)
			if err != nil {
				return err
			}
			if err := writeConfig(filepath.Join(o.Repo, m.name), c); err != nil {
				return fmt.Errorf("triton repository %s: %w", o.Repo, err)
			}
		}
	} else if err := os.MkdirAll(filepath.Join(o.Repo, o.Name), 0o755); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := atomicfile.WriteDir(filepath.Join(o.Repo, o.Name, ver), 0o755, func(tmp string) error {
		if dec != nil {
			if err := dec.WriteFile(filepath.Join(tmp, "model.onnx"), &export.ExternalData{}); err != nil {
				return err
			}
		}
		return models.SaveCheckpoint(filepath.Join(tmp, "pz"), cfg, weights, models.SaveOptions{TokenizerFrom: o.TokenizerFrom})
	})
	if err != nil {
		return fmt.Errorf("triton repository %s version %d: %w", o.Repo, v, err)
	}
	if score != nil {
		err = atomicfile.WriteDir(filepath.Join(o.Repo, ScoreName(o.Name), ver), 0o755, func(tmp string) error {
			return score.WriteFile(filepath.Join(tmp, "model.onnx"), &export.ExternalData{})
		})
		if err != nil {
			return fmt.Errorf("triton repository %s version %d: %w", o.Repo, v, err)
		}
	}
	for _, m := range []string{o.Name, ScoreName(o.Name)} {
		vs, err := Versions(o.Repo, m)
		if err != nil {
			continue
		}
		for len(vs) > o.KeepLast {
			os.RemoveAll(filepath.Join(o.Repo, m, strconv.FormatInt(vs[0], 10)))
			vs = vs[1:]
		}
	}
	return nil
}

// Versions lists a model's complete versions, oldest first.
func Versions(repo, name string) ([]int64, error) {
	ents, err := os.ReadDir(filepath.Join(repo, name))
	if err != nil {
		return nil, fmt.Errorf("triton repository %s: model %s: %w", repo, name, err)
	}
	var vs []int64
	for _, e := range ents {
		if v, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() && v > 0 {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// LoadLatest reads the newest version's pz model folder.
func LoadLatest(repo, name string) (*models.Checkpoint, int64, error) {
	vs, err := Versions(repo, name)
	if err != nil {
		return nil, 0, err
	}
	if len(vs) == 0 {
		return nil, 0, fmt.Errorf("triton repository %s: model %s has no version folder", repo, name)
	}
	v := vs[len(vs)-1]
	ck, err := models.LoadCheckpoint(filepath.Join(repo, name, strconv.FormatInt(v, 10), "pz"))
	if err != nil {
		return nil, 0, fmt.Errorf("triton repository %s: %w", repo, err)
	}
	return ck, v, nil
}
