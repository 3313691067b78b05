package bootstrap

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/rmtree"
)

// FuzzReadParagraphs feeds arbitrary text to the deb822 reader (Packages
// files from a mirror, control files in .debs): no panic, and each field
// name it returns is lower case and free of the separators.
func FuzzReadParagraphs(f *testing.F) {
	f.Add("Package: hello\nVersion: 1.0\nDescription: short\n long\n .\n more\n\nPackage: b\n")
	f.Add("Package: x\n\n\n \n#comment\nfoo:bar\n")
	f.Add(" leading continuation\nA: b\n")
	f.Fuzz(func(t *testing.T, text string) {
		readParagraphs(strings.NewReader(text), func(p Paragraph) error {
			for k := range p {
				if k != strings.ToLower(k) || strings.ContainsAny(k, ":\n") {
					t.Fatalf("field name %q", k)
				}
			}
			return nil
		})
	})
}

// FuzzReadDeb reads arbitrary bytes as a .deb and extracts its data into
// a fresh directory beside a sentinel: no panic, and nothing is written
// outside the directory.
func FuzzReadDeb(f *testing.F) {
	for _, ext := range []string{".gz", ""} {
		f.Add(makeDeb(f, "hello", "1:2.0-1", ext, debData))
	}
	f.Add(makeDeb(f, "evil", "1", "", []entry{symlink("lib", "/tmp"), file("lib/x", 0o644, "x"), file("../x", 0o644, "x")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			// A .deb's size is pinned by its lock line, so readDeb sets no
			// bound of its own; a larger input compresses to a tar of
			// hundreds of thousands of entries, which is only slow.
			return
		}
		base := t.TempDir()
		dir, sentinel := filepath.Join(base, "root"), filepath.Join(base, "sentinel")
		for _, d := range []string{dir, sentinel} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		r := testRoot(t, dir)
		done := make(chan error, 1)
		go func() {
			_, err := readDeb(bytes.NewReader(data), r.extractTar)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				r.finish()
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("readDeb of %d bytes did not end within 10s", len(data))
		}
		defer rmtree.Remove(dir)
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && p != base && p != dir && p != sentinel && !strings.HasPrefix(p, dir+"/") {
				t.Fatalf("%s written outside the root", p)
			}
			return nil
		})
	})
}
