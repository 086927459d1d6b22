package report

import (
	"bytes"
	"context"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func quietLog(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

func writeRun(t *testing.T, dir, metrics string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(metrics), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadMetrics(t *testing.T) {
	const l1 = `{"step":1,"mode":"pretrainzero","rollout":{"strict_accuracy":0.25,"top_spans":[{"span":"of","count":3}]},"new_field":{"x":1}}`
	const l2 = `{"step":2,"rollout":{"strict_accuracy":0.5}}`
	const l3 = `{"step":3}`
	tests := []struct {
		name    string
		in      string
		steps   []int64
		wantErr string // substring
		warn    bool
	}{
		{name: "three lines", in: l1 + "\n" + l2 + "\n" + l3 + "\n", steps: []int64{1, 2, 3}},
		{name: "no final newline", in: l1 + "\n" + l2 + "\n" + l3, steps: []int64{1, 2, 3}},
		{name: "blank lines", in: "\n" + l1 + "\n\n" + l2 + "\n  \n", steps: []int64{1, 2}},
		{name: "truncated last line", in: l1 + "\n" + l2 + "\n" + `{"step":3,"rollo`, steps: []int64{1, 2}, warn: true},
		{name: "truncated last line then blank", in: l1 + "\n" + `{"step":2,"rollo` + "\n\n", steps: []int64{1}, warn: true},
		{name: "corrupt middle line", in: l1 + "\n" + `{"step":2,` + "\n" + l3 + "\n", wantErr: "m.jsonl:2:"},
		{name: "wrong type in middle line", in: l1 + "\n" + `{"step":"two"}` + "\n" + l3 + "\n", wantErr: "m.jsonl:2:"},
		{name: "empty", in: "", steps: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			got, err := readMetrics(strings.NewReader(tc.in), "run/m.jsonl", quietLog(&logs))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var steps []int64
			for _, s := range got {
				steps = append(steps, s.Step)
			}
			if !equalInts(steps, tc.steps) {
				t.Fatalf("steps = %v, want %v", steps, tc.steps)
			}
			if warned := strings.Contains(logs.String(), "level=WARN"); warned != tc.warn {
				t.Fatalf("warning logged = %v, want %v (%s)", warned, tc.warn, logs.String())
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReadMetricsFields(t *testing.T) {
	in := `{"step":1,"rollout":{"strict_accuracy":0.25,"valid_masks":10,"guards":{"batch_capped":2},"top_spans":[{"span":"of","count":3}]},"learn":{"grad_norm":1.5,"skipped":"x"},"eval":{"kinds":{"single":{"n":100,"correct":5,"accuracy":0.05,"ci95_low":0.02,"ci95_high":0.11}}}}` + "\n" +
		`{"step":2}` + "\n"
	got, err := readMetrics(strings.NewReader(in), "m", quietLog(new(bytes.Buffer)))
	if err != nil {
		t.Fatal(err)
	}
	s := got[0]
	if *s.Rollout.StrictAccuracy != 0.25 || *s.Rollout.ValidMasks != 10 || s.Rollout.Guards["batch_capped"] != 2 ||
		s.Rollout.TopSpans[0] != (SpanCount{"of", 3}) || *s.Learn.GradNorm != 1.5 || s.Learn.Skipped != "x" ||
		s.Eval.Kinds["single"].N != 100 || s.Eval.Kinds["single"].High != 0.11 {
		t.Fatalf("decoded %+v", s)
	}
	if got[1].Rollout.StrictAccuracy != nil || got[1].Learn.GradNorm != nil || got[1].Eval != nil {
		t.Fatalf("missing fields must stay nil: %+v", got[1])
	}
}

// chartSVG cuts one chart's <svg> element out of the page.
func chartSVG(t *testing.T, page, slug string) string {
	t.Helper()
	i := strings.Index(page, `id="chart-`+slug+`"`)
	if i < 0 {
		t.Fatalf("no chart %s in the page", slug)
	}
	j := strings.Index(page[i:], "</svg>")
	return page[i : i+j]
}

var polylineRE = regexp.MustCompile(`<polyline points="([^"]*)"[^>]*stroke="(#[0-9a-f]{6})"[^>]*>(?:<title>([^<]*)</title>)?`)

// polylines maps each titled polyline's title to its points.
func polylines(svg string) map[string]string {
	out := map[string]string{}
	for _, m := range polylineRE.FindAllStringSubmatch(svg, -1) {
		if m[3] != "" {
			out[m[3]] = m[1]
		}
	}
	return out
}

const threeSteps = `{"step":1,"rollout":{"generator":{"rows":8,"reward_mean":0.1},"strict_accuracy":0.25}}
{"step":2,"rollout":{"generator":{"rows":8,"reward_mean":0.2}}}
{"step":3,"rollout":{"generator":{"rows":8,"reward_mean":0.4},"strict_accuracy":0.75}}
`

func TestGoldenPolylines(t *testing.T) {
	// Plot area: x 60..624, y 230 (bottom) .. 30 (top); steps 1..3 span x.
	// Accuracy is on [0, 1]: 0.25 → 230-50 = 180, 0.75 → 80; step 2 has
	// no accuracy, so the line joins steps 1 and 3.
	// Reward is on [0, 0.4] (nice step 0.1): 0.1 → 180, 0.2 → 130, 0.4 → 30.
	dir := writeRun(t, filepath.Join(t.TempDir(), "run"), threeSteps)
	res, err := Generate(context.Background(), Options{RunDirs: []string{dir}, Log: quietLog(new(bytes.Buffer))})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "report", "report.html"); res.HTML != want {
		t.Fatalf("html at %s, want %s", res.HTML, want)
	}
	b, err := os.ReadFile(res.HTML)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	acc := polylines(chartSVG(t, page, "accuracy"))
	if got, want := acc["predictor strict"], "60,180 624,80"; got != want {
		t.Errorf("accuracy points %q, want %q", got, want)
	}
	rew := chartSVG(t, page, "rewards")
	if got, want := polylines(rew)["generator"], "60,180 342,130 624,30"; got != want {
		t.Errorf("reward points %q, want %q", got, want)
	}
	for _, tick := range []string{">0.0</text>", ">0.1</text>", ">0.4</text>"} {
		if !strings.Contains(rew, tick) {
			t.Errorf("reward chart lacks y tick %s", tick)
		}
	}
	if strings.Contains(rew, ">0.5</text>") {
		t.Error("reward chart has a y tick above its data's nice range")
	}
	// The predictor reward was never logged: no curve, not a zero line.
	if _, ok := polylines(rew)["predictor"]; ok {
		t.Error("a metric absent from every step was drawn")
	}
}

func TestSelfContained(t *testing.T) {
	dir := writeRun(t, filepath.Join(t.TempDir(), "run"), threeSteps)
	res, err := Generate(context.Background(), Options{RunDirs: []string{dir}, Log: quietLog(new(bytes.Buffer))})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(res.HTML)
	page := strings.ReplaceAll(string(b), `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http:", "https:", "<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: not self-contained", bad)
		}
	}
	// Atomic writes leave no temporary files behind.
	ents, err := os.ReadDir(filepath.Dir(res.HTML))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "report") || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("unexpected file %s in the report folder", e.Name())
		}
	}
	if len(ents) != len(res.PNGs)+1 {
		t.Errorf("%d files, want %d PNGs + the page", len(ents), len(res.PNGs))
	}
}

func TestPNG(t *testing.T) {
	dir := writeRun(t, filepath.Join(t.TempDir(), "run"), threeSteps)
	res, err := Generate(context.Background(), Options{RunDirs: []string{dir}, Log: quietLog(new(bytes.Buffer))})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "report", "report-accuracy.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != chartW {
		t.Fatalf("width %d, want %d", w, chartW)
	}
	blue := palette[0]
	near := func(c color.Color, want color.RGBA) bool {
		r, g, b, _ := c.RGBA()
		d := func(a uint32, b uint8) int { x := int(a>>8) - int(b); return x * x }
		return d(r, want.R)+d(g, want.G)+d(b, want.B) < 40*40
	}
	// On the accuracy line from (60,180) to (624,80): at x = 342, y = 130.
	// (Anti-aliased: the pixel is the line's hue, mixed with some white.)
	bluish := func(c color.Color) bool {
		r, _, b, _ := c.RGBA()
		return !near(c, colBG) && int(b>>8)-int(r>>8) > 50
	}
	for _, p := range [][2]int{{342, 130}, {201, 155}, {483, 105}} {
		if c := img.At(p[0], p[1]); !bluish(c) {
			t.Errorf("pixel %v = %v, want the line's colour %v", p, c, blue)
		}
	}
	// Away from the line and the grid: background.
	for _, p := range [][2]int{{342, 200}, {500, 160}} {
		if c := img.At(p[0], p[1]); !near(c, colBG) {
			t.Errorf("pixel %v = %v, want background", p, c)
		}
	}
	if len(res.PNGs) == 0 {
		t.Fatal("no PNGs listed")
	}
}

func TestCompareRuns(t *testing.T) {
	root := t.TempDir()
	a := writeRun(t, filepath.Join(root, "pretrainzero"), threeSteps)
	b := writeRun(t, filepath.Join(root, "random-span"), `{"step":1,"mode":"random-span","rollout":{"generator":{"rows":0,"reward_mean":0},"strict_accuracy":0.5}}
{"step":2,"rollout":{"generator":{"rows":0,"reward_mean":0},"strict_accuracy":0.5}}
{"step":3,"rollout":{"generator":{"rows":0,"reward_mean":0},"strict_accuracy":0.5,"top_spans":[{"span":"of the","count":2}],"valid_masks":4}}
{"step":4,"rollou`)
	comp := `{"title":"after the demo","arms":[{"name":"base","kinds":{"single":{"n":200,"correct":10,"accuracy":0.05,"ci95_low":0.027,"ci95_high":0.09}}},
	{"name":"pz-arm","model":"runs/demo/pretrainzero/checkpoint-30","kinds":{"single":{"n":200,"correct":34,"accuracy":0.17,"ci95_low":0.124,"ci95_high":0.228}}}]}`
	if err := os.WriteFile(filepath.Join(root, "comparison.json"), []byte(comp), 0o644); err != nil {
		t.Fatal(err)
	}
	eval := `{"kinds":{"single":{"n":100,"correct":7,"accuracy":0.07,"ci95_low":0.034,"ci95_high":0.137}}}`
	if err := os.WriteFile(filepath.Join(a, "eval.json"), []byte(eval), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "cmp", "x.html")
	res, err := Generate(context.Background(), Options{RunDirs: []string{a, b}, Out: out, Log: quietLog(new(bytes.Buffer))})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTML != out {
		t.Fatalf("html %s, want %s", res.HTML, out)
	}
	if _, err := os.Stat(filepath.Join(root, "cmp", "x-accuracy.png")); err != nil {
		t.Fatal(err)
	}
	bs, _ := os.ReadFile(out)
	page := string(bs)
	acc := polylines(chartSVG(t, page, "accuracy"))
	if got := acc["pretrainzero / predictor strict"]; got != "60,180 624,80" {
		t.Errorf("run a: %q", got)
	}
	// Step 4 of run b was truncated; x spans steps 1..3, y = 0.5 → 130.
	if got := acc["random-span / predictor strict"]; got != "60,130 342,130 624,130" {
		t.Errorf("run b: %q", got)
	}
	// A run without generator rows has no generator curve.
	if _, ok := polylines(chartSVG(t, page, "rewards"))["random-span / generator"]; ok {
		t.Error("random-span run drew a generator reward")
	}
	for _, want := range []string{"after the demo", ">pz-arm<", "17.0%", "[12.4, 22.8]", "n=200", "eval.json", "7.0%", "[3.4, 13.7]", `title="runs/demo/pretrainzero/checkpoint-30"`, `&#34;of the&#34;`, `class="l stop"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestBadComparison(t *testing.T) {
	root := t.TempDir()
	a := writeRun(t, filepath.Join(root, "a"), threeSteps)
	bad := filepath.Join(root, "cmp.json")
	if err := os.WriteFile(bad, []byte(`{"arms":[{"kinds":{}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Generate(context.Background(), Options{RunDirs: []string{a}, Comparisons: []string{bad}, Log: quietLog(new(bytes.Buffer))})
	if err == nil || !strings.Contains(err.Error(), "cmp.json") || !strings.Contains(err.Error(), "arms[0].name") {
		t.Fatalf("err = %v, want one naming the file and arms[0].name", err)
	}
	_, err = Generate(context.Background(), Options{RunDirs: []string{a}, Comparisons: []string{filepath.Join(root, "none.json")}})
	if err == nil {
		t.Fatal("a comparison file named but absent must be an error")
	}
	if _, err := Generate(context.Background(), Options{RunDirs: []string{filepath.Join(root, "missing")}}); err == nil ||
		!strings.Contains(err.Error(), "metrics.jsonl") {
		t.Fatalf("missing run: err = %v", err)
	}
}

func TestCorruptLineNamesFileAndLine(t *testing.T) {
	dir := writeRun(t, filepath.Join(t.TempDir(), "run"), `{"step":1}`+"\n"+`{"step":2,,}`+"\n"+`{"step":3}`+"\n")
	_, err := Generate(context.Background(), Options{RunDirs: []string{dir}, Log: quietLog(new(bytes.Buffer))})
	if want := filepath.Join(dir, "metrics.jsonl") + ":2:"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
}

func TestFixture(t *testing.T) {
	steps, err := ReadMetrics("testdata/metrics.jsonl", quietLog(new(bytes.Buffer)))
	if err != nil {
		t.Fatal(err)
	}
	evals := 0
	for _, s := range steps {
		if s.Eval != nil {
			evals++
		}
	}
	if len(steps) != 30 || evals != 3 {
		t.Fatalf("%d steps, %d evals; want 30 and 3", len(steps), evals)
	}
	runs := []*Run{{Name: "fixture", Steps: steps}}
	for _, c := range buildCharts(runs) {
		if c.Empty {
			t.Errorf("chart %s is empty on the fixture", c.Slug)
		}
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		lo, hi                   float64
		wantLo, wantHi, wantStep float64
	}{
		{0, 0.4, 0, 0.4, 0.1},
		{0, 1, 0, 1, 0.2},
		// 0.104/5 = 0.0208: magnitude 0.01, factor 2.08 > 2 → step 0.05.
		{-0.043, 0.061, -0.05, 0.1, 0.05},
		{0, 912, 0, 1000, 200},
		{1.0021, 1.0049, 1.002, 1.005, 0.001},
	}
	for _, tc := range tests {
		lo, hi, step := niceRange(tc.lo, tc.hi, 5)
		if !close(lo, tc.wantLo) || !close(hi, tc.wantHi) || !close(step, tc.wantStep) {
			t.Errorf("niceRange(%v, %v) = %v, %v, %v; want %v, %v, %v", tc.lo, tc.hi, lo, hi, step, tc.wantLo, tc.wantHi, tc.wantStep)
		}
	}
	labels := []struct {
		v, step float64
		want    string
	}{
		{0.2, 0.2, "0.2"}, {0.05, 0.05, "0.05"}, {12000, 2000, "12k"}, {2500000, 500000, "2.5M"}, {800, 200, "800"}, {1.004, 0.001, "1.004"},
	}
	for _, l := range labels {
		if got := tickLabel(l.v, l.step); got != l.want {
			t.Errorf("tickLabel(%v, %v) = %q, want %q", l.v, l.step, got, l.want)
		}
	}
}

func close(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestSmoothing(t *testing.T) {
	pts := []point{{X: 1, Y: 1}, {X: 2, Y: 2}, {X: 3, Y: 3}, {X: 4, Y: 4}, {X: 5, Y: 9}}
	got := movingAverage(pts, 3)
	want := []float64{1.5, 2, 3, 16.0 / 3, 6.5}
	for i := range want {
		if !close(got[i].Y, want[i]) || got[i].X != pts[i].X {
			t.Errorf("point %d = %+v, want y %v at x %v", i, got[i], want[i], pts[i].X)
		}
	}
	for _, tc := range []struct{ n, w int }{{59, 0}, {60, 3}, {200, 5}, {2000, 51}} {
		if w := smoothWindow(tc.n); w != tc.w {
			t.Errorf("smoothWindow(%d) = %d, want %d", tc.n, w, tc.w)
		}
	}
	// A long run draws each curve twice: faint raw values, outside the
	// legend, and the bold average.
	var steps []Step
	for i := range 100 {
		v := float64(i % 2)
		steps = append(steps, Step{Step: int64(i + 1), Rollout: Rollout{StrictAccuracy: &v}})
	}
	for _, c := range buildCharts([]*Run{{Name: "r", Steps: steps}}) {
		if c.Slug != "accuracy" {
			continue
		}
		if len(c.Series) != 2 || !c.Series[0].Faint || c.Series[1].Faint || c.Smooth != 3 {
			t.Fatalf("series %+v, smooth %d", c.Series, c.Smooth)
		}
		if items, _ := c.legend(); len(items) != 1 {
			t.Fatalf("%d legend entries, want 1", len(items))
		}
		if y := c.Series[1].Points[50].Y; !close(y, 1.0/3) && !close(y, 2.0/3) {
			t.Fatalf("smoothed value %v", y)
		}
	}
}

// TestMixedRunsAreFlagged: a metrics file whose steps go back (a second
// run written into a finished run's folder) is shown with a warning in the
// summary table and logged; an orderly one is not.
func TestMixedRunsAreFlagged(t *testing.T) {
	for _, tc := range []struct {
		name, metrics, want string
	}{
		{"orderly", "{\"step\":0}\n{\"step\":1}\n{\"step\":2}\n", ""},
		{"restarted", "{\"step\":0}\n{\"step\":1}\n{\"step\":2}\n{\"step\":0}\n{\"step\":1}\n", "record 4 is step 0 after step 2"},
		{"repeated", "{\"step\":0}\n{\"step\":1}\n{\"step\":1}\n", "record 3 is step 1 after step 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeRun(t, filepath.Join(t.TempDir(), "run"), tc.metrics)
			var log bytes.Buffer
			res, err := Generate(context.Background(), Options{RunDirs: []string{dir}, NoPNG: true, Log: quietLog(&log)})
			if err != nil {
				t.Fatal(err)
			}
			page, _ := os.ReadFile(res.HTML)
			if tc.want == "" {
				if strings.Contains(string(page), "steps not increasing") || strings.Contains(log.String(), "steps not increasing") {
					t.Fatalf("an orderly run was flagged:\n%s", log.String())
				}
				return
			}
			if !strings.Contains(string(page), tc.want) || !strings.Contains(log.String(), tc.want) {
				t.Fatalf("want %q in the page and the log; log:\n%s", tc.want, log.String())
			}
		})
	}
}
