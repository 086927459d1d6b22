package qwen3

import (
	"math"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/models"
)

// prefixCase: two prompts (the second right-padded in the prefix batch)
// and three continuations, the last one right-padded. Each sequence is
// prefix + suffix; its plain layout is in plainIDs etc.
type prefixCase struct {
	pids, ppos, pmask []int64 // [2, 3]
	index             []int64 // [3]
	ids, pos, mask    []int64 // [3, 3]
	tgt               []int64
}

var prefixBatch = prefixCase{
	pids: []int64{1, 5, 7, 3, 12, 0}, ppos: []int64{0, 1, 2, 0, 1, 0}, pmask: []int64{1, 1, 1, 1, 1, 0},
	index: []int64{0, 0, 1},
	ids:   []int64{2, 9, 4, 2, 6, 6, 4, 11, 0}, pos: []int64{3, 4, 5, 3, 4, 5, 2, 3, 0}, mask: []int64{1, 1, 1, 1, 1, 1, 1, 1, 0},
	tgt: []int64{9, 4, 10, 6, 6, 1, 11, 8, 0},
}

func (c prefixCase) logprobs(g *export.Graph, m *Model) *export.Value {
	i64 := func(b, t int64, v []int64) *export.Value { return g.Const(export.TensorI64([]int64{b, t}, v)) }
	h := m.prefixHidden(g, i64(2, 3, c.pids), i64(2, 3, c.ppos), i64(2, 3, c.pmask),
		g.Const(export.TensorI64([]int64{3}, c.index)), i64(3, 3, c.ids), i64(3, 3, c.pos), i64(3, 3, c.mask))
	lp, _ := m.targetLogProbs(g, h, i64(3, 3, c.tgt), false)
	return lp
}

// TestPrefixForwardMatchesPlain: the shared-prefix graph gives the plain
// graph's log-probs of the same sequences (prefix followed by suffix).
func TestPrefixForwardMatchesPlain(t *testing.T) {
	smol := micro(models.FamilySmolLM3)
	smol.Architectures, smol.NoPE = nil, models.NoPE{Layers: []int{1, 0}, Interval: 4}
	for _, cfg := range []*models.Config{micro(models.FamilyQwen3), microMoE(true), smol} {
		t.Run(cfg.ModelType, func(t *testing.T) { checkPrefixMatchesPlain(t, cfg) })
	}
}

func checkPrefixMatchesPlain(t *testing.T, cfg *models.Config) {
	w := RandomWeights(cfg, 5, 0.5)
	g := export.NewGraph("prefix_vs_plain")
	m := Bind(g, cfg, export.Float32, WeightsAsInputs(export.Float32))
	g.Output("prefix", prefixBatch.logprobs(g, m))
	// Plain rows: prompt + suffix, right-padded to 6.
	i64 := func(v ...int64) *export.Value { return g.Const(export.TensorI64([]int64{3, 6}, v)) }
	lp, _ := m.TargetLogProbs(g,
		i64(1, 5, 7, 2, 9, 4, 1, 5, 7, 2, 6, 6, 3, 12, 4, 11, 0, 0),
		i64(0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 0),
		i64(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
		i64(5, 7, 2, 9, 4, 10, 5, 7, 2, 6, 6, 1, 12, 4, 11, 8, 0, 0), false)
	g.Output("plain", lp)
	out := exporttest.Run(t, g, weightFeeds(cfg, w))
	pre, pl := out["prefix"].Data.([]float32), out["plain"].Data.([]float32)
	// Suffix position j of row r is plain position start(r)+j.
	starts := []int{3, 3, 2}
	valid := []int{3, 3, 2}
	for r := range 3 {
		for j := range valid[r] {
			a, b := pre[r*3+j], pl[r*6+starts[r]+j]
			if math.Abs(float64(a-b)) > 1e-5 {
				t.Errorf("row %d suffix %d: log-prob %g shared-prefix, %g plain", r, j, a, b)
			}
		}
	}
}

// TestPrefixGradientFiniteDifferences checks the shared-prefix graph's
// gradients (through the gathered keys/values and the picked log-softmax)
// against finite differences of every weight, in float64.
func TestPrefixGradientFiniteDifferences(t *testing.T) {
	cfg := micro(models.FamilyQwen3)
	w := RandomWeights(cfg, 8, 0.5)
	var inputs []exporttest.Input
	for _, s := range cfg.TensorSpecs() {
		d := make([]float64, len(w[s.Name]))
		for i, v := range w[s.Name] {
			d[i] = float64(v)
			if hasSuffix(s.Name, "norm.weight") {
				d[i] += 0.1 * math.Sin(float64(i+1))
			}
		}
		inputs = append(inputs, exporttest.Input{Name: s.Name, Shape: s.Shape, Data: d})
	}
	worst := exporttest.GradCheck(t, "qwen3_prefix_grad", 4, inputs, func(g *export.Graph, xs []*export.Value) *export.Value {
		byName := map[string]*export.Value{}
		for _, x := range xs {
			byName[x.Name()] = x
		}
		m := Bind(g, cfg, export.Float64, func(g *export.Graph, name string, shape []int64) *export.Value { return byName[name] })
		return prefixBatch.logprobs(g, m)
	})
	t.Logf("max relative error %.2g over every weight", worst)
}
