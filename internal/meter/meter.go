// Package meter counts the bytes a piece of work transfers, through its
// context: downloads add to whatever counter the context carries, and
// whoever started the work (a package build) shows the total.
package meter

import "context"

type key struct{}

type expectKey struct{}

// WithExpect returns a context whose work announces, through expect, how
// many bytes it is about to transfer, so that the total can be shown
// beside the count ("16.9 MB / 74.7 MB").
func WithExpect(ctx context.Context, expect func(n int64)) context.Context {
	return context.WithValue(ctx, expectKey{}, expect)
}

// Expect announces n more bytes the work of ctx will transfer; it does
// nothing when ctx carries no expect function.
func Expect(ctx context.Context, n int64) {
	if expect, ok := ctx.Value(expectKey{}).(func(int64)); ok && n > 0 {
		expect(n)
	}
}

// With returns a context whose downloads report each chunk to add.
func With(ctx context.Context, add func(n int64)) context.Context {
	return context.WithValue(ctx, key{}, add)
}

// Add reports n bytes transferred for the work of ctx; it does nothing
// when ctx carries no counter.
func Add(ctx context.Context, n int64) {
	if add, ok := ctx.Value(key{}).(func(int64)); ok {
		add(n)
	}
}

// Writer returns a writer that reports what is written through it to the
// counter of ctx and discards it, for io.MultiWriter.
func Writer(ctx context.Context) *Counter { return &Counter{ctx: ctx} }

// Counter is an io.Writer that only counts.
type Counter struct{ ctx context.Context }

func (c *Counter) Write(p []byte) (int, error) {
	Add(c.ctx, int64(len(p)))
	return len(p), nil
}
