package data

import (
	"errors"
	"testing"
)

// Expected values computed independently with a few lines of Python
// implementing FNV-1a 64 (offset 14695981039346656037, prime
// 1099511628211).
func TestHash64AndShardOf(t *testing.T) {
	cases := []struct {
		s       string
		hash    uint64
		mod4    int
		mod7    int
		mod1000 int
	}{
		{"", 0xcbf29ce484222325, 1, 2, 37},
		{"a", 0xaf63dc4c8601ec8c, 0, 5, 996},
		{"enwiki-12-0002#0", 0xec1a5b0dcd68e1a0, 0, 3, 200},
		{"enwiki-28017-0013#0", 0x40a47dd8ef3f4c53, 3, 4, 355},
		{"doc-1#3", 0x8683f8646ee34961, 1, 3, 625},
		{"doc-1#3.1", 0xec4efd2fdf057764, 0, 5, 716},
	}
	for _, c := range cases {
		if got := Hash64(c.s); got != c.hash {
			t.Errorf("Hash64(%q) = %#x, want %#x", c.s, got, c.hash)
		}
		for n, want := range map[int]int{4: c.mod4, 7: c.mod7, 1000: c.mod1000, 1: 0} {
			if got := ShardOf(c.s, n); got != want {
				t.Errorf("ShardOf(%q, %d) = %d, want %d", c.s, n, got, want)
			}
			spec := ShardSpec{I: want, N: n}
			if !spec.Contains(c.s) {
				t.Errorf("%v does not contain %q", spec, c.s)
			}
		}
	}
}

func TestIsHeldout(t *testing.T) {
	// u = (Hash64("heldout:"+key) >> 11) / 2^53, from Python.
	cases := []struct {
		key string
		u   float64
	}{
		{"Anarchism", 0.27744515096559097},
		{"Sirius", 0.015998150940817357},
		{"doc-1", 0.5623460511939464},
		{"x", 0.2398632897230717},
	}
	for _, c := range cases {
		for _, frac := range []float64{0, 0.01, 0.02, 0.25, 0.28, 0.5, 0.57, 0.99} {
			if got, want := IsHeldout(c.key, frac), c.u < frac; got != want {
				t.Errorf("IsHeldout(%q, %g) = %v, want %v", c.key, frac, got, want)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	cases := []struct {
		in   string
		want ShardSpec
		err  bool
	}{
		{"", ShardSpec{}, false},
		{"0/1", ShardSpec{0, 1}, false},
		{"3/8", ShardSpec{3, 8}, false},
		{" 1 / 2 ", ShardSpec{1, 2}, false},
		{"8/8", ShardSpec{}, true},
		{"-1/8", ShardSpec{}, true},
		{"1/0", ShardSpec{}, true},
		{"3", ShardSpec{}, true},
		{"a/b", ShardSpec{}, true},
	}
	for _, c := range cases {
		got, err := ParseShard(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseShard(%q) error = %v, want error %v", c.in, err, c.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadShard) {
			t.Errorf("ParseShard(%q) error %v is not ErrBadShard", c.in, err)
		}
		if got != c.want {
			t.Errorf("ParseShard(%q) = %v, want %v", c.in, got, c.want)
		}
		if err == nil && got.String() != "" {
			if back, _ := ParseShard(got.String()); back != got {
				t.Errorf("round trip %v -> %q -> %v", got, got.String(), back)
			}
		}
	}
}
