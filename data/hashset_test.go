package data

import (
	"math/rand/v2"
	"testing"
)

// hashSet agrees with a Go map on random keys, including 0 and 1 (which
// share a slot value: 0 is stored as 1, so they count as one key).
func TestHashSet(t *testing.T) {
	var s hashSet
	ref := map[uint64]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	keys := []uint64{0, 5, 1 << 56, 5 | 1<<56}
	for range 100000 {
		k := r.Uint64()
		if r.IntN(4) == 0 {
			k &= 0xff000000000000ff // collide in few parts and slots
		}
		keys = append(keys, k, k) // each twice
	}
	for _, k := range keys {
		kk := k
		if kk == 0 {
			kk = 1
		}
		if got, want := s.add(k), !ref[kk]; got != want {
			t.Fatalf("add(%#x) = %v, want %v", k, got, want)
		}
		ref[kk] = true
	}
	if s.len() != len(ref) {
		t.Errorf("len %d, want %d", s.len(), len(ref))
	}
	for range 10000 {
		k := r.Uint64()
		if s.has(k) != ref[k] {
			t.Fatalf("has(%#x) = %v", k, s.has(k))
		}
	}
	if !s.has(0) || !s.has(1) || !s.has(5) {
		t.Error("lost a small key")
	}
}
