package report

import (
	"math"
	"sort"
)

// metric is one curve of a panel: a value per step (ok false: none).
type metric struct {
	name    string
	get     func(s *Step) (float64, bool)
	err     func(s *Step) (lo, hi float64, ok bool) // interval, for markers
	markers bool
}

// panel is one chart's recipe.
type panel struct {
	slug, title string
	fixed01     bool // y in [0, 1]
	zero        bool // y includes 0
	optional    bool // left out when it has no metric
	metrics     []metric
}

func val(p *float64) (float64, bool) {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return 0, false
	}
	return *p, true
}

func m(name string, get func(s *Step) *float64) metric {
	return metric{name: name, get: func(s *Step) (float64, bool) { return val(get(s)) }}
}

// hasGenerator reports whether a step had generator rows (a random-span or
// NTP run has none, and its generator curves would be a misleading 0).
func hasGenerator(s *Step) bool {
	r, ok := val(s.Rollout.Generator.Rows)
	return !ok || r > 0
}

// hasProposals reports whether a step's rollout had generator proposals.
func hasProposals(s *Step) (float64, bool) {
	p, ok := val(s.Rollout.Proposals)
	return p, ok && p > 0
}

// validShare divides a count by the step's valid masks.
func validShare(s *Step, n float64) (float64, bool) {
	v, ok := val(s.Rollout.ValidMasks)
	if !ok || v <= 0 {
		return 0, false
	}
	return n / v, true
}

