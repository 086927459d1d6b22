package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pz/orchestrator"
)

// progress reports a long operation's progress: a one-line bar with rate
// and ETA redrawn in place when its writer is a terminal, otherwise a
// periodic slog line. It implements data.Progress (SetTotal, Add) and is
// safe for concurrent use. Units are configurable: unit "MB" with scale
// 1e6 turns bytes into MB and MB/s; unit "passages" with scale 1 counts
// passages/s.
type progress struct {
	label string
	unit  string
	scale float64

	done  atomic.Int64
	total atomic.Int64
	// budget, when positive, caps the ETA: the run stops by then.
	budget atomic.Int64

	// mu orders the bar's redraws and Printf's lines on w, so a log line
	// never lands glued to the end of the bar.
	mu sync.Mutex

	w        io.Writer
	tty      bool
	interval time.Duration
	log      *slog.Logger
	start    time.Time
	now      func() time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// newProgress starts a reporter on stderr. Call Stop when done.
func newProgress(label, unit string, scale float64) *progress {
	tty := isTerminal(os.Stderr)
	interval := 10 * time.Second
	if tty {
		interval = 200 * time.Millisecond
	}
	return startProgress(label, unit, scale, os.Stderr, tty, interval, slog.Default())
}

func startProgress(label, unit string, scale float64, w io.Writer, tty bool, interval time.Duration, log *slog.Logger) *progress {
	if scale <= 0 {
		scale = 1
	}
	p := &progress{label: label, unit: unit, scale: scale, w: w, tty: tty, interval: interval, log: log, now: time.Now, stop: make(chan struct{})}
	p.total.Store(-1)
	p.start = p.now()
	p.wg.Add(1)
	go p.loop()
	return p
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// SetTotal sets the expected total (-1: unknown).
func (p *progress) SetTotal(n int64) { p.total.Store(n) }

// Add records n more units done.
func (p *progress) Add(n int64) { p.done.Add(n) }

// SetBudget caps the ETA at what is left of a wall-time budget (0: none).
func (p *progress) SetBudget(d time.Duration) { p.budget.Store(int64(d)) }

// Printf writes one line to the progress stream: on a terminal the bar is
// cleared first and redrawn after, so the line stands on its own.
func (p *progress) Printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, strings.TrimSuffix(format, "\n")+"\n", args...)
	if p.tty {
		p.draw(false)
	}
}

func (p *progress) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.report(false)
		}
	}
}

// Stop prints a final report and ends the reporter.
func (p *progress) Stop() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		p.report(true)
	})
}

func (p *progress) report(final bool) {
	if p.tty {
		p.mu.Lock()
		p.draw(final)
		p.mu.Unlock()
		return
	}
	done, total := p.done.Load(), p.total.Load()
	elapsed := p.now().Sub(p.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / p.scale / s
	}
	args := []any{"done", amount(done, p.scale, p.unit), "rate", fmt.Sprintf("%.1f %s/s", rate, p.unit), "elapsed", elapsed.Round(time.Second).String()}
	if total > 0 {
		args = append(args, "total", amount(total, p.scale, p.unit), "percent", fmt.Sprintf("%.1f", 100*float64(done)/float64(total)))
		if eta, ok := p.eta(done, total, elapsed); ok && !final {
			args = append(args, "eta", formatDuration(eta))
		}
	}
	msg := p.label
	if final {
		msg += " done"
	}
	p.log.Info(msg, args...)
}

// draw redraws the bar (p.mu held).
func (p *progress) draw(final bool) {
	done, total := p.done.Load(), p.total.Load()
	elapsed := p.now().Sub(p.start)
	line := renderProgress(p.label, p.unit, p.scale, done, total, elapsed, 30)
	if b := time.Duration(p.budget.Load()); b > 0 && total > 0 {
		if eta, ok := p.eta(done, total, elapsed); ok {
			if i := strings.LastIndex(line, " ETA "); i >= 0 {
				line = line[:i] + " ETA " + formatDuration(eta)
			}
		}
	}
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K%s", line, end)
}

// eta is etaOf capped by the budget, when one is set.
func (p *progress) eta(done, total int64, elapsed time.Duration) (time.Duration, bool) {
	eta, ok := etaOf(done, total, elapsed)
	if b := time.Duration(p.budget.Load()); b > 0 {
		left := max(b-elapsed, 0)
		if !ok || left < eta {
			return left, true
		}
	}
	return eta, ok
}

// amount prints a count: whole units as integers (76/400 steps), scaled
// ones with one decimal (4.5 MB).
func amount(n int64, scale float64, unit string) string {
	if scale == 1 {
		return fmt.Sprintf("%d %s", n, unit)
	}
	return fmt.Sprintf("%.1f %s", float64(n)/scale, unit)
}

// etaOf estimates the time left at the average rate so far.
func etaOf(done, total int64, elapsed time.Duration) (time.Duration, bool) {
	if done <= 0 || total <= 0 || elapsed <= 0 {
		return 0, false
	}
	if done >= total {
		return 0, true
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done)), true
}

// formatDuration prints h:mm:ss or m:ss.
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// renderProgress draws one bar line:
// "label [=====>    ]  45.0% 4.5/10.0 MB 2.3 MB/s ETA 0:02".
// With an unknown total it shows the count and rate only.
func renderProgress(label, unit string, scale float64, done, total int64, elapsed time.Duration, width int) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / scale / s
	}
	var b strings.Builder
	b.WriteString(label)
	if total > 0 {
		frac := min(float64(done)/float64(total), 1)
		fill := int(frac * float64(width))
		b.WriteString(" [")
		b.WriteString(strings.Repeat("=", fill))
		if fill < width {
			b.WriteString(">")
			b.WriteString(strings.Repeat(" ", width-fill-1))
		}
		if scale == 1 {
			fmt.Fprintf(&b, "] %5.1f%% %d/%d %s %.1f %s/s", 100*frac, done, total, unit, rate, unit)
		} else {
			fmt.Fprintf(&b, "] %5.1f%% %.1f/%.1f %s %.1f %s/s", 100*frac, float64(done)/scale, float64(total)/scale, unit, rate, unit)
		}
		if eta, ok := etaOf(done, total, elapsed); ok {
			b.WriteString(" ETA ")
			b.WriteString(formatDuration(eta))
		} else {
			b.WriteString(" ETA --:--")
		}
		return b.String()
	}
	fmt.Fprintf(&b, " %s %.1f %s/s", amount(done, scale, unit), rate, unit)
	return b.String()
}

// evalLine is a held-out evaluation on one console line:
// "single 12.5% [9.1, 16.9] n=200; multi ...", kinds in name order.
func evalLine(r *orchestrator.EvalReport) string {
	kinds := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		kr := r.Kinds[k]
		parts = append(parts, fmt.Sprintf("%s %.1f%% [%.1f, %.1f] n=%d", k, 100*kr.Accuracy, 100*kr.Low, 100*kr.High, kr.N))
	}
	return strings.Join(parts, "; ")
}
