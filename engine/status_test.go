package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/hdo-build/hdo/internal/meter"
)

// counter is a Status that counts the bytes jobs download.
type counter struct {
	Status
	bytes map[string]int64
}

func (c *counter) AddBytes(target string, n int64) { c.bytes[target] += n }

// Job.Meter routes a job's downloaded bytes to a Status that counts them,
// and leaves the context alone for one that does not.
func TestJobMeter(t *testing.T) {
	var out strings.Builder
	c := &counter{Status: NewPlainStatus(&out), bytes: map[string]int64{}}
	ctx := (&Job{Target: "pkg/seed/.pkg.tar.gz", e: &Engine{cfg: Config{Status: c}}}).Meter(context.Background())
	meter.Add(ctx, 3_400_000)
	meter.Add(ctx, 50_000)
	if got := c.bytes["pkg/seed/.pkg.tar.gz"]; got != 3_450_000 {
		t.Errorf("counted %d bytes, want 3450000", got)
	}
	plain := &Engine{cfg: Config{Status: NewPlainStatus(&out)}}
	if got := (&Job{e: plain}).Meter(context.Background()); got != context.Background() {
		t.Errorf("Meter with a plain status wrapped the context")
	}
}
