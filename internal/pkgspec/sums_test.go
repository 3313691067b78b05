package pkgspec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	sumA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sumB = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
)

func TestParseSums(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Sum
	}{
		{"empty", "", nil},
		{"text mode", sumA + "  a.tar.gz\n", []Sum{{"a.tar.gz", sumA, 1}}},
		{"binary mode", sumA + " *a.tar.gz\n", []Sum{{"a.tar.gz", sumA, 1}}},
		{"upper case", strings.ToUpper(sumA) + "  a\n", []Sum{{"a", sumA, 1}}},
		{"blank, comment, crlf", "\n# sums\n" + sumA + "  a\r\n" + sumB + "  b c\n", []Sum{{"a", sumA, 3}, {"b c", sumB, 4}}},
		{"escaped name", "\\" + sumA + "  back\\\\slash\n", []Sum{{"back\\slash", sumA, 1}}},
		{"same sum, two names", sumA + "  a\n" + sumA + "  b\n", []Sum{{"a", sumA, 1}, {"b", sumA, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSums("pkg/x/sha256sums", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSumsErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{sumA[:63] + "  a\n", `pkg/x/sha256sums:1: "` + sumA[:63] + `" is not a sha256 (64 hex digits); lines are "<sha256>  <file name>" as sha256sum prints them`},
		{"\n" + sumA[:63] + "g  a\n", `pkg/x/sha256sums:2: "` + sumA[:63] + `g" is not a sha256 (64 hex digits); lines are "<sha256>  <file name>" as sha256sum prints them`},
		{"SHA256 (a) = " + sumA + "\n", `pkg/x/sha256sums:1: "SHA256" is not a sha256 (64 hex digits); lines are "<sha256>  <file name>" as sha256sum prints them`},
		{sumA + "\ta\n", `pkg/x/sha256sums:1: "` + sumA + "\\ta" + `" is not a sha256 (64 hex digits); lines are "<sha256>  <file name>" as sha256sum prints them`},
		{sumA + " a\n", `pkg/x/sha256sums:1: want two spaces (or a space and '*') between the sha256 and the file name`},
		{sumA + "\n", `pkg/x/sha256sums:1: want two spaces (or a space and '*') between the sha256 and the file name`},
		{sumA + "  \n", `pkg/x/sha256sums:1: file name "" is empty`},
		{sumA + "  dir/a\n", `pkg/x/sha256sums:1: file name "dir/a" contains a slash; it must be a plain file name`},
		{sumA + "  ..\n", `pkg/x/sha256sums:1: file name ".." is not a file name`},
		{"\\" + sumA + "  a\\x\n", `pkg/x/sha256sums:1: bad escape in file name "a\\x"; only \\ and \n are allowed`},
		{"\\" + sumA + "  a\\n\n", `pkg/x/sha256sums:1: file name "a\n" contains a control character`},
		{sumA + "  a\n" + sumB + " *a\n", `pkg/x/sha256sums:2: "a" has two sums (lines 1 and 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParseSums("pkg/x/sha256sums", []byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got error %v\nwant %s", err, tt.want)
			}
		})
	}
}
