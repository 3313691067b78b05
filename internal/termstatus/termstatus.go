// Package termstatus is hdo's progress display on a terminal: the plain
// display's lines, plus a live block redrawn at the bottom that shows the
// running jobs. It implements engine.Status, engine.Phaser and
// engine.ByteCounter.
package termstatus

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hdo-build/hdo/engine"
)

// New reports progress on a terminal: the same lines as the plain
// display, plus a live block at the bottom, redrawn a few times a second: a
// summary line (counts and elapsed time) and one line per running job
// (target, phase, bytes downloaded, elapsed), each cut to the terminal's
// width. Call Stop at
// the end.
func New(w io.Writer, width int) *Display {
	t := newDisplay(w, width, time.Now)
	go t.loop()
	return t
}

func newDisplay(w io.Writer, width int, now func() time.Time) *Display {
	return &Display{w: w, width: width, now: now, start: now(), running: map[string]*jobStatus{}, stop: make(chan struct{})}
}

// Display is the terminal progress display.
type Display struct {
	mu      sync.Mutex
	w       io.Writer
	width   int
	now     func() time.Time
	start   time.Time
	running map[string]*jobStatus
	done    int
	failed  int
	lines   int // lines of the live block on screen; the cursor is at the end of the last
	stop    chan struct{}
	once    sync.Once
}

// jobStatus is what the display knows of one running job.
type jobStatus struct {
	start time.Time
	phase string // e.g. "build"; "" until the job reports one
	bytes int64  // downloaded so far
	total int64  // announced to download, 0 if unknown
}

// maxJobLines bounds the job lines of the live block; the rest are counted
// in the summary.
const maxJobLines = 10

func (t *Display) loop() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.mu.Lock()
			t.redraw()
			t.mu.Unlock()
		}
	}
}

// Stop clears the status line and stops redrawing.
func (t *Display) Stop() {
	t.once.Do(func() {
		close(t.stop)
		t.mu.Lock()
		t.clear()
		t.mu.Unlock()
	})
}

// clear erases the live block: back to the start of its first line, then
// erase to the end of the screen.
func (t *Display) clear() {
	if t.lines == 0 {
		return
	}
	s := "\r"
	if t.lines > 1 {
		s += fmt.Sprintf("\x1b[%dA", t.lines-1)
	}
	io.WriteString(t.w, s+"\x1b[J")
	t.lines = 0
}

// redraw replaces the live block on screen in one write, so it does not
// flicker.
func (t *Display) redraw() {
	var b strings.Builder
	if t.lines > 0 {
		b.WriteString("\r")
		if t.lines > 1 {
			fmt.Fprintf(&b, "\x1b[%dA", t.lines-1)
		}
		b.WriteString("\x1b[J")
	}
	frame := t.frame()
	b.WriteString(strings.Join(frame, "\n"))
	t.lines = len(frame)
	if b.Len() > 0 {
		io.WriteString(t.w, b.String())
	}
}

// draw writes the live block where the cursor is (at the start of a line,
// after clear).
func (t *Display) draw() {
	frame := t.frame()
	if len(frame) == 0 {
		return
	}
	io.WriteString(t.w, strings.Join(frame, "\n"))
	t.lines = len(frame)
}

// frame returns the lines of the live block: nothing while no job runs,
// else a summary and the oldest jobs, one per line:
//
//	[2 running, 5 done, 3.4s]
//	  pkg/make/.pkg.tar.gz   build  2.1s
//	  pkg/zlib/.pkg.tar.gz   fetch  0.3s
func (t *Display) frame() []string {
	if len(t.running) == 0 {
		return nil
	}
	now := t.now()
	names := make([]string, 0, len(t.running))
	for n := range t.running {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := t.running[names[i]], t.running[names[j]]
		if !a.start.Equal(b.start) {
			return a.start.Before(b.start)
		}
		return names[i] < names[j]
	})
	summary := fmt.Sprintf("[%d running, %d done", len(names), t.done)
	if t.failed > 0 {
		summary += fmt.Sprintf(", %d failed", t.failed)
	}
	summary += fmt.Sprintf(", %.1fs]", now.Sub(t.start).Seconds())
	more := len(names) - maxJobLines
	if more > 0 {
		names = names[:maxJobLines]
		summary += fmt.Sprintf(" (%d more not shown)", more)
	}
	wide, phased := 0, 0
	for _, n := range names {
		wide = max(wide, len(n))
		phased = max(phased, len(t.running[n].phase))
	}
	lines := []string{t.fit(summary)}
	for _, n := range names {
		j := t.running[n]
		line := fmt.Sprintf("  %-*s  ", wide, n)
		if phased > 0 {
			line += fmt.Sprintf("%-*s  ", phased, j.phase)
		}
		switch {
		case j.total > 0:
			line += formatBytes(j.bytes) + " / " + formatBytes(j.total) + "  "
		case j.bytes > 0:
			line += formatBytes(j.bytes) + "  "
		}
		line += fmt.Sprintf("%.1fs", now.Sub(j.start).Seconds())
		lines = append(lines, t.fit(line))
	}
	return lines
}

// fit cuts line to the terminal's width, keeping the last column free so
// the terminal never wraps.
func (t *Display) fit(line string) string {
	if t.width <= 4 {
		return line
	}
	r := []rune(line)
	if len(r) <= t.width-1 {
		return line
	}
	return string(r[:t.width-4]) + "..."
}

// Start notes a running build.
func (t *Display) Start(target string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	fmt.Fprintf(t.w, "hdo: build %s\n", engine.Quote(target))
	t.running[target] = &jobStatus{start: t.now()}
	t.draw()
}

// Phase notes the phase of a running build; the next redraw shows it.
// ExpectBytes adds to the bytes a running job says it will download.
func (t *Display) ExpectBytes(target string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.running[target]; ok {
		j.total += n
	}
}

// AddBytes counts bytes a running job downloaded.
func (t *Display) AddBytes(target string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.running[target]; ok {
		j.bytes += n
	}
}

func (t *Display) Phase(target, phase string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.running[target]; ok {
		j.phase = phase
	}
}

// Done notes a finished build.
func (t *Display) Done(target string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.running, target)
	t.done++
	t.clear()
	if err != nil {
		t.failed++
		fmt.Fprintf(t.w, "hdo: %s\n", err)
	}
	t.draw()
}

// Warn prints a message above the status line.
func (t *Display) Warn(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	fmt.Fprintf(t.w, "hdo: "+format+"\n", args...)
	t.draw()
}

// Writer returns a writer that prints above the status line.
func (t *Display) Writer() io.Writer { return termWriter{t} }

type termWriter struct{ t *Display }

func (w termWriter) Write(p []byte) (int, error) {
	w.t.mu.Lock()
	defer w.t.mu.Unlock()
	w.t.clear()
	n, err := w.t.w.Write(p)
	w.t.draw()
	return n, err
}

// formatBytes writes n as a person reads it: 512 B, 3.4 MB.
func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
