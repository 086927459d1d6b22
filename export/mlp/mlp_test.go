package mlp_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"pz/export"
	"pz/export/exporttest"
	"pz/export/mlp"
	"pz/export/ort"
)

// TestTrainGraphGradients checks the whole model's gradient graph (every
// output grad/<param>) against central finite differences of its loss, in
// float64 through ORT, at the tolerance of exporttest.GradCheck.
func TestTrainGraphGradients(t *testing.T) {
	cfg := mlp.Config{In: 3, Hidden: 4, Classes: 2, DType: export.Float64}
	const batch = 5
	g, err := cfg.TrainGraph(batch, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess := exporttest.Session(t, g)
	feeds := cfg.Init(3)
	feeds[mlp.InputX], feeds[mlp.InputLabels] = cfg.XOR(batch, 4)
	ctx := context.Background()
	out, err := sess.Run(ctx, feeds)
	if err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		o, err := sess.Run(ctx, feeds, mlp.OutLoss)
		if err != nil {
			t.Fatal(err)
		}
		return o[mlp.OutLoss].Float64s()[0]
	}
	const h = 1e-6
	for _, p := range cfg.Params() {
		grad := out[export.GradName(p.Name)].Float64s()
		w := feeds[p.Name].Float64s()
		for i := range w {
			orig := w[i]
			w[i] = orig + h
			lp := loss()
			w[i] = orig - h
			lm := loss()
			w[i] = orig
			num := (lp - lm) / (2 * h)
			if rel := math.Abs(grad[i]-num) / math.Max(math.Abs(num), 1); rel > exporttest.Tolerance {
				t.Errorf("d loss/d %s[%d]: autodiff %.10g, finite difference %.10g", p.Name, i, grad[i], num)
			}
		}
	}
}

// TestTrainGraphLoss checks the forward pass against a hand computation:
// all-zero weights give uniform logits, so the loss is ln 2 whatever the
// data, and argmax of equal logits picks class 0.
func TestTrainGraphLoss(t *testing.T) {
	cfg := mlp.DefaultConfig()
	g, err := cfg.TrainGraph(4, nil)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string]*ort.Tensor{}
	for _, p := range cfg.Params() {
		feeds[p.Name] = ort.Zeros(ort.Float32, p.Shape...)
	}
	feeds[mlp.InputX] = ort.F32([]int64{4, 2}, []float32{0.5, 0.5, -0.5, 0.5, 0.1, -0.9, -0.3, -0.2})
	feeds[mlp.InputLabels] = ort.I64([]int64{4}, []int64{0, 1, 1, 0})
	out := exporttest.Run(t, g, feeds)
	if got := out[mlp.OutLoss].Float32s()[0]; math.Abs(float64(got)-math.Ln2) > 1e-6 {
		t.Errorf("loss %v, want ln 2", got)
	}
	if got := out[mlp.OutAccuracy].Float32s()[0]; got != 0.5 {
		t.Errorf("accuracy %v, want 0.5 (argmax 0 for all, two labels are 0)", got)
	}
}

func TestXOR(t *testing.T) {
	cfg := mlp.Config{In: 3, Hidden: 4, Classes: 2}
	x, labels := cfg.XOR(1000, 9)
	xs, ls := x.Float32s(), labels.Int64s()
	if !slices.Equal(x.Shape, []int64{1000, 3}) || len(ls) != 1000 {
		t.Fatalf("shapes %v, %v", x.Shape, labels.Shape)
	}
	ones := 0
	for i, l := range ls {
		want := int64(0)
		if (xs[3*i] > 0) != (xs[3*i+1] > 0) {
			want = 1
		}
		if l != want {
			t.Fatalf("point %d %v: label %d, want %d", i, xs[3*i:3*i+3], l, want)
		}
		ones += int(l)
	}
	if ones < 450 || ones > 550 {
		t.Errorf("%d of 1000 labels are 1: the classes should be balanced", ones)
	}
	x2, _ := cfg.XOR(1000, 9)
	if !slices.Equal(xs, x2.Float32s()) {
		t.Error("same seed, different data")
	}
}

func TestInit(t *testing.T) {
	cfg := mlp.Config{In: 4, Hidden: 9, Classes: 2}
	a, b := cfg.Init(5), cfg.Init(5)
	for _, p := range cfg.Params() {
		bound := 1 / math.Sqrt(4)
		if strings.HasPrefix(p.Name, "fc2") {
			bound = 1 / math.Sqrt(9)
		}
		w := a[p.Name].Float32s()
		if !slices.Equal(a[p.Name].Shape, p.Shape) || !slices.Equal(w, b[p.Name].Float32s()) {
			t.Errorf("%s: shape %v (want %v) or not deterministic", p.Name, a[p.Name].Shape, p.Shape)
		}
		lo, hi := slices.Min(w), slices.Max(w)
		if float64(hi) > bound || float64(lo) < -bound || hi-lo < float32(bound) {
			t.Errorf("%s: values in [%v, %v], want spread over ±%v", p.Name, lo, hi, bound)
		}
	}
}

// TestStepSkipsNonFinite: a NaN in the batch makes the gradient norm NaN;
// the step must fail and leave the weights and the step counter alone.
func TestStepSkipsNonFinite(t *testing.T) {
	rt := exporttest.Runtime(t)
	tr, err := mlp.NewTrainer(rt, mlp.Options{Batch: 4, Seed: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	x, labels := mlp.DefaultConfig().XOR(4, 1)
	if _, err := tr.Step(context.Background(), x, labels); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(tr.Weights(mlp.FC1Weight).Float32s())
	x.Float32s()[0] = float32(math.NaN())
	_, err = tr.Step(context.Background(), x, labels)
	if err == nil || !strings.Contains(err.Error(), "step 2: gradient norm is NaN") {
		t.Fatalf("error %v, want the step 2 NaN norm", err)
	}
	if !slices.Equal(before, tr.Weights(mlp.FC1Weight).Float32s()) {
		t.Error("weights changed after a skipped step")
	}
	x.Float32s()[0] = 0.5
	st, err := tr.Step(context.Background(), x, labels)
	if err != nil || st.Step != 2 {
		t.Fatalf("step after the skip: %+v, %v; want step 2", st, err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  mlp.Config
		want string
	}{
		{mlp.Config{In: 1, Hidden: 4, Classes: 2}, "in (1) must be >= 2"},
		{mlp.Config{In: 2, Hidden: 0, Classes: 2}, "hidden (0) must be >= 1"},
		{mlp.Config{In: 2, Hidden: 4, Classes: 3}, "classes (3) must be 2"},
		{mlp.Config{In: 2, Hidden: 4, Classes: 2, DType: export.Int64}, "dtype int64"},
	}
	for _, tc := range cases {
		if _, err := tc.cfg.TrainGraph(8, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
	if _, err := mlp.DefaultConfig().TrainGraph(0, nil); err == nil || !strings.Contains(err.Error(), "batch (0)") {
		t.Errorf("batch 0: error %v", err)
	}
	rt := exporttest.Runtime(t)
	_, err := mlp.NewTrainer(rt, mlp.Options{Config: mlp.Config{In: 2, Hidden: 4, Classes: 2, DType: export.Float64}})
	if err == nil || !strings.Contains(err.Error(), "float32 only") {
		t.Errorf("float64 trainer: error %v", err)
	}
}
