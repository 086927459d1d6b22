package report

import (
	"fmt"
	"html"
	"image/color"
	"strings"
)

// svgCanvas writes SVG elements.
type svgCanvas struct{ b *strings.Builder }

func (s svgCanvas) rect(x, y, w, h float64, fill color.RGBA) {
	fmt.Fprintf(s.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", coord(x), coord(y), coord(w), coord(h), hex(fill))
}

func (s svgCanvas) line(x1, y1, x2, y2 float64, c color.RGBA, width float64) {
	fmt.Fprintf(s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`+"\n",
		coord(x1), coord(y1), coord(x2), coord(y2), hex(c), coord(width))
}

func (s svgCanvas) polyline(pts [][2]float64, c color.RGBA, width float64, dash int, title string, faint bool) {
	var p strings.Builder
	for i, q := range pts {
		if i > 0 {
			p.WriteByte(' ')
		}
		p.WriteString(coord(q[0]) + "," + coord(q[1]))
	}
	d := ""
	if pat := dashPattern(dash); pat != nil {
		parts := make([]string, len(pat))
		for i, v := range pat {
			parts[i] = coord(v)
		}
		d = ` stroke-dasharray="` + strings.Join(parts, " ") + `"`
	}
	if faint {
		d += fmt.Sprintf(` stroke-opacity="%g"`, faintAlpha)
	}
	t := ""
	if title != "" {
		t = "<title>" + html.EscapeString(title) + "</title>"
	}
	fmt.Fprintf(s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round" stroke-linecap="round"%s>%s</polyline>`+"\n",
		p.String(), hex(c), coord(width), d, t)
}

func (s svgCanvas) circle(x, y, r float64, c color.RGBA) {
	fmt.Fprintf(s.b, `<circle cx="%s" cy="%s" r="%s" fill="%s"/>`+"\n", coord(x), coord(y), coord(r), hex(c))
}

func (s svgCanvas) text(x, y float64, str string, anchor byte, c color.RGBA, bold bool) {
	a := map[byte]string{'s': "start", 'm': "middle", 'e': "end"}[anchor]
	w := ""
	if bold {
		w = ` font-weight="bold" font-size="13"`
	}
	fmt.Fprintf(s.b, `<text x="%s" y="%s" text-anchor="%s" fill="%s"%s>%s</text>`+"\n",
		coord(x), coord(y), a, hex(c), w, html.EscapeString(str))
}

// svg renders the chart as an inline SVG element.
func (c *chart) svg() string {
	var b strings.Builder
	_, h := c.legend()
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-%s" viewBox="0 0 %d %d" width="%d" height="%d" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="11">`+"\n",
		c.Slug, chartW, h, chartW, h)
	c.draw(svgCanvas{&b})
	b.WriteString("</svg>\n")
	return b.String()
}
