package data

// hashSet is a set of 64-bit hashes for dedup, about 3x smaller than a Go
// map[uint64]struct{}: 256 open-addressing tables (linear probing, grown
// at 3/4 load) picked by the key's top byte, so growing one rehashes only
// 1/256 of the keys. It uses 11-21 bytes per key.
type hashSet struct {
	parts [256]hashPart
}

type hashPart struct {
	slots []uint64 // 0 = empty; key 0 is stored as 1
	n     int
}

// add inserts k and reports whether it was new.
func (s *hashSet) add(k uint64) bool {
	if k == 0 {
		k = 1
	}
	p := &s.parts[k>>56]
	if 4*(p.n+1) > 3*len(p.slots) {
		p.grow()
	}
	if p.insert(k) {
		p.n++
		return true
	}
	return false
}

// has reports whether k is in the set.
func (s *hashSet) has(k uint64) bool {
	if k == 0 {
		k = 1
	}
	p := &s.parts[k>>56]
	if len(p.slots) == 0 {
		return false
	}
	mask := uint64(len(p.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch p.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// len is the number of keys.
func (s *hashSet) len() int {
	n := 0
	for i := range s.parts {
		n += s.parts[i].n
	}
	return n
}

func (p *hashPart) insert(k uint64) bool {
	mask := uint64(len(p.slots) - 1)
	// the low bits index the slot (the top byte picked the part)
	for i := k & mask; ; i = (i + 1) & mask {
		switch p.slots[i] {
		case k:
			return false
		case 0:
			p.slots[i] = k
			return true
		}
	}
}

func (p *hashPart) grow() {
	old := p.slots
	size := 2 * len(old)
	if size == 0 {
		size = 64
	}
	p.slots = make([]uint64, size)
	for _, k := range old {
		if k != 0 {
			p.insert(k)
		}
	}
}
