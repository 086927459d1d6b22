package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, shared by the SVG and PNG renderings. The plot area is
// fixed so that a point's position depends only on the data ranges; the
// legend goes below it and makes the picture taller.
const (
	chartW      = 640
	plotLeft    = 60
	plotRight   = chartW - 16
	plotTop     = 30
	plotBottom  = plotTop + 200
	legendTop   = plotBottom + 46
	legendRow   = 16
	charWidth   = 7 // basicfont.Face7x13 advance; also the SVG text estimate
	legendSwat  = 22
	legendSpace = 18
)

// point is one value at one step, with an optional interval.
type point struct {
	X, Y   float64
	Lo, Hi float64
	HasErr bool
}

// series is one curve.
type series struct {
	Name    string
	Points  []point
	Color   color.RGBA
	Dash    int  // 0 solid, 1 dashed, 2 dotted, 3 dash-dot
	Markers bool // draw a dot (and its interval) at each point
	Faint   bool // raw values under a smoothed curve: thin, translucent, not in the legend
}

// chart is one panel, ready to draw.
type chart struct {
	Slug, Title string
	Series      []series
	X0, X1      float64
	Y0, Y1      float64
	YTicks      []float64
	XTicks      []float64
	Smooth      int // moving-average window of the bold curves (0: none)
	yStep       float64
	xStep       float64
	Empty       bool
}

var palette = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, // blue
	{0xf2, 0x8e, 0x2b, 0xff}, // orange
	{0xe1, 0x57, 0x59, 0xff}, // red
	{0x59, 0xa1, 0x4f, 0xff}, // green
	{0xb0, 0x7a, 0xa1, 0xff}, // purple
	{0x76, 0xb7, 0xb2, 0xff}, // teal
	{0x9c, 0x75, 0x5f, 0xff}, // brown
	{0xed, 0xc9, 0x48, 0xff}, // yellow
	{0xff, 0x9d, 0xa7, 0xff}, // pink
	{0x79, 0x70, 0x6e, 0xff}, // grey
}

var (
	colInk   = color.RGBA{0x22, 0x22, 0x22, 0xff}
	colMuted = color.RGBA{0x66, 0x66, 0x66, 0xff}
	colGrid  = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	colAxis  = color.RGBA{0x99, 0x99, 0x99, 0xff}
	colBG    = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// layout sets the chart's ranges and ticks. xr is the step range shared by
// all panels; fixed01 pins y to [0, 1]; zero makes y include 0.
func (c *chart) layout(x0, x1 float64, fixed01, zero bool) {
	c.X0, c.X1 = x0, x1
	if c.X1 <= c.X0 {
		c.X0, c.X1 = c.X0-1, c.X0+1
	}
	c.XTicks, c.xStep = ticksWithin(c.X0, c.X1, 6)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
			if p.HasErr {
				lo, hi = math.Min(lo, p.Lo), math.Max(hi, p.Hi)
			}
		}
	}
	c.Empty = math.IsInf(lo, 1)
	switch {
	case fixed01 && !c.Empty: // [0, 1] unless a value leaves it
		lo, hi = math.Min(lo, 0), math.Max(hi, 1)
	case c.Empty:
		lo, hi = 0, 1
	}
	if zero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	if hi-lo < 1e-12 {
		pad := math.Max(math.Abs(hi)*0.1, 1e-3)
		if lo == 0 {
			hi += pad
		} else {
			lo, hi = lo-pad, hi+pad
		}
	}
	c.Y0, c.Y1, c.yStep = niceRange(lo, hi, 5)
	c.YTicks = nil
	for v := c.Y0; v <= c.Y1+c.yStep*1e-6; v += c.yStep {
		c.YTicks = append(c.YTicks, cleanTick(v, c.yStep))
	}
}

// px and py map data to picture coordinates.
func (c *chart) px(x float64) float64 {
	return plotLeft + (x-c.X0)/(c.X1-c.X0)*(plotRight-plotLeft)
}

func (c *chart) py(y float64) float64 {
	return plotBottom - (y-c.Y0)/(c.Y1-c.Y0)*(plotBottom-plotTop)
}

// niceStep is 1, 2 or 5 times a power of ten, about span/n.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f <= 1:
		return mag
	case f <= 2:
		return 2 * mag
	case f <= 5:
		return 5 * mag
	default:
		return 10 * mag
	}
}

// niceRange widens [lo, hi] to multiples of a nice step.
func niceRange(lo, hi float64, n int) (float64, float64, float64) {
	step := niceStep(hi-lo, n)
	return math.Floor(lo/step+1e-9) * step, math.Ceil(hi/step-1e-9) * step, step
}

// ticksWithin lists nice ticks inside [lo, hi] without widening it.
func ticksWithin(lo, hi float64, n int) ([]float64, float64) {
	step := niceStep(hi-lo, n)
	if step < 1 && lo == math.Trunc(lo) && hi == math.Trunc(hi) {
		step = 1 // steps are integers
	}
	var t []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		t = append(t, cleanTick(v, step))
	}
	return t, step
}

func cleanTick(v, step float64) float64 {
	d := decimals(step)
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', d, 64), 64)
	return r
}

