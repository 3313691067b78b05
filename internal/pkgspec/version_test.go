package pkgspec

import "testing"

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		sources []string
		want    string
	}{
		{[]string{"make-4.4.1.tar.gz"}, "4.4.1"},
		{[]string{"make-dfsg_4.3.orig.tar.gz"}, "4.3"},
		{[]string{"m4_1.4.19.orig.tar.xz"}, "1.4.19"},
		{[]string{"gzip-1.12.tar.xz", "other-9.tar.gz"}, "1.12"},
		{[]string{"patch.diff", "sed-4.9.tar.xz"}, "4.9"}, // the first that names one
		{[]string{"hello.tar.gz"}, ""},
		{nil, ""},
	} {
		p := &Package{}
		for _, n := range tc.sources {
			p.Sources = append(p.Sources, Source{Name: n})
		}
		if got := p.Version(); got != tc.want {
			t.Errorf("Version of %q = %q, want %q", tc.sources, got, tc.want)
		}
	}
}
