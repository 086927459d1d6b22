// Command ortprof summarises an ONNX Runtime profile (the JSON trace a
// session writes with SessionOptions.ProfilePrefix; set PZ_PROFILE=prefix
// when running the engine or learner benchmarks): kernel time per op type
// and the slowest nodes with their input shapes, over the runs after the
// first -skip ones (warm-up runs pay arena growth and page faults).
//
//	PZ_PROFILE=/tmp/p go test ./orchestrator/engine/ort -run '^$' -bench 'Prefill/threads=2' -benchtime 3x
//	go run ./scripts/ortprof -skip 1 /tmp/p_decode_*.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Cat  string  `json:"cat"`
	Name string  `json:"name"`
	Ts   float64 `json:"ts"`
	Dur  float64 `json:"dur"`
	Args struct {
		OpName string               `json:"op_name"`
		Inputs []map[string][]int64 `json:"input_type_shape"`
	} `json:"args"`
}

func main() {
	skip := flag.Int("skip", 1, "leading runs to leave out")
	top := flag.Int("top", 15, "slowest nodes to list")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: ortprof [-skip N] [-top N] PROFILE.json")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *skip, *top); err != nil {
		fmt.Fprintln(os.Stderr, "ortprof:", err)
		os.Exit(1)
	}
}

func run(path string, skip, top int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var evs []event
	if err := json.Unmarshal(b, &evs); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var runs []event
	for _, e := range evs {
		if e.Cat == "Session" && e.Name == "model_run" {
			runs = append(runs, e)
		}
	}
	if len(runs) <= skip {
		return fmt.Errorf("%s: %d runs, none left after skipping %d", path, len(runs), skip)
	}
	runs = runs[skip:]
	inRun := func(ts float64) bool {
		for _, r := range runs {
			if ts >= r.Ts && ts <= r.Ts+r.Dur {
				return true
			}
		}
		return false
	}
	byOp, count := map[string]float64{}, map[string]int{}
	byNode, shapes := map[string]float64{}, map[string]string{}
	total, wall := 0.0, 0.0
	for _, r := range runs {
		wall += r.Dur
	}
	for _, e := range evs {
		if e.Cat != "Node" || !strings.HasSuffix(e.Name, "_kernel_time") || !inRun(e.Ts) {
			continue
		}
		byOp[e.Args.OpName] += e.Dur
		count[e.Args.OpName]++
		byNode[e.Name] += e.Dur
		var sh []string
		for _, in := range e.Args.Inputs {
			for _, dims := range in {
				sh = append(sh, fmt.Sprint(dims))
			}
		}
		shapes[e.Name] = e.Args.OpName + " " + strings.Join(sh, " ")
		total += e.Dur
	}
	n := float64(len(runs))
	fmt.Printf("%s: %d runs, %.2f ms per run, kernels %.2f ms\n", path, len(runs), wall/n/1e3, total/n/1e3)
	for _, k := range sorted(byOp) {
		fmt.Printf("  %-30s %9.2f ms %5.1f%%  %d nodes\n", k, byOp[k]/n/1e3, 100*byOp[k]/total, count[k]/len(runs))
	}
	fmt.Println("slowest nodes:")
	for i, k := range sorted(byNode) {
		if i == top {
			break
		}
		fmt.Printf("  %9.2f ms  %s  %s\n", byNode[k]/n/1e3, strings.TrimSuffix(k, "_kernel_time"), shapes[k])
	}
	return nil
}

// sorted returns m's keys by decreasing value.
func sorted(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return m[ks[i]] > m[ks[j]] })
	return ks
}
