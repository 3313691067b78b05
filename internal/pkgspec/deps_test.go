package pkgspec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDeps(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Dep
	}{
		{"empty", "", nil},
		{"one", "../zlib\n", []Dep{{"../zlib", 1}}},
		{"no final newline", "../zlib", []Dep{{"../zlib", 1}}},
		{"comments and blanks", "# deps\n\n  ../zlib  \n\t../musl # the libc\n#../gone\n", []Dep{{"../zlib", 3}, {"../musl", 4}}},
		{"crlf", "../zlib\r\n../musl\r\n", []Dep{{"../zlib", 1}, {"../musl", 2}}},
		{"cleaned", "../zlib/\n.././musl\n", []Dep{{"../zlib", 1}, {"../musl", 2}}},
		{"hash inside a name", "../c#\n", []Dep{{"../c#", 1}}},
		{"subdir", "sub/pkg\n", []Dep{{"sub/pkg", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDeps("pkg/x/run-deps", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDepsErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"../zlib\n/usr/lib\n", "pkg/x/run-deps:2: /usr/lib is an absolute path; use a path relative to the package directory, like ../zlib"},
		{"../zlib\n# x\n../zlib/\n", "pkg/x/run-deps:3: ../zlib/ is listed twice (lines 1 and 3)"},
		{"../a ../b\n", `pkg/x/run-deps:1: "../a ../b": one path per line, without spaces`},
		{"./\n", "pkg/x/run-deps:1: ./ is the package itself"},
		{"../a\x00b\n", `pkg/x/run-deps:1: "../a\x00b" contains a NUL byte`},
		{"../zlib\u00a0/\n", `pkg/x/run-deps:1: "../zlib\u00a0/": one path per line, without spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseDeps("pkg/x/run-deps", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
}
