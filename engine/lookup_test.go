package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCandidates(t *testing.T) {
	type c struct{ Do, Arg1, Arg2 string }
	tests := []struct {
		target string
		want   []c
	}{
		{"x", []c{{"x.do", "x", "x"}, {"default.do", "x", "x"}}},
		{"a.b.c", []c{
			{"a.b.c.do", "a.b.c", "a.b.c"},
			{"default.b.c.do", "a.b.c", "a"},
			{"default.c.do", "a.b.c", "a.b"},
			{"default.do", "a.b.c", "a.b.c"},
		}},
		{"pkg/make/.pkghash", []c{
			{"pkg/make/.pkghash.do", ".pkghash", ".pkghash"},
			{"pkg/make/default.pkghash.do", ".pkghash", ""},
			{"pkg/make/default.do", ".pkghash", ".pkghash"},
			{"pkg/default.pkghash.do", "make/.pkghash", "make/"},
			{"pkg/default.do", "make/.pkghash", "make/.pkghash"},
			{"default.pkghash.do", "pkg/make/.pkghash", "pkg/make/"},
			{"default.do", "pkg/make/.pkghash", "pkg/make/.pkghash"},
		}},
		{"sub/t.out", []c{
			{"sub/t.out.do", "t.out", "t.out"},
			{"sub/default.out.do", "t.out", "t"},
			{"sub/default.do", "t.out", "t.out"},
			{"default.out.do", "sub/t.out", "sub/t"},
			{"default.do", "sub/t.out", "sub/t.out"},
		}},
		{"x.do", nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var got []c
			for _, r := range candidates(tt.target) {
				got = append(got, c{r.Do, r.Arg1, r.Arg2})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("candidates(%q) (-want +got):\n%s", tt.target, diff)
			}
		})
	}
}
