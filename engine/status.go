package engine

import (
	"context"
	"fmt"
	"io"
	"sync"

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

// ByteTotaler is implemented by a Status that also shows how many bytes
// each running job expects to download (a seed's pinned .debs, say).
type ByteTotaler interface {
	ExpectBytes(target string, n int64)
}

// Meter returns ctx carrying a counter of the bytes the job downloads
// (sources, binary cache entries), and of the bytes it announces it will,
// for a Status that shows them (see ByteCounter, ByteTotaler and
// internal/meter).
func (j *Job) Meter(ctx context.Context) context.Context {
	if bt, ok := j.e.cfg.Status.(ByteTotaler); ok {
		ctx = meter.WithExpect(ctx, func(n int64) { bt.ExpectBytes(j.Target, n) })
	}
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
