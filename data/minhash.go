package data

import (
	"strings"
)

// MinHash near-duplicate detection: word 5-shingles of the lower-cased
// text, 64 hash functions h_k(x) = a_k*x + b_k (mod 2^64) over the FNV-1a
// hash x of each shingle, 8 bands of 8 rows. Two passages share a band with
// probability 1-(1-J^8)^8 for Jaccard similarity J: 0.98 at J=0.9, 0.83
// at J=0.8, 0.13 at J=0.6.
const (
	minhashK     = 64
	minhashBands = 8
	minhashRows  = minhashK / minhashBands
	shingleWords = 5
)

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// minhashKeys returns the 8 band keys of text's MinHash signature.
func minhashKeys(text string) []uint64 {
	words := strings.Fields(strings.ToLower(text))
	var sig [minhashK]uint64
	for k := range sig {
		sig[k] = ^uint64(0)
	}
	var a, b [minhashK]uint64
	for k := range a {
		a[k] = splitmix64(uint64(2*k)) | 1
		b[k] = splitmix64(uint64(2*k + 1))
	}
	n := len(words) - shingleWords + 1
	if n < 1 {
		n = 1
	}
	for i := 0; i < n; i++ {
		end := min(i+shingleWords, len(words))
		x := Hash64(strings.Join(words[i:end], " "))
		for k := range sig {
			if h := a[k]*x + b[k]; h < sig[k] {
				sig[k] = h
			}
		}
	}
	keys := make([]uint64, minhashBands)
	for band := range keys {
		h := splitmix64(uint64(band) + 0x51)
		for r := 0; r < minhashRows; r++ {
			h = splitmix64(h ^ sig[band*minhashRows+r])
		}
		keys[band] = h
	}
	return keys
}
