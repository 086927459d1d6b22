package mathverify

import (
	"math"
	"math/big"
	"strings"
)

// MaxExactExponent is the largest integer power computed exactly; larger
// ones (and results over maxExactBits) are computed in float64.
const MaxExactExponent = 256

const maxExactBits = 4096

// num is a constant: exact when r is set, else the float f.
type num struct {
	r *big.Rat
	f float64
}

func exact(r *big.Rat) num  { return num{r: r} }
func inexact(f float64) num { return num{f: f} }

func (n num) float() float64 {
	if n.r != nil {
		f, _ := n.r.Float64()
		return f
	}
	return n.f
}

// evalNumber evaluates a normalised constant expression; ok is false for
// anything else (variables, unknown commands, division by zero).
func evalNumber(s string) (num, bool) {
	p := &parser{s: s}
	n, ok := p.expr()
	if !ok || p.i != len(p.s) {
		return num{}, false
	}
	if n.r == nil && math.IsNaN(n.f) {
		return num{}, false
	}
	return n, true
}

type parser struct {
	s     string
	i     int
	depth int
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) eat(tok string) bool {
	if !strings.HasPrefix(p.s[p.i:], tok) {
		return false
	}
	// A command must not run on into a longer name (\pi vs \pit).
	if tok[0] == '\\' && len(tok) > 1 && isLetter(tok[len(tok)-1]) {
		if e := p.i + len(tok); e < len(p.s) && isLetter(p.s[e]) {
			return false
		}
	}
	p.i += len(tok)
	return true
}

func (p *parser) expr() (num, bool) {
	if p.depth++; p.depth > 64 {
		return num{}, false
	}
	defer func() { p.depth-- }()
	a, ok := p.term()
	if !ok {
		return a, false
	}
	for {
		switch {
		case p.eat("+"):
			b, ok := p.term()
			if !ok {
				return b, false
			}
			a = add(a, b, 1)
		case p.eat("-"):
			b, ok := p.term()
			if !ok {
				return b, false
			}
			a = add(a, b, -1)
		default:
			return a, true
		}
	}
}

func (p *parser) term() (num, bool) {
	a, ok := p.unary()
	if !ok {
		return a, false
	}
	for {
		switch {
		case p.eat("*"), p.eat(`\cdot`), p.eat(`\times`):
			b, ok := p.unary()
			if !ok {
				return b, false
			}
			a = mul(a, b)
		case p.eat("/"), p.eat(`\div`):
			b, ok := p.unary()
			if !ok {
				return b, false
			}
			if a, ok = div(a, b); !ok {
				return a, false
			}
		case p.startsAtom():
			// Implicit product: 2\sqrt{3}, 3\pi, 2(1+x).
			b, ok := p.power()
			if !ok {
				return b, false
			}
			a = mul(a, b)
		default:
			return a, true
		}
	}
}

func (p *parser) startsAtom() bool {
	c := p.peek()
	if c == '(' || c == '{' {
		return true
	}
	for _, t := range []string{`\frac`, `\sqrt`, `\pi`} {
		if strings.HasPrefix(p.s[p.i:], t) {
			return true
		}
	}
	return false
}

func (p *parser) unary() (num, bool) {
	if p.depth++; p.depth > 64 {
		return num{}, false
	}
	defer func() { p.depth-- }()
	switch {
	case p.eat("-"):
		a, ok := p.unary()
		return neg(a), ok
	case p.eat("+"):
		return p.unary()
	}
	return p.power()
}

func (p *parser) power() (num, bool) {
	base, ok := p.atom()
	if !ok {
		return base, false
	}
	if !p.eat("^") {
		return base, true
	}
	var e num
	if p.peek() == '{' {
		e, ok = p.atom()
	} else if p.peek() == '-' || p.peek() == '+' {
		e, ok = p.unary()
	} else {
		e, ok = p.digitOrAtom()
	}
	if !ok {
		return e, false
	}
	return pow(base, e)
}

// digitOrAtom is a one-character argument (\frac12, x^2) or a group.
func (p *parser) digitOrAtom() (num, bool) {
	if c := p.peek(); '0' <= c && c <= '9' {
		p.i++
		return exact(new(big.Rat).SetInt64(int64(c - '0'))), true
	}
	return p.atom()
}

func (p *parser) atom() (num, bool) {
	if p.depth++; p.depth > 64 {
		return num{}, false
	}
	defer func() { p.depth-- }()
	c := p.peek()
	switch {
	case c == '(' || c == '{':
		p.i++
		v, ok := p.expr()
		want := byte(')')
		if c == '{' {
			want = '}'
		}
		if !ok || p.peek() != want {
			return v, false
		}
		p.i++
		return v, true
	case ('0' <= c && c <= '9') || c == '.':
		return p.number()
	case p.eat(`\frac`):
		a, ok := p.digitOrAtom()
		if !ok {
			return a, false
		}
		b, ok := p.digitOrAtom()
		if !ok {
			return b, false
		}
		return div(a, b)
	case p.eat(`\sqrt`):
		deg := exact(big.NewRat(2, 1))
		if p.eat("[") {
			d, ok := p.expr()
			if !ok || !p.eat("]") {
				return d, false
			}
			deg = d
		}
		a, ok := p.digitOrAtom()
		if !ok {
			return a, false
		}
		return root(a, deg)
	case p.eat(`\pi`):
		return inexact(math.Pi), true
	case p.eat(`\infty`):
		return inexact(math.Inf(1)), true
	}
	return num{}, false
}

