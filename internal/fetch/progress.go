package fetch

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress reports downloads: on a terminal one status line, redrawn at
// most 10 times a second, for everything in flight; elsewhere (a log, a
// CI job) a line every few seconds for each download in flight, and one
// per finished download.
type progress struct {
	w      io.Writer // nil: quiet
	term   bool
	every  time.Duration // between lines off a terminal
	mu     sync.Mutex
	active []*bar
	drawn  time.Time // last redraw
	shown  bool      // a status line is on screen
}

// bar is one download in flight.
type bar struct {
	p           *progress
	name        string
	done, total int64 // total is -1 when unknown
	start       time.Time
	startDone   int64     // bytes resumed from an earlier attempt
	lastLine    time.Time // off a terminal, when the last line was printed
}

// progressEvery is how often a download in flight gets a line off a
// terminal.
const progressEvery = 5 * time.Second

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, every: progressEvery}
	if f, ok := w.(interface{ Fd() uintptr }); ok {
		p.term = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// begin starts reporting a download that already has done of total bytes.
func (p *progress) begin(name string, done, total int64) *bar {
	now := time.Now()
	b := &bar{p: p, name: name, done: done, total: total, start: now, startDone: done, lastLine: now}
	if p.w == nil {
		return b
	}
	p.mu.Lock()
	p.active = append(p.active, b)
	p.mu.Unlock()
	return b
}

// Write counts downloaded bytes; it never fails.
func (b *bar) Write(data []byte) (int, error) {
	p := b.p
	if p.w == nil {
		return len(data), nil
	}
	p.mu.Lock()
	b.done += int64(len(data))
	switch {
	case p.term && time.Since(p.drawn) >= 100*time.Millisecond:
		p.draw()
	case !p.term:
		if now := time.Now(); now.Sub(b.lastLine) >= p.every {
			b.lastLine = now
			fmt.Fprintf(p.w, "fetching %s\n", b.status())
		}
	}
	p.mu.Unlock()
	return len(data), nil
}

// status is b's name, bytes, total and rate, e.g. "a.deb: 16.9 MB / 74.7
// MB, 3.2 MB/s".
func (b *bar) status() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s: %s", b.name, formatBytes(b.done))
	if b.total >= 0 {
		fmt.Fprintf(&s, " / %s", formatBytes(b.total))
	}
	if el := time.Since(b.start).Seconds(); el > 0 {
		fmt.Fprintf(&s, ", %s/s", formatBytes(int64(float64(b.done-b.startDone)/el)))
	}
	return s.String()
}

// end stops reporting b; ok says whether the download completed.
func (b *bar) end(ok bool) {
	p := b.p
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, a := range p.active {
		if a == b {
			p.active = append(p.active[:i], p.active[i+1:]...)
			break
		}
	}
	p.clear()
	if ok {
		fmt.Fprintf(p.w, "fetched %s (%s)\n", b.name, formatBytes(b.done))
	}
	if p.term && len(p.active) > 0 {
		p.draw()
	}
}

func (p *progress) close() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	p.clear()
	p.mu.Unlock()
}

func (p *progress) clear() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// draw shows the first download in flight and how many more there are.
func (p *progress) draw() {
	p.drawn = time.Now()
	if len(p.active) == 0 {
		p.clear()
		return
	}
	b := p.active[0]
	var s strings.Builder
	fmt.Fprintf(&s, "\r\x1b[Kfetching %s", b.status())
	if n := len(p.active) - 1; n > 0 {
		fmt.Fprintf(&s, " (+%d more)", n)
	}
	io.WriteString(p.w, s.String())
	p.shown = true
}

// formatBytes prints n in SI units, e.g. 12.3 MB.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGT"[i])
}
