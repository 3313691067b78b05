package fetch

import (
	"strings"
	"testing"
)

// FuzzParseAptSources feeds arbitrary text to the sources.list and
// .sources parsers (the host's apt configuration, read to find the Debian
// mirror): no panic, and every source has a non-empty URI list of words.
func FuzzParseAptSources(f *testing.F) {
	f.Add("deb http://deb.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k] http://deb.example/debian-security bookworm-security main # c\n")
	f.Add("Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nEnabled: no\n\nTypes: deb\nURIs: x\n")
	f.Add("deb [ http://x y\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, srcs := range [][]aptSource{parseOneLine([]byte(text)), parseDeb822([]byte(text))} {
			for _, s := range srcs {
				for _, u := range s.uris {
					if u == "" || strings.ContainsAny(u, " \t\n") {
						t.Fatalf("URI %q from %q", u, text)
					}
				}
			}
		}
	})
}
