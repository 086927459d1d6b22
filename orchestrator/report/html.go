package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"

	"pz/orchestrator/stopwords"
)

// captions explain what to look for in a chart.
var captions = map[string]string{
	"rewards":         "Generator reward is high for masks the predictor solves sometimes, zero for masks it always or never solves. A collapse: generator reward falls to 0 while predictor reward climbs to 1.",
	"accuracy":        "Share of the predictor's answers that match the masked span exactly (strict) or after folding case and punctuation (normalised). Rising with the generator's masks getting easier is a warning sign, not progress.",
	"held-out":        "Exact match (greedy) on a fixed held-out question set per kind of mask, with 95% Wilson intervals: the number that says whether training helps.",
	"validity":        "Share of generator proposals that were usable masks, and why the others were not (share of proposals).",
	"diversity":       "Collapse onto a few easy spans shows as distinct spans falling and the stop-word and most-frequent-span shares rising. Guards should hold these.",
	"guards":          "How often each collapse guard acted in a step (empty when the run had no guards on).",
	"filtered":        "Groups whose samples all got the same reward carry no GRPO signal and are dropped. When every group is filtered, learning stops.",
	"phases":          "Wall seconds of each phase of a train step.",
	"mask-counts":     "Generator proposals per step, how many were usable masks, and how many different spans those were.",
	"mask-length":     "Mean length of the valid masked spans.",
	"response-length": "Mean completion length per role. The paper's response length grows with the predictor's skill; a shrinking generator reply can mean it settled on short, easy masks.",
	"loss":            "GRPO loss of the update (token mean). Near 0 is normal: advantages are centred per group.",
	"grad-norm":       "Global gradient norm before clipping; 0 when the update was skipped.",
	"clip":            "Share of tokens whose importance ratio was clipped, and the approximate KL to the rollout policy.",
	"mismatch":        "How far the learner's log-probabilities are from the sampler's on the same tokens; it should stay near 1.",
	"throughput":      "Tokens sampled per second of rollout, and tokens trained per second of learning.",
}

type pageData struct {
	Title       string
	Runs        []*Run
	Comparisons []*Comparison
	Benchmarks  []*benchFile
	Charts      []*chart
	PNGs        map[string]string
	Refresh     time.Duration
	Generated   time.Time
}