func (p *parser) number() (num, bool) {
	start := p.i
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	intPart := p.s[start:p.i]
	frac := ""
	if p.peek() == '.' {
		p.i++
		f := p.i
		for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
			p.i++
		}
		frac = p.s[f:p.i]
	}
	if intPart == "" && frac == "" {
		return num{}, false
	}
	if len(intPart)+len(frac) > 400 {
		return num{}, false
	}
	n, ok := new(big.Int).SetString("0"+intPart+frac, 10)
	if !ok {
		return num{}, false
	}
	d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	return exact(new(big.Rat).SetFrac(n, d)), true
}

func add(a, b num, sign int) num {
	if a.r != nil && b.r != nil {
		if sign < 0 {
			return exact(new(big.Rat).Sub(a.r, b.r))
		}
		return exact(new(big.Rat).Add(a.r, b.r))
	}
	return inexact(a.float() + float64(sign)*b.float())
}

func mul(a, b num) num {
	if a.r != nil && b.r != nil {
		return exact(new(big.Rat).Mul(a.r, b.r))
	}
	x, y := a.float(), b.float()
	if f := x * y; math.IsInf(f, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return inexact(math.NaN()) // overflow: rejected by evalNumber
	}
	return inexact(x * y)
}

func neg(a num) num {
	if a.r != nil {
		return exact(new(big.Rat).Neg(a.r))
	}
	return inexact(-a.f)
}

func div(a, b num) (num, bool) {
	if b.r != nil {
		if b.r.Sign() == 0 {
			return num{}, false
		}
		if a.r != nil {
			return exact(new(big.Rat).Quo(a.r, b.r)), true
		}
	}
	if b.float() == 0 {
		return num{}, false
	}
	return inexact(a.float() / b.float()), true
}

func pow(base, e num) (num, bool) {
	if base.r != nil && e.r != nil && e.r.IsInt() && e.r.Num().IsInt64() {
		n := e.r.Num().Int64()
		bits := int64(base.r.Num().BitLen() + base.r.Denom().BitLen())
		if n >= -MaxExactExponent && n <= MaxExactExponent && bits*abs64(n) <= maxExactBits {
			if n < 0 && base.r.Sign() == 0 {
				return num{}, false
			}
			num0 := new(big.Int).Exp(base.r.Num(), big.NewInt(abs64(n)), nil)
			den := new(big.Int).Exp(base.r.Denom(), big.NewInt(abs64(n)), nil)
			if n < 0 {
				num0, den = den, num0
				if num0.Sign() < 0 || den.Sign() < 0 {
					num0.Neg(num0)
					den.Neg(den)
				}
			}
			return exact(new(big.Rat).SetFrac(num0, den)), true
		}
	}
	b := base.float()
	f := math.Pow(b, e.float())
	// An overflow is not a value: 2^{100000} and 2^{100001} must not
	// compare equal as two infinities.
	return inexact(f), !math.IsNaN(f) && (!math.IsInf(f, 0) || math.IsInf(b, 0))
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// root is the deg-th root of a: exact when a is a perfect power of a
// rational and deg a small integer.
func root(a, deg num) (num, bool) {
	if a.r != nil && deg.r != nil && deg.r.IsInt() && deg.r.Num().IsInt64() {
		d := deg.r.Num().Int64()
		if d < 1 {
			return num{}, false
		}
		if d%2 == 0 && a.r.Sign() < 0 {
			return num{}, false // not a real number
		}
		if d <= 16 {
			if n, ok := intRoot(a.r.Num(), d); ok {
				if m, ok := intRoot(a.r.Denom(), d); ok {
					return exact(new(big.Rat).SetFrac(n, m)), true
				}
			}
		}
		f := a.float()
		if f < 0 {
			return inexact(-math.Pow(-f, 1/float64(d))), true
		}
		return inexact(math.Pow(f, 1/float64(d))), true
	}
	f := math.Pow(a.float(), 1/deg.float())
	return inexact(f), !math.IsNaN(f)
}

// intRoot returns the exact integer d-th root of x when there is one.
func intRoot(x *big.Int, d int64) (*big.Int, bool) {
	neg := x.Sign() < 0
	ax := new(big.Int).Abs(x)
	if ax.BitLen() > maxExactBits {
		return nil, false
	}
	var r *big.Int
	if d == 2 {
		r = new(big.Int).Sqrt(ax)
	} else {
		f, _ := new(big.Float).SetInt(ax).Float64()
		r, _ = big.NewFloat(math.Round(math.Pow(f, 1/float64(d)))).Int(nil)
	}
	for _, c := range []*big.Int{r, new(big.Int).Add(r, big.NewInt(1)), new(big.Int).Sub(r, big.NewInt(1))} {
		if c.Sign() < 0 {
			continue
		}
		if new(big.Int).Exp(c, big.NewInt(d), nil).Cmp(ax) == 0 {
			if neg {
				c = new(big.Int).Neg(c)
			}
			return c, true
		}
	}
	return nil, false
}
