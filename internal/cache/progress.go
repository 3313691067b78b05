package cache

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws one status line for a Prefetch: packages done of total,
// hits, bytes and rate. All methods are no-ops on a nil *progress.
type progress struct {
	w     io.Writer
	total int
	start time.Time

	finished, hits, bytes atomic.Int64

	stop    chan struct{}
	stopped sync.WaitGroup
}

// progressEvery is how often the line is redrawn.
const progressEvery = 200 * time.Millisecond

func startProgress(w io.Writer, total int) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	p.stopped.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprintf(p.w, "\r%s\x1b[K", p.line())
			case <-p.stop:
				return
			}
		}
	})
	return p
}

func (p *progress) add(n int) {
	if p != nil {
		p.bytes.Add(int64(n))
	}
}

func (p *progress) done(hit bool) {
	if p == nil {
		return
	}
	if hit {
		p.hits.Add(1)
	}
	p.finished.Add(1)
}

// close stops redrawing and prints the final line.
func (p *progress) close() {
	if p == nil {
		return
	}
	close(p.stop)
	p.stopped.Wait()
	fmt.Fprintf(p.w, "\r%s\x1b[K\n", p.line())
}

func (p *progress) line() string {
	n := p.bytes.Load()
	secs := time.Since(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(n) / secs
	}
	return fmt.Sprintf("cache: %d/%d packages, %d hits, %s, %s/s",
		p.finished.Load(), p.total, p.hits.Load(), humanBytes(n), humanBytes(int64(rate)))
}

// humanBytes formats n with a decimal unit, e.g. 12.3 MB.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit || u == "TB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	panic("unreachable")
}
