package pkgrule

import (
	"testing"

	"github.com/hdo-build/hdo/internal/pkgtree"
)

func TestDirOfTarballPath(t *testing.T) {
	tests := []struct {
		line, want string // want "" for an error
	}{
		{"./pkg/make/.pkg.tar.gz", "pkg/make"},
		{"pkg/make/.pkg.tar.gz", "pkg/make"},
		{"./pkg/make/.pkghash", ""},
		{"/etc/passwd", ""},
		{"./../../outside/pkg/x/.pkg.tar.gz", ""},
		{"../x/.pkg.tar.gz", ""},
		{"./pkg/../../x/.pkg.tar.gz", ""},
		{"//etc/.pkg.tar.gz", ""},
		{"./pkg//make/.pkg.tar.gz", ""},
		{"./.pkg.tar.gz", ""},
	}
	for _, tt := range tests {
		got, err := pkgtree.ParseTarballLine(tt.line)
		if tt.want == "" && err == nil {
			t.Errorf("pkgtree.ParseTarballLine(%q) = %q, want an error", tt.line, got)
		}
		if tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("pkgtree.ParseTarballLine(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}