// keys lists the map keys that any step has, sorted.
func keys(runs []*Run, get func(s *Step) []string) []string {
	seen := map[string]bool{}
	for _, r := range runs {
		for i := range r.Steps {
			for _, k := range get(&r.Steps[i]) {
				seen[k] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mapKeys[V any](mm map[string]V) []string {
	out := make([]string, 0, len(mm))
	for k := range mm {
		out = append(out, k)
	}
	return out
}

// panels is the report's list of charts for these runs.
func panels(runs []*Run) []panel {
	evalKinds := keys(runs, func(s *Step) []string {
		if s.Eval == nil {
			return nil
		}
		return mapKeys(s.Eval.Kinds)
	})
	reasons := keys(runs, func(s *Step) []string { return mapKeys(s.Rollout.Invalid) })
	guards := keys(runs, func(s *Step) []string { return mapKeys(s.Rollout.Guards) })
	spanKinds := keys(runs, func(s *Step) []string { return mapKeys(s.SpanKinds) })
	var kindShare, kindAcc []metric
	for _, k := range spanKinds {
		kindShare = append(kindShare, metric{name: k, get: func(s *Step) (float64, bool) {
			if s.SpanKinds == nil {
				return 0, false
			}
			return validShare(s, s.SpanKinds[k].Masks)
		}})
		kindAcc = append(kindAcc, metric{name: k, get: func(s *Step) (float64, bool) {
			r, ok := s.SpanKinds[k]
			return r.Accuracy, ok && r.Masks > 0
		}})
	}

	acc := []metric{
		m("predictor strict", func(s *Step) *float64 { return s.Rollout.StrictAccuracy }),
		m("predictor normalised", func(s *Step) *float64 { return s.Rollout.NormAccuracy }),
	}
	var heldOut []metric
	for _, k := range evalKinds {
		heldOut = append(heldOut, metric{
			name: "held-out " + k, markers: true,
			get: func(s *Step) (float64, bool) {
				if s.Eval == nil || s.Eval.Kinds[k] == nil {
					return 0, false
				}
				return s.Eval.Kinds[k].Accuracy, true
			},
			err: func(s *Step) (float64, float64, bool) {
				r := s.Eval.Kinds[k]
				return r.Low, r.High, r.N > 0
			},
		})
	}

	validity := []metric{{name: "valid masks", get: func(s *Step) (float64, bool) {
		if _, ok := hasProposals(s); !ok {
			return 0, false
		}
		r, ok := val(s.Rollout.InvalidRate)
		return 1 - r, ok
	}}}
	for _, k := range reasons {
		validity = append(validity, metric{name: "invalid: " + k, get: func(s *Step) (float64, bool) {
			p, ok := hasProposals(s)
			if !ok {
				return 0, false
			}
			return s.Rollout.Invalid[k] / p, true
		}})
	}

	guardMetrics := make([]metric, 0, len(guards))
	for _, k := range guards {
		guardMetrics = append(guardMetrics, metric{name: k, get: func(s *Step) (float64, bool) {
			v, ok := s.Rollout.Guards[k]
			return v, ok
		}})
	}

	gen := func(name string, get func(s *Step) *float64) metric {
		return metric{name: name, get: func(s *Step) (float64, bool) {
			if !hasGenerator(s) {
				return 0, false
			}
			return val(get(s))
		}}
	}

	return []panel{
		{slug: "rewards", title: "Mean reward per role", zero: true, metrics: []metric{
			gen("generator", func(s *Step) *float64 { return s.Rollout.Generator.RewardMean }),
			m("predictor", func(s *Step) *float64 { return s.Rollout.Predictor.RewardMean }),
		}},
		{slug: "accuracy", title: "Predictor accuracy on the step's masks", fixed01: true, metrics: acc},
		{slug: "held-out", title: "Held-out accuracy per kind (greedy, 95% CI)", zero: true, metrics: heldOut, optional: true},
		{slug: "validity", title: "Generator proposals: valid share and invalid reasons", fixed01: true, metrics: validity},
		{slug: "diversity", title: "Mask diversity (share of valid masks): collapse shows here", fixed01: true, metrics: []metric{
			{name: "distinct spans", get: func(s *Step) (float64, bool) {
				d, ok := val(s.Rollout.DistinctSpans)
				if !ok {
					return 0, false
				}
				return validShare(s, d)
			}},
			m("stop-word spans", func(s *Step) *float64 { return s.Rollout.StopWordShare }),
			{name: "most frequent span", get: func(s *Step) (float64, bool) {
				if len(s.Rollout.TopSpans) == 0 {
					return 0, false
				}
				return validShare(s, float64(s.Rollout.TopSpans[0].Count))
			}},
		}},
		{slug: "span-kinds", title: "Valid masks by labelled kind (share): what the generator chose", fixed01: true, metrics: kindShare, optional: true},
		{slug: "span-kind-accuracy", title: "Predictor accuracy by labelled kind", fixed01: true, metrics: kindAcc, optional: true},
		{slug: "mask-counts", title: "Masks per step (count)", zero: true, metrics: []metric{
			m("proposals", func(s *Step) *float64 { return s.Rollout.Proposals }),
			m("valid masks", func(s *Step) *float64 { return s.Rollout.ValidMasks }),
			m("distinct spans", func(s *Step) *float64 { return s.Rollout.DistinctSpans }),
		}},
		{slug: "guards", title: "Collapse guards fired (count per step)", zero: true, metrics: guardMetrics},
		{slug: "mask-length", title: "Mask length (mean)", zero: true, metrics: []metric{
			m("words", func(s *Step) *float64 { return s.Rollout.MaskWordsMean }),
			m("tokens", func(s *Step) *float64 { return s.Rollout.MaskTokensMean }),
		}},
		{slug: "response-length", title: "Response length per role (tokens)", zero: true, metrics: []metric{
			gen("generator", func(s *Step) *float64 { return s.GenLength }),
			m("predictor", func(s *Step) *float64 { return s.PredLength }),
		}},
		{slug: "filtered", title: "Zero-variance filtering (count per step)", zero: true, metrics: []metric{
			gen("generator groups filtered", func(s *Step) *float64 { return s.Rollout.Generator.FilteredGroups }),
			m("predictor groups filtered", func(s *Step) *float64 { return s.Rollout.Predictor.FilteredGroups }),
			m("rows filtered", func(s *Step) *float64 { return s.FilteredRows }),
			m("rows learned", func(s *Step) *float64 { return s.LearnRows }),
		}},
		{slug: "loss", title: "Loss", metrics: []metric{
			m("loss", func(s *Step) *float64 { return s.Learn.Loss }),
			m("policy-gradient loss", func(s *Step) *float64 { return s.Learn.PGLoss }),
		}},
		{slug: "grad-norm", title: "Gradient norm (before clipping)", zero: true, metrics: []metric{
			m("grad norm", func(s *Step) *float64 { return s.Learn.GradNorm }),
		}},
		{slug: "clip", title: "Clipped-token fraction and approx. KL", zero: true, metrics: []metric{
			m("clip fraction", func(s *Step) *float64 { return s.Learn.ClipFrac }),
			m("approx KL", func(s *Step) *float64 { return s.Learn.ApproxKL }),
		}},
		{slug: "mismatch", title: "Rollout/learner mismatch: mean exp|dlogp| (1 = none)", metrics: []metric{
			m("mismatch", func(s *Step) *float64 { return s.Learn.Mismatch }),
		}},
		{slug: "throughput", title: "Throughput (tokens/s)", zero: true, metrics: []metric{
			m("sampled tokens/s", func(s *Step) *float64 { return s.SampledTokPS }),
			m("train tokens/s", func(s *Step) *float64 { return s.TrainTokPS }),
		}},
		{slug: "phases", title: "Time per phase (seconds per step)", zero: true, metrics: []metric{
			m("step total", func(s *Step) *float64 { return s.StepSeconds }),
			m("generate", func(s *Step) *float64 { return s.GenSeconds }),
			m("predict", func(s *Step) *float64 { return s.PredSeconds }),
			m("verify", func(s *Step) *float64 { return s.VerifySeconds }),
			m("learn", func(s *Step) *float64 { return s.LearnSeconds }),
			m("sync", func(s *Step) *float64 { return s.SyncSeconds }),
			m("write", func(s *Step) *float64 { return s.WriteSeconds }),
		}},
	}
}

// buildCharts evaluates the panels on the runs. Colours follow the metric
// and dashes the run; a one-metric panel colours by run instead.
func buildCharts(runs []*Run) []*chart {
	x0, x1 := math.Inf(1), math.Inf(-1)
	for _, r := range runs {
		for _, s := range r.Steps {
			x0, x1 = math.Min(x0, float64(s.Step)), math.Max(x1, float64(s.Step))
		}
	}
	if math.IsInf(x0, 1) {
		x0, x1 = 0, 1
	}
	var out []*chart
	for _, p := range panels(runs) {
		if p.optional && len(p.metrics) == 0 {
			continue
		}
		c := &chart{Slug: p.slug, Title: p.title}
		for mi, mt := range p.metrics {
			for ri, r := range runs {
				s := series{Name: mt.name, Markers: mt.markers}
				switch {
				case len(runs) == 1:
					s.Color = palette[mi%len(palette)]
				case len(p.metrics) == 1:
					s.Name, s.Color = r.Name, palette[ri%len(palette)]
				default:
					s.Name = r.Name + " / " + mt.name
					s.Color, s.Dash = palette[mi%len(palette)], ri
				}
				for i := range r.Steps {
					st := &r.Steps[i]
					y, ok := mt.get(st)
					if !ok || math.IsNaN(y) || math.IsInf(y, 0) {
						continue
					}
					pt := point{X: float64(st.Step), Y: y}
					if mt.err != nil {
						pt.Lo, pt.Hi, pt.HasErr = mt.err(st)
					}
					s.Points = append(s.Points, pt)
				}
				if w := smoothWindow(len(s.Points)); w > 0 && !s.Markers {
					raw := s
					raw.Faint, raw.Name = true, ""
					c.Series = append(c.Series, raw)
					s.Points = movingAverage(s.Points, w)
					c.Smooth = max(c.Smooth, w)
				}
				if len(s.Points) > 0 {
					c.Series = append(c.Series, s)
				}
			}
		}
		c.layout(x0, x1, p.fixed01, p.zero)
		out = append(out, c)
	}
	return out
}

// smoothMin is the number of points from which a curve is smoothed.
const smoothMin = 60

// smoothWindow is the moving-average window for a curve of n points: odd,
// about n/40; 0 below smoothMin.
func smoothWindow(n int) int {
	if n < smoothMin {
		return 0
	}
	return max(3, n/40) | 1
}

// movingAverage is the centred mean of each point's window (shrunk at the
// ends), keeping the x values.
func movingAverage(pts []point, w int) []point {
	out := make([]point, len(pts))
	prefix := make([]float64, len(pts)+1)
	for i, p := range pts {
		prefix[i+1] = prefix[i] + p.Y
	}
	h := w / 2
	for i, p := range pts {
		lo, hi := max(0, i-h), min(len(pts), i+h+1)
		out[i] = point{X: p.X, Y: (prefix[hi] - prefix[lo]) / float64(hi-lo)}
	}
	return out
}
