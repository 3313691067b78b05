package meter

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	var total int64
	ctx := With(context.Background(), func(n int64) { total += n })
	io.Copy(Writer(ctx), strings.NewReader("hello, world"))
	Add(ctx, 8)
	if total != 20 {
		t.Errorf("counted %d bytes, want 20", total)
	}
	Add(context.Background(), 5) // no counter: nothing happens
	io.Copy(Writer(context.Background()), strings.NewReader("x"))
}

func TestExpect(t *testing.T) {
	var total int64
	ctx := WithExpect(context.Background(), func(n int64) { total += n })
	Expect(ctx, 100)
	Expect(ctx, 0)
	Expect(ctx, 20)
	if total != 120 {
		t.Errorf("expected %d bytes, want 120", total)
	}
	Expect(context.Background(), 5) // no expect function: nothing happens
}
