package pkgspec

import (
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fuzz targets check more than "no panic": whatever a parser accepts
// must be valid by its own rules and survive being written back in the
// canonical form and parsed again.

func FuzzParseDeps(f *testing.F) {
	for _, s := range []string{
		"", "../zlib\n", "# c\n\n ../a # x\n../b\r\n", "../a\n../a/\n", "/abs\n",
		"a b\n", ".\n", "../c#\n", "\x00\n", "sub/../../x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		deps, err := ParseDeps("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		var b strings.Builder
		seen := map[string]bool{}
		for _, d := range deps {
			if d.Path == "." || path.IsAbs(d.Path) || path.Clean(d.Path) != d.Path || seen[d.Path] {
				t.Fatalf("accepted bad dep %q", d.Path)
			}
			seen[d.Path] = true
			if strings.HasPrefix(d.Path, "#") {
				b.WriteString("./") // else it reads as a comment
			}
			b.WriteString(d.Path + "\n")
		}
		again, err := ParseDeps("f", []byte(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		if diff := cmp.Diff(paths(deps), paths(again)); diff != "" {
			t.Fatalf("reparse differs (-first +second):\n%s", diff)
		}
	})
}

func paths(deps []Dep) []string {
	var out []string
	for _, d := range deps {
		out = append(out, d.Path)
	}
	return out
}

func FuzzParseFetch(f *testing.F) {
	for _, s := range []string{
		"", "url = \"https://h.example/a.tgz\"\noutput = \"a.tgz\"\n",
		"--url http://h.example/x/b%20c.tar\n-O\n", "output a\n-O\nurl: http://h.example/1\nurl http://h.example/2\n",
		"url = mirror://debian/pool/x.deb\nremote-name\n", "url file:///srv/a\n-o a\n",
		"url = \"http://h.example/\\a\\\"\" # c\noutput = \"x\\ty\"\n",
		"--insecure\n", "url = ftp://h.example/a\n", "-ofile\n", "--output=x\n", "url = \"unterminated\n",
		"url = http://h.example/{a,b}\n", "url = http://[::1]:80/a\n-O\n", "= x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseFetch("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		var b strings.Builder
		seen := map[string]bool{}
		for _, it := range items {
			if msg := checkFileName(it.Output); msg != "" || seen[it.Output] {
				t.Fatalf("accepted bad output %q: %s", it.Output, msg)
			}
			seen[it.Output] = true
			if msg := checkURL(it.URL); msg != "" {
				t.Fatalf("accepted bad url %q: %s", it.URL, msg)
			}
			fmt.Fprintf(&b, "url = %s\noutput = %s\n", quote(it.URL), quote(it.Output))
		}
		again, err := ParseFetch("f", []byte(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		for i := range again {
			again[i].Line = items[i].Line
		}
		if diff := cmp.Diff(items, again); diff != "" {
			t.Fatalf("reparse differs (-first +second):\n%s", diff)
		}
	})
}

// quote writes s as a double-quoted curl config value.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\v", `\v`)
	return `"` + r.Replace(s) + `"`
}

func FuzzParseSums(f *testing.F) {
	for _, s := range []string{
		"", sumA + "  a.tar.gz\n", sumA + " *b\r\n", "\\" + sumA + "  a\\\\b\n", "# c\n\n" + sumB + "  x y\n",
		sumA + " a\n", "xyz  a\n", sumA + "  a\n" + sumB + "  a\n", sumA + "  d/a\n", "\\" + sumA + "  a\\q\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sums, err := ParseSums("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		var b strings.Builder
		seen := map[string]bool{}
		for _, s := range sums {
			if msg := checkFileName(s.Name); msg != "" || seen[s.Name] {
				t.Fatalf("accepted bad name %q: %s", s.Name, msg)
			}
			seen[s.Name] = true
			if len(s.SHA256) != 64 || strings.ToLower(s.SHA256) != s.SHA256 || strings.Trim(s.SHA256, "0123456789abcdef") != "" {
				t.Fatalf("accepted bad sum %q", s.SHA256)
			}
			if strings.Contains(s.Name, `\`) {
				b.WriteString(`\` + s.SHA256 + "  " + strings.ReplaceAll(s.Name, `\`, `\\`) + "\n")
			} else {
				b.WriteString(s.SHA256 + "  " + s.Name + "\n")
			}
		}
		again, err := ParseSums("f", []byte(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		for i := range again {
			again[i].Line = sums[i].Line
		}
		if diff := cmp.Diff(sums, again); diff != "" {
			t.Fatalf("reparse differs (-first +second):\n%s", diff)
		}
	})
}
