package engine

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

func TestCandidates(t *testing.T) {
	type c struct{ Do, Arg1, Arg2 string }
	tests := []struct {
		target string
		want   []c
	}{
		{"x", []c{{"x.do", "x", "x"}, {"default.do", "x", "x"}}},
		{"a.b.c", []c{
			{"a.b.c.do", "a.b.c", "a.b.c"},
			{"default.b.c.do", "a.b.c", "a"},
			{"default.c.do", "a.b.c", "a.b"},
			{"default.do", "a.b.c", "a.b.c"},
		}},
		{"pkg/make/.pkghash", []c{
			{"pkg/make/.pkghash.do", ".pkghash", ".pkghash"},
			{"pkg/make/default.pkghash.do", ".pkghash", ""},
			{"pkg/make/default.do", ".pkghash", ".pkghash"},
			{"pkg/default.pkghash.do", "make/.pkghash", "make/"},
			{"pkg/default.do", "make/.pkghash", "make/.pkghash"},
			{"default.pkghash.do", "pkg/make/.pkghash", "pkg/make/"},
			{"default.do", "pkg/make/.pkghash", "pkg/make/.pkghash"},
		}},
		{"sub/t.out", []c{
			{"sub/t.out.do", "t.out", "t.out"},
			{"sub/default.out.do", "t.out", "t"},
			{"sub/default.do", "t.out", "t.out"},
			{"default.out.do", "sub/t.out", "sub/t"},
			{"default.do", "sub/t.out", "sub/t.out"},
		}},
		{"x.do", nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			var got []c
			for _, r := range candidates(tt.target) {
				got = append(got, c{r.Do, r.Arg1, r.Arg2})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("candidates(%q) (-want +got):\n%s", tt.target, diff)
			}
		})
	}
}

// findDo (which reads directory listings) picks the same .do file, with
// the same $1 and $2, as the first existing entry of candidates.
func TestFindDoAgreesWithCandidates(t *testing.T) {
	root := t.TempDir()
	dos := []string{
		"default.do", "default.gz.do", "sub/default.tar.gz.do", "sub/x.c.do",
		"sub/deep/default.do", "pkg/default.pkghash.do", "a/b/.hidden.do",
	}
	for _, d := range dos {
		p := filepath.Join(root, d)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("true\n"), 0o644)
	}
	os.MkdirAll(filepath.Join(root, "pkg/make"), 0o755)
	e := newTestEngine(t, root)
	for _, target := range []string{
		"x", "y.gz", "z.tar.gz", "sub/x.c", "sub/y.tar.gz", "sub/y.gz", "sub/deep/q.gz",
		"pkg/make/.pkghash", "pkg/make/.closure", "a/b/.hidden", "a/b/c.x.y", "x.do", "nodir/t.gz",
	} {
		var want *rule
		for _, c := range candidates(target) {
			if _, err := os.Stat(filepath.Join(root, c.Do)); err == nil {
				c.ID = c.Do
				want = &c
				break
			}
		}
		got, ok, err := e.findDo(target)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case want == nil && ok:
			t.Errorf("%s: findDo = %+v, want none", target, got)
		case want != nil && !ok:
			t.Errorf("%s: findDo found none, want %+v", target, *want)
		case want != nil && got != *want:
			t.Errorf("%s: findDo = %+v, want %+v", target, got, *want)
		}
	}
}

// A directory's listing is recorded; an unchanged directory is not read
// again, and a changed one is.
func TestListingRecorded(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "src"), []byte("x"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(sub, old, old)
	time.Sleep(2 * fingerprint.Granularity) // let the ctime settle: not racy

	e := newTestEngine(t, root)
	if _, ok, _ := e.findDo("sub/x"); ok {
		t.Fatal("rule found in a tree without .do files")
	}
	e.Close()

	// Doctor the recorded listing: with the directory unchanged, the next
	// run must believe it (proof that it does not re-read the directory).
	db, _ := state.Open(root, nil)
	rec, _ := db.Get("sub/")
	if rec == nil || len(rec.Listing) != 1 || rec.Listing[0].Name != "src" {
		t.Fatalf("recorded listing of sub/ = %+v", rec)
	}
	rec.Listing = append(rec.Listing, state.Entry{Name: "x.do", Type: syscall.DT_REG})
	db.Put(rec)
	db.Close()
	e = newTestEngine(t, root)
	if r, ok, _ := e.findDo("sub/x"); !ok || r.Do != "sub/x.do" {
		t.Errorf("recorded listing not used: got %+v, %v", r, ok)
	}
	e.Close()

	// A real change of the directory is seen.
	os.WriteFile(filepath.Join(sub, "default.do"), []byte("true\n"), 0o644)
	e = newTestEngine(t, root)
	if r, ok, _ := e.findDo("sub/x"); !ok || r.Do != "sub/default.do" {
		t.Errorf("after adding sub/default.do: got %+v, %v", r, ok)
	}
}
