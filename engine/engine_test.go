package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
	"github.com/hdo-build/hdo/internal/doshell"
)

func newTestEngine(t *testing.T, root string) *Engine {
	t.Helper()
	e, err := New(Config{Root: root, Jobs: 1, Env: os.Environ(), Stderr: os.Stderr, Exe: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// A stat identical to the recorded one is trusted only if it was not taken
// within the clock granularity of the file's modification.
func TestContentHashRacy(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "src")
	if err := os.WriteFile(p, []byte("new content"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, root)
	fs, err := e.fingerprint("src")
	if err != nil {
		t.Fatal(err)
	}
	stale := fingerprint.HashBytes([]byte("old content"))
	real := fingerprint.HashBytes([]byte("new content"))

	// Same stat, recorded right after the modification: racy, so hashed.
	racy := &state.Record{Path: "src", Stat: fs.stat, Hash: stale, Recorded: fs.stat.Mtime + int64(time.Millisecond)}
	if got, _ := e.contentHash("src", fs, racy); got != real {
		t.Errorf("racy record trusted: got %s, want the file's real hash %s", got.Short(), real.Short())
	}
	// Same stat, recorded long after: the fast path trusts the record.
	settled := &state.Record{Path: "src", Stat: fs.stat, Hash: stale, Recorded: fs.stat.Mtime + int64(time.Minute)}
	if got, _ := e.contentHash("src", fs, settled); got != stale {
		t.Errorf("settled record not trusted: got %s, want recorded %s", got.Short(), stale.Short())
	}
	// A different stat is always hashed.
	moved := *settled
	moved.Stat.Size++
	if got, _ := e.contentHash("src", fs, &moved); got != real {
		t.Errorf("changed stat not hashed: got %s", got.Short())
	}
}

func TestRacy(t *testing.T) {
	ms := int64(time.Millisecond)
	base := int64(1_700_000_000_123_456_789)
	tests := []struct {
		name     string
		st       fingerprint.Stat
		recorded int64
		want     bool
	}{
		{"same tick", fingerprint.Stat{Exists: true, Mtime: base, Ctime: base}, base + 5*ms, true},
		{"long after", fingerprint.Stat{Exists: true, Mtime: base, Ctime: base}, base + 500*ms, false},
		{"ctime newer", fingerprint.Stat{Exists: true, Mtime: base - 1e9, Ctime: base}, base + 5*ms, true},
		{"whole seconds", fingerprint.Stat{Exists: true, Mtime: 1_700_000_000e9, Ctime: 1_700_000_000e9}, 1_700_000_000e9 + 1500*ms, true},
		{"whole seconds, settled", fingerprint.Stat{Exists: true, Mtime: 1_700_000_000e9, Ctime: 1_700_000_000e9}, 1_700_000_003e9, false},
		{"missing", fingerprint.Stat{}, base, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fingerprint.Racy(tt.st, tt.recorded); got != tt.want {
				t.Errorf("Racy = %v, want %v", got, tt.want)
			}
		})
	}
}

// Each file is stat'ed at most once per run, however many targets ask.
func TestStatOncePerRun(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644)
	e := newTestEngine(t, root)
	a, _ := e.fingerprint("f")
	os.WriteFile(filepath.Join(root, "f"), []byte("longer"), 0o644)
	b, _ := e.fingerprint("f")
	if a != b || b.stat.Size != 1 {
		t.Errorf("second fingerprint re-stat'ed the file: size %d", b.stat.Size)
	}
}

// Sources edited between runs are found; a file touched without a change
// is not a change (the content hash decides).
func TestSourceChange(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	os.WriteFile(p, []byte("one"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	ident := func() fingerprint.Hash {
		e := newTestEngine(t, root)
		h, err := e.ensure(context.Background(), "f", false, nil, newRequest(e.topCaller(), nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		return h
	}
	h1 := ident()
	now := time.Now()
	os.Chtimes(p, now, now)
	if h2 := ident(); h2 != h1 {
		t.Errorf("touch changed the identity")
	}
	os.WriteFile(p, []byte("two"), 0o644)
	if h3 := ident(); h3 == h1 {
		t.Errorf("edit not seen")
	}
}

// A path no rule builds gets Config.Suggest's hint in its error, in the
// build and in why.
func TestNoRuleHint(t *testing.T) {
	root := t.TempDir()
	var asked []string
	var stderr bytes.Buffer
	e, err := New(Config{Root: root, Jobs: 1, Env: os.Environ(), Stderr: &stderr, Exe: "/bin/false",
		Suggest: func(rel string) string {
			asked = append(asked, rel)
			if rel == "mak" {
				return "make"
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, tc := range []struct{ rel, want string }{
		{"mak", "mak does not exist and no .do file or built-in rule builds it; did you mean make?"},
		{"other", "other does not exist and no .do file or built-in rule builds it"},
	} {
		stderr.Reset()
		if err := e.Build(context.Background(), []string{tc.rel}, false); err == nil || !strings.Contains(stderr.String(), tc.want+"\n") {
			t.Errorf("build %s: %v, stderr %q; want %q", tc.rel, err, stderr.String(), tc.want)
		}
		if _, err := e.Why(tc.rel); err == nil || err.Error() != tc.want {
			t.Errorf("why %s: %v, want %q", tc.rel, err, tc.want)
		}
	}
	if len(asked) != 4 {
		t.Errorf("Suggest asked %d times (%q), want once per failure", len(asked), asked)
	}
}

// A target's stat, taken right after its build wrote it, is racy; Build
// settles it before returning, so the next run trusts it without hashing
// the file again. A target changed behind hdo's back meanwhile is not
// settled.
func TestSettleRacyTargets(t *testing.T) {
	root := t.TempDir()
	for name, text := range map[string]string{
		"a.do": "echo a > $3\n",
		"b.do": "echo b > $3\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newTestEngine(t, root)
	if err := e.Build(context.Background(), []string{"a", "b"}, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "b"} {
		rec := e.record(p)
		if rec == nil || fingerprint.Racy(rec.Stat, rec.Recorded) {
			t.Errorf("%s: record %+v is still racy after Build", p, rec)
		}
	}
	// The stored records are the settled ones.
	db, err := state.Open(root, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{"a", "b"} {
		rec, err := db.Get(p)
		if err != nil || rec == nil || fingerprint.Racy(rec.Stat, rec.Recorded) {
			t.Errorf("%s: stored record %+v, %v is racy", p, rec, err)
		}
	}

	// A target rewritten with other content of the same size right after
	// its build keeps its racy record: the next run hashes it.
	if err := os.WriteFile(filepath.Join(root, "c.do"), []byte("echo c > $3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e2 := newTestEngine(t, root)
	e2.cfg.Status = &rewriteStatus{Status: e2.cfg.Status, path: filepath.Join(root, "c")}
	if err := e2.Build(context.Background(), []string{"c"}, false); err != nil {
		t.Fatal(err)
	}
	if rec := e2.record("c"); rec == nil || !fingerprint.Racy(rec.Stat, rec.Recorded) {
		t.Errorf("c, rewritten after its build: record %+v was settled", rec)
	}
}

// rewriteStatus rewrites a target's file (same size, other bytes) when its
// build is done, as a hand edit in the same clock tick would.
type rewriteStatus struct {
	Status
	path string
}

func (r *rewriteStatus) Done(target string, err error) {
	r.Status.Done(target, err)
	if filepath.Base(r.path) == target {
		os.WriteFile(r.path, []byte("C\n"), 0o644)
	}
}

// What a killed build left next to its target (its stdout capture, a $3
// it made a directory of, the copy of a removed stdout) is removed by the
// next build, which then succeeds.
func TestStaleTempsRemoved(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "t.do"), []byte("echo built > $3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(root, "t")
	for _, kind := range tempKinds {
		p := tempName(abs, kind)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := newTestEngine(t, root)
	if err := e.Build(context.Background(), []string{"t"}, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(abs); string(b) != "built\n" {
		t.Errorf("t = %q", b)
	}
	ents, _ := os.ReadDir(root)
	for _, ent := range ents {
		if strings.Contains(ent.Name(), ".hdo-") {
			t.Errorf("left behind: %s", ent.Name())
		}
	}
}

// In a directory too large to list again after every build (see
// probeAbove), a .do file and a source a script creates are still found
// by the requests that follow in the same run, as in a small one.
func TestLargeDirCreatedDuringRun(t *testing.T) {
	root := t.TempDir()
	put := func(name, s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var all strings.Builder
	all.WriteString("redo-ifchange")
	for i := 0; i < 2*probeAbove; i++ {
		put(fmt.Sprintf("f%d.in", i), "x\n")
		fmt.Fprintf(&all, " f%d.out", i)
	}
	put("default.out.do", "cat $2.in\n")
	// Built after the f*.out: makes a .do file and a source, then asks
	// for the target the new .do file builds.
	put("all.do", all.String()+"\necho 'echo made-by-new-do' > new.do\necho src > late.in\nredo-ifchange new late.in\ncat new late.in\n")
	e := newTestEngine(t, root)
	e.cfg.Commands = testCommands()
	if err := e.Build(context.Background(), []string{"all"}, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "all")); string(b) != "made-by-new-do\nsrc\n" {
		t.Errorf("all = %q", b)
	}
}

// testCommands is redo-ifchange for the embedded shell, sending its
// request as the hdo binary would.
func testCommands() map[string]doshell.Command {
	return map[string]doshell.Command{"redo-ifchange": func(ctx context.Context, c *doshell.Call) int {
		getenv := func(k string) string {
			for _, kv := range c.Env {
				if v, ok := strings.CutPrefix(kv, k+"="); ok {
					return v
				}
			}
			return ""
		}
		stderr, _ := c.Stderr.(*os.File)
		err := Send(getenv("HDO_SOCK"), &Request{Job: getenv("HDO_JOB"), Op: "ifchange", Cwd: c.Dir, Args: c.Args, Env: c.Env}, stderr)
		if err != nil {
			fmt.Fprintln(c.Stderr, "redo-ifchange:", err)
			return 1
		}
		return 0
	}}
}