const css = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#222;background:#f6f6f4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#666;font-size:13px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}
th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}
th{background:#eee}td.l,th.l{text-align:left}
.stop{color:#b03030;font-weight:600}
.bar{display:inline-block;height:8px;background:#4e79a7;vertical-align:middle;margin-left:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:16px}
figure{background:#fff;border:1px solid #ddd;margin:0;padding:8px}
figure svg{max-width:100%;height:auto}
figcaption{font-size:12px;color:#555;margin:2px 4px;max-width:630px}
figcaption a{color:#888}
.tables{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.warn{color:#b03030}
caption{text-align:left;padding:2px 0 4px;font-size:13px}
svg.ci{vertical-align:middle}
`

func esc(s string) string { return html.EscapeString(s) }

func renderHTML(d pageData) string {
	var b strings.Builder
	names := make([]string, len(d.Runs))
	for i, r := range d.Runs {
		names[i] = r.Name
	}
	title := d.Title
	if title == "" {
		title = "pz report: " + strings.Join(names, " vs ")
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	if d.Refresh > 0 {
		fmt.Fprintf(&b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", int(math.Max(1, d.Refresh.Seconds())))
	}
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<div class=\"meta\">generated %s", esc(title), d.Generated.Format("2006-01-02 15:04:05 UTC"))
	for _, r := range d.Runs {
		fmt.Fprintf(&b, " · %s", esc(r.Dir))
	}
	b.WriteString("</div>\n")

	b.WriteString("<h2>Runs</h2>\n")
	summaryTable(&b, d.Runs)

	if t := heldOutTables(d.Runs, d.Comparisons); t != "" {
		b.WriteString("<h2>Held-out accuracy (exact match, 95% Wilson interval)</h2>\n<div class=\"tables\">\n")
		b.WriteString(t)
		b.WriteString("</div>\n")
	}

	benchSection(&b, d.Benchmarks)

	b.WriteString("<h2>Top spans of the last step</h2>\n<div class=\"tables\">\n")
	stop := stopwords.English()
	for _, r := range d.Runs {
		topSpansTable(&b, r, stop)
	}
	b.WriteString("</div>\n")

	b.WriteString("<h2>Curves</h2>\n<div class=\"grid\">\n")
	for _, c := range d.Charts {
		b.WriteString("<figure>\n")
		b.WriteString(c.svg())
		b.WriteString("<figcaption>")
		b.WriteString(esc(captions[c.Slug]))
		if c.Smooth > 0 {
			fmt.Fprintf(&b, " Faint: each step; bold: centred moving average over %d steps.", c.Smooth)
		}
		if n := d.PNGs[c.Slug]; n != "" {
			fmt.Fprintf(&b, ` <a href="%s">PNG</a>`, esc(n))
		}
		b.WriteString("</figcaption>\n</figure>\n")
	}
	b.WriteString("</div>\n</body>\n</html>\n")
	return b.String()
}

func fmtNum(p *float64, format string) string {
	v, ok := val(p)
	if !ok {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

func summaryTable(b *strings.Builder, runs []*Run) {
	b.WriteString(`<table><tr><th class="l">run</th><th class="l">mode</th><th>steps</th><th>last step</th>` +
		`<th>predictor acc.</th><th>valid masks</th><th>stop-word share</th><th>distinct / valid</th><th>updates skipped</th><th>wall time</th></tr>` + "\n")
	for _, r := range runs {
		if len(r.Steps) == 0 {
			fmt.Fprintf(b, "<tr><td class=\"l\">%s</td><td class=\"l warn\" colspan=\"9\">no steps yet</td></tr>\n", esc(r.Name))
			continue
		}
		last := &r.Steps[len(r.Steps)-1]
		skipped, wall := 0, 0.0
		for i := range r.Steps {
			if r.Steps[i].Learn.Skipped != "" {
				skipped++
			}
			if v, ok := val(r.Steps[i].StepSeconds); ok {
				wall += v
			}
		}
		valid := "–"
		if _, ok := hasProposals(last); ok {
			if v, ok := val(last.Rollout.InvalidRate); ok {
				valid = fmt.Sprintf("%.1f%%", 100*(1-v))
			}
		}
		distinct := "–"
		if d, ok := val(last.Rollout.DistinctSpans); ok {
			if v, ok := validShare(last, d); ok {
				distinct = fmt.Sprintf("%.2f", v)
			}
		}
		stopShare := "–"
		if v, ok := val(last.Rollout.StopWordShare); ok {
			stopShare = fmt.Sprintf("%.1f%%", 100*v)
		}
		acc := "–"
		if v, ok := val(last.Rollout.StrictAccuracy); ok {
			acc = fmt.Sprintf("%.1f%%", 100*v)
		}
		fmt.Fprintf(b, "<tr><td class=\"l\">%s</td><td class=\"l\">%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td></tr>\n",
			esc(r.Name), esc(last.Mode), len(r.Steps), last.Step, acc, valid, stopShare, distinct, skipped,
			(time.Duration(wall * float64(time.Second))).Round(time.Second))
		if r.Warning != "" {
			fmt.Fprintf(b, "<tr><td class=\"l\"></td><td class=\"l warn\" colspan=\"9\">%s</td></tr>\n", esc(r.Warning))
		}
	}
	b.WriteString("</table>\n")
}

// heldOutRow is one line of a held-out table.
type heldOutRow struct {
	arm, source string
	model       string
	kinds       map[string]*KindResult
}

// heldOutTables renders each comparison file, then the runs' own
// evaluations (eval.json and the last eval in metrics.jsonl).
func heldOutTables(runs []*Run, comps []*Comparison) string {
	var b strings.Builder
	for _, c := range comps {
		var rows []heldOutRow
		for _, a := range c.Arms {
			rows = append(rows, heldOutRow{arm: a.Name, model: a.Model, kinds: a.Kinds})
		}
		title := c.Title
		if title == "" {
			title = "comparison"
		}
		sub := c.path
		if c.Note != "" {
			sub = c.Note + " · " + sub
		}
		heldOutTable(&b, title, sub, rows)
	}
	var rows []heldOutRow
	for _, r := range runs {
		if r.Eval != nil && len(r.Eval.Kinds) > 0 {
			rows = append(rows, heldOutRow{arm: r.Name, source: "eval.json", kinds: r.Eval.Kinds})
		}
		for i := len(r.Steps) - 1; i >= 0; i-- {
			if e := r.Steps[i].Eval; e != nil && len(e.Kinds) > 0 {
				rows = append(rows, heldOutRow{arm: r.Name, source: fmt.Sprintf("metrics.jsonl, step %d", r.Steps[i].Step), kinds: e.Kinds})
				break
			}
		}
	}
	if len(rows) > 0 {
		heldOutTable(&b, "the runs' latest evaluation", "", rows)
	}
	return b.String()
}

// kindOrder sorts mask kinds: the eval's usual ones first.
func kindOrder(kinds []string) {
	rank := map[string]int{"single": 0, "multi": 1, "span": 2, "content": 3}
	sort.Slice(kinds, func(i, j int) bool {
		ri, oki := rank[kinds[i]]
		rj, okj := rank[kinds[j]]
		switch {
		case oki && okj:
			return ri < rj
		case oki != okj:
			return oki
		}
		return kinds[i] < kinds[j]
	})
}

func heldOutTable(b *strings.Builder, title, sub string, rows []heldOutRow) {
	kindSet := map[string]bool{}
	top := 0.0
	for _, r := range rows {
		for k, kr := range r.kinds {
			if kr != nil {
				kindSet[k] = true
				top = math.Max(top, math.Max(kr.High, kr.Accuracy))
			}
		}
	}
	kinds := mapKeys(kindSet)
	kindOrder(kinds)
	_, top, _ = niceRange(0, math.Max(top, 0.01), 4)
	withSource := rows[0].source != ""
	fmt.Fprintf(b, "<table class=\"heldout\"><caption><b>%s</b>", esc(title))
	if sub != "" {
		fmt.Fprintf(b, " <span class=\"meta\">%s</span>", esc(sub))
	}
	b.WriteString("</caption>\n<tr><th class=\"l\">arm</th>")
	if withSource {
		b.WriteString("<th class=\"l\">source</th>")
	}
	for _, k := range kinds {
		fmt.Fprintf(b, "<th>%s <span class=\"meta\">(0–%.0f%%)</span></th>", esc(k), 100*top)
	}
	b.WriteString("</tr>\n")
	for _, r := range rows {
		if r.model != "" {
			fmt.Fprintf(b, `<tr><td class="l" title="%s">%s</td>`, esc(r.model), esc(r.arm))
		} else {
			fmt.Fprintf(b, `<tr><td class="l">%s</td>`, esc(r.arm))
		}
		if withSource {
			fmt.Fprintf(b, `<td class="l">%s</td>`, esc(r.source))
		}
		for _, k := range kinds {
			kr := r.kinds[k]
			if kr == nil {
				b.WriteString("<td>–</td>")
				continue
			}
			fmt.Fprintf(b, "<td>%.1f%% <span class=\"meta\">[%.1f, %.1f] n=%d</span> %s</td>",
				100*kr.Accuracy, 100*kr.Low, 100*kr.High, kr.N, intervalSVG(kr, top))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

// intervalSVG draws an accuracy and its interval on a [0, top] scale.
func intervalSVG(kr *KindResult, top float64) string {
	const w, pad = 90.0, 4.0
	x := func(v float64) string { return coord(pad + (w-2*pad)*math.Min(math.Max(v/top, 0), 1)) }
	return fmt.Sprintf(`<svg class="ci" width="90" height="12" viewBox="0 0 90 12"><line x1="%s" y1="6" x2="%s" y2="6" stroke="#ccc"/>`+
		`<line x1="%s" y1="6" x2="%s" y2="6" stroke="#4e79a7" stroke-width="3"/><circle cx="%s" cy="6" r="3" fill="#e15759"/></svg>`,
		coord(pad), coord(w-pad), x(kr.Low), x(kr.High), x(kr.Accuracy))
}

func topSpansTable(b *strings.Builder, r *Run, stop *stopwords.Set) {
	fmt.Fprintf(b, "<table><tr><th class=\"l\" colspan=\"3\">%s", esc(r.Name))
	if len(r.Steps) == 0 {
		b.WriteString("</th></tr><tr><td class=\"l\" colspan=\"3\">no steps yet</td></tr></table>\n")
		return
	}
	last := &r.Steps[len(r.Steps)-1]
	fmt.Fprintf(b, ", step %d</th></tr>\n", last.Step)
	if len(last.Rollout.TopSpans) == 0 {
		b.WriteString("<tr><td class=\"l\" colspan=\"3\">no valid masks</td></tr></table>\n")
		return
	}
	b.WriteString("<tr><th class=\"l\">span</th><th>count</th><th class=\"l\">share of valid masks</th></tr>\n")
	for _, sc := range last.Rollout.TopSpans {
		cls := ""
		if stop.OnlyStopWords(sc.Span) {
			cls = " stop"
		}
		share, ok := validShare(last, float64(sc.Count))
		bar := "–"
		if ok {
			bar = fmt.Sprintf("%.0f%%<span class=\"bar\" style=\"width:%dpx\"></span>", 100*share, int(math.Round(120*math.Min(share, 1))))
		}
		fmt.Fprintf(b, "<tr><td class=\"l%s\">%s</td><td>%d</td><td class=\"l\">%s</td></tr>\n",
			cls, esc(fmt.Sprintf("%q", sc.Span)), sc.Count, bar)
	}
	b.WriteString("<tr><td class=\"l meta\" colspan=\"3\"><span class=\"stop\">red</span>: stop words only</td></tr>\n</table>\n")
}
