// Command cut makes pz's shipped sample corpus (data/sample) from the
// English Wikipedia paragraph shards in ../shared/data/wiki.
//
// Whole articles are chosen by a stable hash of the page id so that no
// article is on both sides: u = FNV-1a-64("pz-sample:" + pageID) mod 10000;
// u < 750 goes to train.jsonl, 750 <= u < 850 to heldout.jsonl, the rest is
// left out. Lines are copied byte for byte, in source order (page id
// ascending). Run from the repository root:
//
//	go run ./data/sample/internal/cut -src ../shared/data/wiki -out data/sample
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"pz/internal/atomicfile"
)

func main() {
	src := flag.String("src", "../shared/data/wiki", "folder with wiki-*.jsonl")
	out := flag.String("out", "data/sample", "output folder")
	trainBelow := flag.Uint64("train", 750, "train if hash mod 10000 is below this")
	heldBelow := flag.Uint64("heldout", 850, "held out if hash mod 10000 is below this (and not train)")
	flag.Parse()
	if err := cut(*src, *out, *trainBelow, *heldBelow); err != nil {
		fmt.Fprintln(os.Stderr, "cut:", err)
		os.Exit(1)
	}
}

func pageID(id string) (string, error) {
	// enwiki-<page id>-<line>
	parts := strings.Split(id, "-")
	if len(parts) != 3 || parts[0] != "enwiki" {
		return "", fmt.Errorf("unexpected id %q", id)
	}
	return parts[1], nil
}

func bucket(page string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("pz-sample:" + page))
	return h.Sum64() % 10000
}

func cut(src, out string, trainBelow, heldBelow uint64) error {
	files, err := filepath.Glob(filepath.Join(src, "wiki-*.jsonl"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no wiki-*.jsonl in %s", src)
	}
	sort.Strings(files)
	var train, held []byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			line := sc.Bytes()
			var rec struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(line, &rec); err != nil {
				fh.Close()
				return fmt.Errorf("%s: %w", f, err)
			}
			p, err := pageID(rec.ID)
			if err != nil {
				fh.Close()
				return fmt.Errorf("%s: %w", f, err)
			}
			switch u := bucket(p); {
			case u < trainBelow:
				train = append(append(train, line...), '\n')
			case u < heldBelow:
				held = append(append(held, line...), '\n')
			}
		}
		err = sc.Err()
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "train.jsonl"), train, 0o644); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "heldout.jsonl"), held, 0o644); err != nil {
		return err
	}
	fmt.Printf("train.jsonl %d bytes, heldout.jsonl %d bytes\n", len(train), len(held))
	return nil
}
