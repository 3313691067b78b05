package beneath

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	lim := DefaultNameLimits
	small := NameLimits{MaxNameLen: 3, MaxPathLen: 10, MaxDepth: 2}
	for _, tc := range []struct {
		in          string
		lim         NameLimits
		want, cause string
	}{
		{"x", lim, "x", ""},
		{"./x", lim, "x", ""},
		{"./", lim, ".", ""},
		{".", lim, ".", ""},
		{"a//b/./c/", lim, "a/b/c", ""},
		{"a\\..\\b", lim, "a\\..\\b", ""}, // backslash is an ordinary byte on Linux
		{"...", lim, "...", ""},
		{"..x/y", lim, "..x/y", ""},
		{"", lim, "", "empty name"},
		{"a\x00b", lim, "", "name contains a NUL byte"},
		{"/", lim, "", "absolute path; entries must be relative to the package root"},
		{"//x", lim, "", "absolute path; entries must be relative to the package root"},
		{"..", lim, "", "path escapes the destination"},
		{"a/..", lim, "", "path escapes the destination"},
		{"a/../b", lim, "", "path escapes the destination"},
		{strings.Repeat("n", 256), lim, "", "path component is 256 bytes long, over the limit of 255"},
		{strings.Repeat("n/", 257), lim, "", "path is 257 levels deep, over the limit of 256"},
		{"abc/de", small, "abc/de", ""},
		{"abcd", small, "", "path component is 4 bytes long, over the limit of 3"},
		{"a/b/c", small, "", "path is 3 levels deep, over the limit of 2"},
		{"a/././././b", small, "", "name is 11 bytes long, over the limit of 10"},
		{"./a/./b/", small, "a/b", ""}, // depth counts the cleaned name
	} {
		got, cause := CleanName(tc.in, tc.lim)
		if got != tc.want || cause != tc.cause {
			t.Errorf("CleanName(%q, %v) = %q, %q; want %q, %q", tc.in, tc.lim, got, cause, tc.want, tc.cause)
		}
	}
}
