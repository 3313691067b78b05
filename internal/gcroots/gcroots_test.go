package gcroots

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoots(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, r := range []struct {
		kind Kind
		path string
	}{{Tree, "/src/b"}, {Venv, "/v/a"}, {Tree, "/src/a"}, {Tree, "/src/b/"}} {
		if err := db.Add(r.kind, r.path); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Add(Tree, "rel"); err == nil {
		t.Errorf("Add accepted a relative path")
	}
	list := func() []string {
		roots, err := db.Roots()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range roots {
			out = append(out, string(r.Kind)+" "+r.Path)
		}
		return out
	}
	if diff := cmp.Diff([]string{"tree /src/a", "tree /src/b", "venv /v/a"}, list()); diff != "" {
		t.Errorf("roots (-want +got):\n%s", diff)
	}
	if err := db.Drop("/src/a"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tree /src/b", "venv /v/a"}, list()); diff != "" {
		t.Errorf("roots after Drop (-want +got):\n%s", diff)
	}

	now := time.Unix(100, 0)
	if err := db.NoteStore(StoreEntry{PkgHash: "h1", Name: "pkg/a", Tree: "/src/b", Seen: now}, StoreEntry{PkgHash: "h2", Name: "pkg/b", Tree: "/src/b", Seen: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.ForgetStore("h1"); err != nil {
		t.Fatal(err)
	}
	got, err := db.StoreEntries()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]StoreEntry{"h2": {PkgHash: "h2", Name: "pkg/b", Tree: "/src/b", Seen: now}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("store entries (-want +got):\n%s", diff)
	}

	// Another process (another open) sees the same roots.
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if roots, _ := db2.Roots(); len(roots) != 2 {
		t.Errorf("second open: %d roots, want 2", len(roots))
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema'`)
	db.Close()
	if _, err := Open(dir); err == nil || !contains(err.Error(), "unknown schema version 99") {
		t.Errorf("Open of a newer database: err = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestLock(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// Builds share the lock.
	r1, err := Shared(ctx, dir, func() { t.Error("a shared lock waited for another shared one") })
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Shared(ctx, dir, func() { t.Error("a shared lock waited for another shared one") })
	if err != nil {
		t.Fatal(err)
	}
	// gc waits for both.
	waited := make(chan bool, 1)
	got := make(chan error, 1)
	go func() {
		rel, err := Exclusive(ctx, dir, func() { waited <- true })
		if err == nil {
			defer rel()
		}
		got <- err
	}()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("Exclusive did not report waiting")
	}
	r1()
	select {
	case err := <-got:
		t.Fatalf("Exclusive returned (%v) while a shared holder remained", err)
	case <-time.After(3 * pollEvery):
	}
	r2()
	if err := <-got; err != nil {
		t.Fatal(err)
	}

	// A build waits for gc, and gives up with its context.
	rel, err := Exclusive(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var logged []string
	go func() { time.Sleep(2 * pollEvery); cancel() }()
	_, err = Hold(cctx, dir, "/src/tree", func(format string, args ...any) { logged = append(logged, format) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Hold while gc holds the lock: err = %v, want context.Canceled", err)
	}
	if len(logged) != 1 || !contains(logged[0], "waiting for hdo gc") {
		t.Errorf("Hold logged %q, want one waiting message", logged)
	}
	rel()
	release, err := Hold(ctx, dir, "/src/tree", nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	roots, _ := db.Roots()
	if len(roots) != 1 || roots[0].Path != "/src/tree" || roots[0].Kind != Tree {
		t.Errorf("roots after Hold = %v, want the tree", roots)
	}
	if _, err := os.Stat(filepath.Join(dir, LockName)); err != nil {
		t.Error(err)
	}
}
