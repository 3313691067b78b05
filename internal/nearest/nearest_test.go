package nearest

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"make", "make", 0},
		{"mak", "make", 1},
		{"debain", "debian", 1}, // a swap is one edit
		{".pkghsh", ".pkghash", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"abc", "", 3},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := distance(tc.b, tc.a); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestWord(t *testing.T) {
	pkgs := []string{"bzip2", "gzip", "libc", "m4", "make", "sed", "seed", "zlib"}
	for _, tc := range []struct {
		word  string
		cands []string
		want  string
	}{
		{"mak", pkgs, "make"},
		{"maek", pkgs, "make"},
		{"libcc", pkgs, "libc"},
		{"sede", pkgs, "sed"}, // sed and seed are both 1 away: the first wins
		{"zlb", pkgs, "zlib"},
		{"make", pkgs, ""},   // itself is no suggestion
		{"python", pkgs, ""}, // nothing close
		{"m", pkgs, ""},      // one letter: any one-letter edit would match
		{"debain", []string{"debian", "debian-security", "goproxy"}, "debian"},
		{".pkghsh", []string{".pkghash", ".closure", ".bclosure", ".pkg.tar.gz"}, ".pkghash"},
		{".closur", []string{".pkghash", ".closure", ".bclosure", ".pkg.tar.gz"}, ".closure"},
		{".pkg.tgz", []string{".pkghash", ".closure", ".bclosure", ".pkg.tar.gz"}, ""},
	} {
		got, ok := Word(tc.word, tc.cands)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Word(%q) = %q, %v; want %q", tc.word, got, ok, tc.want)
		}
	}
}
