package main

import (
	"bytes"
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
	if strings.Count(s, "\n") != 1 || !strings.Contains(s, `msg="prepare done"`) || !strings.Contains(s, `done="10.0 passages"`) || !strings.Contains(s, "percent=100.0") {
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
