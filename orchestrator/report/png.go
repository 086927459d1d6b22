package report

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// pngCanvas draws on an image: anti-aliased shapes with x/image/vector and
// text in the 7×13 bitmap font of x/image/font/basicfont.
type pngCanvas struct{ img *image.RGBA }

// fill rasterises the closed polygons (all wound the same way) in c.
func (p pngCanvas) fill(polys [][][2]float64, c color.RGBA) {
	b := p.img.Bounds()
	r := vector.NewRasterizer(b.Dx(), b.Dy())
	for _, poly := range polys {
		if len(poly) < 3 {
			continue
		}
		if signedArea(poly) < 0 {
			rev := make([][2]float64, len(poly))
			for i, q := range poly {
				rev[len(poly)-1-i] = q
			}
			poly = rev
		}
		r.MoveTo(float32(poly[0][0]), float32(poly[0][1]))
		for _, q := range poly[1:] {
			r.LineTo(float32(q[0]), float32(q[1]))
		}
		r.ClosePath()
	}
	r.Draw(p.img, b, image.NewUniform(c), image.Point{})
}

func signedArea(poly [][2]float64) float64 {
	a := 0.0
	for i := range poly {
		j := (i + 1) % len(poly)
		a += poly[i][0]*poly[j][1] - poly[j][0]*poly[i][1]
	}
	return a / 2
}

func (p pngCanvas) rect(x, y, w, h float64, fill color.RGBA) {
	p.fill([][][2]float64{{{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}}, fill)
}

// stroke turns segments into quads plus round-ish joins.
func (p pngCanvas) stroke(segs [][2][2]float64, c color.RGBA, width float64) {
	hw := width / 2
	var polys [][][2]float64
	for _, s := range segs {
		dx, dy := s[1][0]-s[0][0], s[1][1]-s[0][1]
		l := math.Hypot(dx, dy)
		if l < 1e-9 {
			continue
		}
		nx, ny := -dy/l*hw, dx/l*hw
		polys = append(polys, [][2]float64{
			{s[0][0] + nx, s[0][1] + ny}, {s[1][0] + nx, s[1][1] + ny},
			{s[1][0] - nx, s[1][1] - ny}, {s[0][0] - nx, s[0][1] - ny},
		})
	}
	for i := 1; i < len(segs); i++ {
		if segs[i][0] == segs[i-1][1] {
			polys = append(polys, disc(segs[i][0][0], segs[i][0][1], hw))
		}
	}
	p.fill(polys, c)
}

func disc(x, y, r float64) [][2]float64 {
	const n = 12
	poly := make([][2]float64, n)
	for i := range poly {
		a := 2 * math.Pi * float64(i) / n
		poly[i] = [2]float64{x + r*math.Cos(a), y + r*math.Sin(a)}
	}
	return poly
}

func (p pngCanvas) line(x1, y1, x2, y2 float64, c color.RGBA, width float64) {
	// Snap thin axis-parallel lines to the pixel grid so they stay crisp.
	if width <= 1 {
		if x1 == x2 {
			x1, x2 = math.Floor(x1)+0.5, math.Floor(x2)+0.5
		}
		if y1 == y2 {
			y1, y2 = math.Floor(y1)+0.5, math.Floor(y2)+0.5
		}
	}
	p.stroke([][2][2]float64{{{x1, y1}, {x2, y2}}}, c, width)
}

func (p pngCanvas) polyline(pts [][2]float64, c color.RGBA, width float64, dash int, _ string, faint bool) {
	if faint { // premultiplied: scale every channel
		a := faintAlpha
		c = color.RGBA{uint8(float64(c.R) * a), uint8(float64(c.G) * a), uint8(float64(c.B) * a), uint8(255 * a)}
	}
	var segs [][2][2]float64
	pat := dashPattern(dash)
	if pat == nil {
		for i := 1; i < len(pts); i++ {
			segs = append(segs, [2][2]float64{pts[i-1], pts[i]})
		}
		p.stroke(segs, c, width)
		return
	}
	// Walk the polyline, emitting the "on" parts of the pattern.
	k, left, on := 0, pat[0], true
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		l := math.Hypot(b[0]-a[0], b[1]-a[1])
		pos := 0.0
		for pos < l {
			step := math.Min(left, l-pos)
			if on {
				t0, t1 := pos/l, (pos+step)/l
				segs = append(segs, [2][2]float64{
					{a[0] + (b[0]-a[0])*t0, a[1] + (b[1]-a[1])*t0},
					{a[0] + (b[0]-a[0])*t1, a[1] + (b[1]-a[1])*t1},
				})
			}
			pos += step
			left -= step
			if left <= 1e-9 {
				k = (k + 1) % len(pat)
				left, on = pat[k], k%2 == 0
			}
		}
	}
	p.stroke(segs, c, width)
}

func (p pngCanvas) circle(x, y, r float64, c color.RGBA) {
	p.fill([][][2]float64{disc(x, y, r)}, c)
}

func (p pngCanvas) text(x, y float64, s string, anchor byte, c color.RGBA, bold bool) {
	// The bitmap font has ASCII only.
	s = strings.Map(func(r rune) rune {
		if r > 126 || r < 32 {
			return '?'
		}
		return r
	}, s)
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(c), Face: basicfont.Face7x13}
	w := float64(d.MeasureString(s).Round())
	switch anchor {
	case 'm':
		x -= w / 2
	case 'e':
		x -= w
	}
	d.Dot = fixed.P(int(math.Round(x)), int(math.Round(y)))
	d.DrawString(s)
	if bold {
		d.Dot = fixed.P(int(math.Round(x))+1, int(math.Round(y)))
		d.DrawString(s)
	}
}

// png renders the chart as a PNG file's bytes.
func (c *chart) png() ([]byte, error) {
	_, h := c.legend()
	img := image.NewRGBA(image.Rect(0, 0, chartW, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBG), image.Point{}, draw.Src)
	c.draw(pngCanvas{img})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
