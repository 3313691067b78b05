package termstatus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/meter"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock                   { return &fakeClock{t: time.Unix(1000, 0)} }
func (c *fakeClock) status(w *strings.Builder, width int) *Display {
	return newDisplay(w, width, c.now)
}

func TestDisplayFrame(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 80)
	if got := s.frame(); got != nil {
		t.Errorf("frame with nothing running = %q, want none", got)
	}
	s.Start("pkg/make/.pkg.tar.gz")
	clock.advance(500 * time.Millisecond)
	s.Start("pkg/zlib/.pkghash")
	s.Phase("pkg/make/.pkg.tar.gz", "fetch")
	s.Phase("not/running", "build") // ignored
	clock.advance(time.Second)
	s.Phase("pkg/make/.pkg.tar.gz", "build")
	want := []string{
		"[2 running, 0 done, 1.5s]",
		"  pkg/make/.pkg.tar.gz  build  1.5s",
		"  pkg/zlib/.pkghash            1.0s",
	}
	if diff := cmp.Diff(want, s.frame()); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
	s.Done("pkg/zlib/.pkghash", nil)
	s.Start("a")
	s.Done("a", errors.New("a: failed"))
	clock.advance(2 * time.Second)
	want = []string{
		"[1 running, 2 done, 1 failed, 3.5s]",
		"  pkg/make/.pkg.tar.gz  build  3.5s",
	}
	if diff := cmp.Diff(want, s.frame()); diff != "" {
		t.Errorf("frame after Done (-want +got):\n%s", diff)
	}
	s.Done("pkg/make/.pkg.tar.gz", nil)
	if got := s.frame(); got != nil {
		t.Errorf("frame when all are done = %q, want none", got)
	}
}

func TestDisplayTruncates(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 20)
	s.Start("a/very/long/target/name/that/does/not/fit")
	s.Phase("a/very/long/target/name/that/does/not/fit", "pack")
	for _, line := range s.frame() {
		if n := len([]rune(line)); n > 19 {
			t.Errorf("line %q has %d columns, want at most 19 on a 20-column terminal", line, n)
		}
	}
	if got := s.frame()[1]; got != "  a/very/long/ta..." {
		t.Errorf("job line = %q", got)
	}
}

func TestDisplayManyJobs(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 80)
	for i := 0; i < maxJobLines+3; i++ {
		s.Start(string(rune('a' + i)))
		clock.advance(time.Millisecond)
	}
	f := s.frame()
	if len(f) != maxJobLines+1 {
		t.Fatalf("frame has %d lines, want %d", len(f), maxJobLines+1)
	}
	if !strings.HasSuffix(f[0], "(3 more not shown)") || !strings.HasPrefix(f[1], "  a ") {
		t.Errorf("frame = %q, want the oldest jobs and a count of the rest", f)
	}
}

// TestDisplayOutput checks the bytes on the terminal: each event clears
// the live block (up N-1 lines, erase down) and draws it again below the
// message lines.
func TestDisplayOutput(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 80)
	s.Start("x")
	s.Start("y")
	s.Phase("y", "build")
	s.redraw()
	s.Writer().Write([]byte("script says hi\n"))
	s.Done("x", nil)
	s.Done("y", nil)
	s.Stop()
	want := "hdo: build x\n" +
		"[1 running, 0 done, 0.0s]\n  x  0.0s" +
		"\r\x1b[1A\x1b[J" + "hdo: build y\n" +
		"[2 running, 0 done, 0.0s]\n  x  0.0s\n  y  0.0s" +
		"\r\x1b[2A\x1b[J" + "[2 running, 0 done, 0.0s]\n  x         0.0s\n  y  build  0.0s" +
		"\r\x1b[2A\x1b[J" + "script says hi\n" + "[2 running, 0 done, 0.0s]\n  x         0.0s\n  y  build  0.0s" +
		"\r\x1b[2A\x1b[J" + "[1 running, 1 done, 0.0s]\n  y  build  0.0s" +
		"\r\x1b[1A\x1b[J"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("terminal output (-want +got):\n%s", diff)
	}
}

// Bytes a job downloads (reported through a meter, as Job.Meter sets up)
// show in its line.
func TestDisplayBytes(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 80)
	s.Start("pkg/seed/.pkg.tar.gz")
	s.Phase("pkg/seed/.pkg.tar.gz", "fetch")
	ctx := meter.With(context.Background(), func(n int64) { s.AddBytes("pkg/seed/.pkg.tar.gz", n) })
	meter.Add(ctx, 3_400_000)
	meter.Add(ctx, 50_000)
	s.AddBytes("not/running", 7) // ignored
	clock.advance(2 * time.Second)
	want := []string{
		"[1 running, 0 done, 2.0s]",
		"  pkg/seed/.pkg.tar.gz  fetch  3.5 MB  2.0s",
	}
	if diff := cmp.Diff(want, s.frame()); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
}

// Bytes a job announces show as the total beside the count: a seed's
// pinned .debs.
func TestDisplayBytesTotal(t *testing.T) {
	clock := newClock()
	var out strings.Builder
	s := clock.status(&out, 80)
	s.Start("pkg/seed/.pkg.tar.gz")
	s.Phase("pkg/seed/.pkg.tar.gz", "fetch")
	ctx := meter.With(context.Background(), func(n int64) { s.AddBytes("pkg/seed/.pkg.tar.gz", n) })
	ctx = meter.WithExpect(ctx, func(n int64) { s.ExpectBytes("pkg/seed/.pkg.tar.gz", n) })
	meter.Expect(ctx, 74_700_000)
	meter.Add(ctx, 16_900_000)
	s.ExpectBytes("not/running", 7) // ignored
	clock.advance(3 * time.Second)
	want := []string{
		"[1 running, 0 done, 3.0s]",
		"  pkg/seed/.pkg.tar.gz  fetch  16.9 MB / 74.7 MB  3.0s",
	}
	if diff := cmp.Diff(want, s.frame()); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
}
