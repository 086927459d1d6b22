package safetensors

import (
	"math"
	"testing"
)

func TestBF16FromFloat32(t *testing.T) {
	cases := []struct {
		in   uint32 // float32 bits
		want uint16
	}{
		{0x3F800000, 0x3F80}, // 1.0
		{0xC0000000, 0xC000}, // -2.0
		{0x3F808000, 0x3F80}, // 1+2^-8: tie, keep even 0x3F80
		{0x3F818000, 0x3F82}, // 1+3*2^-8: tie, round up to even 0x3F82
		{0x3F808001, 0x3F81}, // just above the tie
		{0x40490FDB, 0x4049}, // pi
		{0x3DCCCCCD, 0x3DCD}, // 0.1
		{0x7F800000, 0x7F80}, // +Inf
		{0xFF800000, 0xFF80}, // -Inf
		{0x7F7FFFFF, 0x7F80}, // max float32 rounds to Inf, as torch does
		{0x7FC00001, 0x7FC0}, // NaN
		{0xFFFFFFFF, 0x7FC0}, // negative NaN: torch gives 0x7FC0 too
		{0x80000000, 0x8000}, // -0
		{0x00000001, 0x0000}, // smallest subnormal rounds to 0
		{0x00018000, 0x0002}, // subnormal tie rounds to even
	}
	for _, c := range cases {
		if got := BF16FromFloat32(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("BF16FromFloat32(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if got := Float32FromBF16(0x3F80); got != 1 {
		t.Errorf("Float32FromBF16(0x3F80) = %v", got)
	}
	// Every bf16 value widens and narrows back unchanged (NaNs to 0x7FC0).
	for h := range 1 << 16 {
		f := Float32FromBF16(uint16(h))
		want := uint16(h)
		if f != f {
			want = 0x7FC0
		}
		if got := BF16FromFloat32(f); got != want {
			t.Fatalf("bf16 %#04x -> %v -> %#04x", h, f, got)
		}
	}
}

func TestF16FromFloat32(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3C00},
		{-2, 0xC000},
		{0.5, 0x3800},
		{65504, 0x7BFF},                            // max half
		{65519, 0x7BFF},                            // below the tie
		{65520, 0x7C00},                            // tie between 65504 and 2^16 rounds to even: Inf
		{1e9, 0x7C00},                              // overflow
		{float32(math.Ldexp(1, -14)), 0x0400},      // smallest normal
		{float32(math.Ldexp(1, -24)), 0x0001},      // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},      // half of it: tie to even 0
		{float32(math.Ldexp(1.5, -25)), 0x0001},    // above the tie
		{float32(math.Ldexp(3, -25)), 0x0002},      // 1.5 units: tie rounds to even 2
		{float32(math.Ldexp(1023.5, -24)), 0x0400}, // largest subnormal tie carries to smallest normal
		{float32(math.Ldexp(1, -26)), 0x0000},
		{1 + 1.0/2048, 0x3C00}, // 1+2^-11: tie, keep even
		{1 + 3.0/2048, 0x3C02}, // 1+3*2^-11: tie, round up to even
		{0.1, 0x2E66},
		{float32(math.Inf(-1)), 0xFC00},
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(math.NaN()), 0x7E00},
	}
	for _, c := range cases {
		if got := F16FromFloat32(c.in); got != c.want {
			t.Errorf("F16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	widen := []struct {
		in   uint16
		want float32
	}{
		{0x3C00, 1}, {0xC000, -2}, {0x7BFF, 65504}, {0x0001, float32(math.Ldexp(1, -24))},
		{0x03FF, float32(math.Ldexp(1023, -24))}, {0x8001, -float32(math.Ldexp(1, -24))},
		{0x7C00, float32(math.Inf(1))},
	}
	for _, c := range widen {
		if got := Float32FromF16(c.in); got != c.want {
			t.Errorf("Float32FromF16(%#04x) = %g, want %g", c.in, got, c.want)
		}
	}
	if f := Float32FromF16(0x7E00); f == f {
		t.Error("Float32FromF16(0x7E00) is not NaN")
	}
	// Every half value widens exactly and narrows back unchanged (NaNs quiet).
	for h := range 1 << 16 {
		f := Float32FromF16(uint16(h))
		want := uint16(h)
		if f != f {
			want = uint16(h)&0x8000 | 0x7E00
		}
		if got := F16FromFloat32(f); got != want {
			t.Fatalf("f16 %#04x -> %g -> %#04x", h, f, got)
		}
	}
}

// TestF16Midpoints checks rounding at every midpoint between adjacent
// positive finite halves: exactly halfway goes to the even neighbour, a hair
// either side goes to the nearer one.
func TestF16Midpoints(t *testing.T) {
	for h := uint16(0); h < 0x7BFF; h++ {
		lo, hi := float64(Float32FromF16(h)), float64(Float32FromF16(h+1))
		mid := float32((lo + hi) / 2) // exact in float32
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		if got := F16FromFloat32(mid); got != even {
			t.Fatalf("midpoint %g of %#04x,%#04x -> %#04x, want %#04x", mid, h, h+1, got, even)
		}
		if got := F16FromFloat32(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("below midpoint of %#04x -> %#04x", h, got)
		}
		if got := F16FromFloat32(math.Nextafter32(mid, 1e9)); got != h+1 {
			t.Fatalf("above midpoint of %#04x -> %#04x", h, got)
		}
	}
}