func decimals(step float64) int {
	if step >= 1 {
		return 0
	}
	return int(math.Ceil(-math.Log10(step) - 1e-9))
}

// tickLabel formats a tick with as many decimals as its step needs, and
// large numbers with a k/M suffix.
func tickLabel(v, step float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6 && step >= 1e5:
		return trimZeros(strconv.FormatFloat(v/1e6, 'f', decimals(step/1e6), 64)) + "M"
	case a >= 1e4 && step >= 1e3:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', decimals(step/1e3), 64)) + "k"
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// coord formats a picture coordinate for SVG: one decimal, no trailing zero.
func coord(v float64) string {
	return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
}

// legendItem is one legend entry's position.
type legendItem struct {
	X, Y float64
	S    *series
}

// legend lays out the entries in rows and returns them with the picture's
// total height.
func (c *chart) legend() ([]legendItem, int) {
	var items []legendItem
	x, y := float64(plotLeft), float64(legendTop)
	for i := range c.Series {
		s := &c.Series[i]
		if s.Faint {
			continue
		}
		w := float64(legendSwat + 6 + charWidth*len([]rune(s.Name)) + legendSpace)
		if x > plotLeft && x+w > chartW {
			x, y = plotLeft, y+legendRow
		}
		items = append(items, legendItem{X: x, Y: y, S: s})
		x += w
	}
	h := legendTop + 4
	if len(items) > 0 {
		h = int(y) + legendRow
	}
	return items, h
}

// canvas is what a chart is drawn on: an SVG document or an image.
type canvas interface {
	rect(x, y, w, h float64, fill color.RGBA)
	line(x1, y1, x2, y2 float64, c color.RGBA, width float64)
	polyline(pts [][2]float64, c color.RGBA, width float64, dash int, title string, faint bool)
	circle(x, y, r float64, c color.RGBA)
	// text draws s with its baseline at y; anchor is 's' (start), 'm'
	// (middle) or 'e' (end).
	text(x, y float64, s string, anchor byte, c color.RGBA, bold bool)
}

// draw renders the chart on cv, whose size is chartW × the legend's height.
func (c *chart) draw(cv canvas) {
	items, h := c.legend()
	cv.rect(0, 0, chartW, float64(h), colBG)
	cv.text(plotLeft, 18, c.Title, 's', colInk, true)
	for _, t := range c.YTicks {
		y := c.py(t)
		cv.line(plotLeft, y, plotRight, y, colGrid, 1)
		cv.text(plotLeft-6, y+4, tickLabel(t, c.yStep), 'e', colMuted, false)
	}
	for _, t := range c.XTicks {
		x := c.px(t)
		cv.line(x, plotBottom, x, plotBottom+4, colAxis, 1)
		cv.text(x, plotBottom+17, tickLabel(t, c.xStep), 'm', colMuted, false)
	}
	cv.line(plotLeft, plotBottom, plotRight, plotBottom, colAxis, 1)
	cv.line(plotLeft, plotTop, plotLeft, plotBottom, colAxis, 1)
	cv.text(plotRight, plotBottom+30, "step", 'e', colMuted, false)
	if c.Empty {
		cv.text((plotLeft+plotRight)/2, (plotTop+plotBottom)/2, "no data in this run", 'm', colMuted, false)
	}
	for i := range c.Series {
		s := &c.Series[i]
		if len(s.Points) == 0 {
			continue
		}
		pts := make([][2]float64, len(s.Points))
		for j, p := range s.Points {
			pts[j] = [2]float64{c.px(p.X), c.py(p.Y)}
		}
		if s.Markers {
			for j, p := range s.Points {
				if p.HasErr {
					x := pts[j][0]
					cv.line(x, c.py(p.Lo), x, c.py(p.Hi), s.Color, 1.5)
					cv.line(x-3, c.py(p.Lo), x+3, c.py(p.Lo), s.Color, 1.5)
					cv.line(x-3, c.py(p.Hi), x+3, c.py(p.Hi), s.Color, 1.5)
				}
				cv.circle(pts[j][0], pts[j][1], 3, s.Color)
			}
		}
		if len(pts) > 1 && s.Faint {
			cv.polyline(pts, s.Color, 1, 0, "", true)
		} else if len(pts) > 1 {
			cv.polyline(pts, s.Color, 1.8, s.Dash, s.Name, false)
		} else if !s.Markers {
			cv.circle(pts[0][0], pts[0][1], 2.5, s.Color)
		}
	}
	for _, it := range items {
		y := it.Y
		cv.polyline([][2]float64{{it.X, y - 4}, {it.X + legendSwat, y - 4}}, it.S.Color, 2.5, it.S.Dash, "", false)
		if it.S.Markers {
			cv.circle(it.X+legendSwat/2, y-4, 3, it.S.Color)
		}
		cv.text(it.X+legendSwat+6, y, it.S.Name, 's', colInk, false)
	}
}

// dashPattern is the on/off lengths of a dash style (nil: solid).
func dashPattern(dash int) []float64 {
	switch dash % 4 {
	case 1:
		return []float64{7, 4}
	case 2:
		return []float64{2, 3}
	case 3:
		return []float64{8, 3, 2, 3}
	}
	return nil
}

// faintAlpha is the opacity of raw values under a smoothed curve.
const faintAlpha = 0.3

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
