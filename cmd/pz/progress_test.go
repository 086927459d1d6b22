package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRenderProgress(t *testing.T) {
	cases := []struct {
		name        string
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		// 45 of 100 MB in 9 s: 5 MB/s, 55 MB left: 11 s.
		{"half", 45e6, 100e6, 9 * time.Second, "prep [=========>          ]  45.0% 45.0/100.0 MB 5.0 MB/s ETA 0:11"},
		{"start", 0, 100e6, 0, "prep [>                   ]   0.0% 0.0/100.0 MB 0.0 MB/s ETA --:--"},
		{"done", 100e6, 100e6, 20 * time.Second, "prep [====================] 100.0% 100.0/100.0 MB 5.0 MB/s ETA 0:00"},
		{"unknown total", 3e6, -1, 2 * time.Second, "prep 3.0 MB 1.5 MB/s"},
		// 1 MB of 10 000 MB in 1 s: 9999 s left = 2:46:39.
		{"long eta", 1e6, 1e10, time.Second, "prep [>                   ]   0.0% 1.0/10000.0 MB 1.0 MB/s ETA 2:46:39"},
	}
	for _, c := range cases {
		if got := renderProgress("prep", "MB", 1e6, c.done, c.total, c.elapsed, 20); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		0:                       "0:00",
		59 * time.Second:        "0:59",
		61 * time.Second:        "1:01",
		3600 * time.Second:      "1:00:00",
		-5 * time.Second:        "0:00",
		1500 * time.Millisecond: "0:02",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestProgressLogsWhenNotATerminal(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var out bytes.Buffer
	p := startProgress("prepare", "passages", 1, &out, false, time.Hour, log)
	p.SetTotal(10)
	p.Add(4)
	p.Add(6)
	p.Stop()
	p.Stop() // idempotent
	if out.Len() != 0 {
		t.Errorf("wrote to the terminal stream: %q", out.String())
	}
	s := logs.String()
	if strings.Count(s, "\n") != 1 || !strings.Contains(s, `msg="prepare done"`) || !strings.Contains(s, `done="10 passages"`) || !strings.Contains(s, "percent=100.0") {
		t.Errorf("log = %q", s)
	}
	var tty bytes.Buffer
	q := startProgress("x", "MB", 1e6, &tty, true, time.Hour, log)
	q.SetTotal(2e6)
	q.Add(2e6)
	q.Stop()
	if !strings.HasPrefix(tty.String(), "\rx [") || !strings.HasSuffix(tty.String(), "\x1b[K\n") {
		t.Errorf("tty output %q", tty.String())
	}
}

// TestProgressConsole: step counts are integers, a log line printed while
// the bar is up stands on its own line with the bar redrawn after it, and
// the ETA never exceeds what is left of --budget.
func TestProgressConsole(t *testing.T) {
	if got, want := renderProgress("train", "steps", 1, 76, 400, 76*time.Second, 10), "train [=>        ]  19.0% 76/400 steps 1.0 steps/s ETA 5:24"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var tty bytes.Buffer
	p := startProgress("train", "steps", 1, &tty, true, time.Hour, slog.Default())
	p.SetTotal(400)
	p.Add(76)
	p.report(false)
	p.Printf("step %d: loss %.2f", 76, 5.46)
	p.Stop()
	out := tty.String()
	if !strings.Contains(out, "\r\x1b[Kstep 76: loss 5.46\n\rtrain [") {
		t.Errorf("the log line is not on its own line between bar redraws: %q", out)
	}
	start := time.Unix(0, 0)
	q := startProgress("pretrain", "steps", 1, io.Discard, false, time.Hour, slog.Default())
	defer q.Stop()
	q.start, q.now = start, func() time.Time { return start.Add(60 * time.Second) }
	q.SetBudget(90 * time.Second)
	// 10 of 1000 steps in 60 s would be 99 min at this rate; the budget
	// ends the run in 30 s.
	if eta, ok := q.eta(10, 1000, 60*time.Second); !ok || eta != 30*time.Second {
		t.Errorf("eta with budget = %v, %v; want 30s", eta, ok)
	}
	if eta, _ := q.eta(990, 1000, 60*time.Second); eta >= 30*time.Second {
		t.Errorf("eta near the end = %v, want the rate's, under the budget", eta)
	}
}
