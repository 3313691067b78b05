package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hdo-build/hdo/internal/meter"
)

// NewPlainStatus reports progress as plain lines on w: one line when a
// build starts, one when it fails.
func NewPlainStatus(w io.Writer) Status { return &plainStatus{w: w} }

type plainStatus struct {
	mu sync.Mutex
	w  io.Writer
	// Quiet suppresses the per-target lines.
	quiet bool
}

// NewQuietStatus reports only warnings and failures; what scripts write
// goes only to their logs (hdo log).
func NewQuietStatus(w io.Writer) Status { return &plainStatus{w: w, quiet: true} }

func (s *plainStatus) Start(target string) {
	if !s.quiet {
		s.printf("hdo: build %s\n", Quote(target))
	}
}

func (s *plainStatus) Done(target string, err error) {
	if err != nil {
		s.printf("hdo: %s\n", err)
	}
}

func (s *plainStatus) Warn(format string, args ...any) {
	s.printf("hdo: "+format+"\n", args...)
}

// Writer is where scripts' stderr goes; quiet, it goes only to the logs.
func (s *plainStatus) Writer() io.Writer {
	if s.quiet {
		return io.Discard
	}
	return s
}

func (s *plainStatus) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *plainStatus) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

// Phaser is implemented by a Status that shows what each running job is
// doing; Job.Phase reports to it.
type Phaser interface {
	// Phase says target's build is now in phase, e.g. "fetch".
	Phase(target, phase string)
}

// ByteCounter is implemented by a Status that shows how many bytes each
// running job has downloaded; Job.Meter reports to it.
type ByteCounter interface {
	AddBytes(target string, n int64)
}

// Meter returns ctx carrying a counter of the bytes the job downloads
// (sources, binary cache entries) for a Status that shows them (see
// ByteCounter and internal/meter).
func (j *Job) Meter(ctx context.Context) context.Context {
	bc, ok := j.e.cfg.Status.(ByteCounter)
	if !ok {
		return ctx
	}
	return meter.With(ctx, func(n int64) { bc.AddBytes(j.Target, n) })
}

// Phase says what the job is doing now, e.g. "cache" (asking the binary
// caches), "fetch" (sources and the build closure), "build" (the build
// script) or "pack" (writing the tarball), for a Status that shows it (see
// Phaser); others ignore it.
func (j *Job) Phase(name string) {
	if p, ok := j.e.cfg.Status.(Phaser); ok {
		p.Phase(j.Target, name)
	}
}

// NewTermStatus reports progress on a terminal: the same lines as the plain
// display, plus a live block at the bottom, redrawn a few times a second: a
// summary line (counts and elapsed time) and one line per running job
// (target, phase, bytes downloaded, elapsed), each cut to the terminal's
// width. Call Stop at
// the end.
func NewTermStatus(w io.Writer, width int) *TermStatus {
	t := newTermStatus(w, width, time.Now)
	go t.loop()
	return t
}

func newTermStatus(w io.Writer, width int, now func() time.Time) *TermStatus {
	return &TermStatus{w: w, width: width, now: now, start: now(), running: map[string]*jobStatus{}, stop: make(chan struct{})}
}

// TermStatus is the terminal progress display.
type TermStatus struct {
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
}

// maxJobLines bounds the job lines of the live block; the rest are counted
// in the summary.
const maxJobLines = 10

func (t *TermStatus) loop() {
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
func (t *TermStatus) Stop() {
	t.once.Do(func() {
		close(t.stop)
		t.mu.Lock()
		t.clear()
		t.mu.Unlock()
	})
}

// clear erases the live block: back to the start of its first line, then
// erase to the end of the screen.
func (t *TermStatus) clear() {
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
func (t *TermStatus) redraw() {
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
func (t *TermStatus) draw() {
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
func (t *TermStatus) frame() []string {
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
		if j.bytes > 0 {
			line += formatBytes(j.bytes) + "  "
		}
		line += fmt.Sprintf("%.1fs", now.Sub(j.start).Seconds())
		lines = append(lines, t.fit(line))
	}
	return lines
}

// fit cuts line to the terminal's width, keeping the last column free so
// the terminal never wraps.
func (t *TermStatus) fit(line string) string {
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
func (t *TermStatus) Start(target string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	fmt.Fprintf(t.w, "hdo: build %s\n", Quote(target))
	t.running[target] = &jobStatus{start: t.now()}
	t.draw()
}

// Phase notes the phase of a running build; the next redraw shows it.
// AddBytes counts bytes a running job downloaded.
func (t *TermStatus) AddBytes(target string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.running[target]; ok {
		j.bytes += n
	}
}

func (t *TermStatus) Phase(target, phase string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if j, ok := t.running[target]; ok {
		j.phase = phase
	}
}

// Done notes a finished build.
func (t *TermStatus) Done(target string, err error) {
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
func (t *TermStatus) Warn(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	fmt.Fprintf(t.w, "hdo: "+format+"\n", args...)
	t.draw()
}

// Writer returns a writer that prints above the status line.
func (t *TermStatus) Writer() io.Writer { return termWriter{t} }

type termWriter struct{ t *TermStatus }

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
