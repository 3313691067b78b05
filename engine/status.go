package engine

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
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

// NewQuietStatus reports only warnings and failures.
func NewQuietStatus(w io.Writer) Status { return &plainStatus{w: w, quiet: true} }

func (s *plainStatus) Start(target string) {
	if !s.quiet {
		s.printf("hdo: build %s\n", target)
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

func (s *plainStatus) Writer() io.Writer { return s }

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

// NewTermStatus reports progress on a terminal: the same lines as the plain
// display, plus a status line at the bottom, redrawn a few times a second,
// showing the running targets, counts and elapsed time. Call Stop at the end.
func NewTermStatus(w io.Writer, width int) *TermStatus {
	t := &TermStatus{w: w, width: width, start: time.Now(), running: map[string]time.Time{}, stop: make(chan struct{})}
	go t.loop()
	return t
}

// TermStatus is the terminal progress display.
type TermStatus struct {
	mu      sync.Mutex
	w       io.Writer
	width   int
	start   time.Time
	running map[string]time.Time
	done    int
	failed  int
	shown   bool
	stop    chan struct{}
	once    sync.Once
}

func (t *TermStatus) loop() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.mu.Lock()
			t.draw()
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

func (t *TermStatus) clear() {
	if t.shown {
		io.WriteString(t.w, "\r\x1b[K")
		t.shown = false
	}
}

func (t *TermStatus) draw() {
	if len(t.running) == 0 {
		t.clear()
		return
	}
	names := make([]string, 0, len(t.running))
	for n := range t.running {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return t.running[names[i]].Before(t.running[names[j]]) })
	line := fmt.Sprintf("[%d running, %d done", len(names), t.done)
	if t.failed > 0 {
		line += fmt.Sprintf(", %d failed", t.failed)
	}
	line += fmt.Sprintf(", %.1fs] %s", time.Since(t.start).Seconds(), strings.Join(names, " "))
	if t.width > 4 && len(line) > t.width-1 {
		line = line[:t.width-4] + "..."
	}
	io.WriteString(t.w, "\r\x1b[K"+line)
	t.shown = true
}

// Start notes a running build.
func (t *TermStatus) Start(target string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clear()
	fmt.Fprintf(t.w, "hdo: build %s\n", target)
	t.running[target] = time.Now()
	t.draw()
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
