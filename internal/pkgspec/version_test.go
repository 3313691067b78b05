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
		{[]string{"zlib_1.2.13.dfsg.orig.tar.bz2"}, "1.2.13"},
		{[]string{"foo_2.0+dfsg1.orig.tar.xz"}, "2.0"},
		{[]string{"v1.6.0.zip"}, "1.6.0"},
		{[]string{"toml-v1.6.0.zip"}, "1.6.0"},
		{[]string{"v0.0.1-go1.26.8.linux-amd64.zip"}, "1.26.8"},
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
	// The version file wins.
	p := &Package{VersionText: "2.36-9+deb12u10", Sources: []Source{{Name: "x-1.0.tar.gz"}}}
	if got := p.Version(); got != "2.36-9+deb12u10" {
		t.Errorf("Version with a version file = %q", got)
	}
}

func TestLoadVersionFile(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"pkg/v/build": "", "pkg/v/version": "  2.36-9+deb12u10\n"})
	p, err := Load(root, "pkg/v")
	if err != nil {
		t.Fatal(err)
	}
	if p.Version() != "2.36-9+deb12u10" || p.Inputs[len(p.Inputs)-1] != "pkg/v/version" {
		t.Errorf("Version() = %q, Inputs %q", p.Version(), p.Inputs)
	}
}
