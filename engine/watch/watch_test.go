package watch

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/fsnotify/fsnotify"
	"github.com/google/go-cmp/cmp"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/engine/state"
)

func TestCollect(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"src/a.c", "all.do", "src/default.o.do"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte(f), 0o644)
	}
	stat := func(rel string) fingerprint.Stat {
		st, err := fingerprint.Of(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	recs := map[string]*state.Record{
		"all": {Target: true, Deps: []state.Dep{
			{Path: "all.do", Kind: state.IfChange},
			{Path: "src/a.o", Kind: state.IfChange},
			{Path: "gen/new/config.h", Kind: state.IfCreate},
		}},
		"src/a.o": {Target: true, Deps: []state.Dep{
			{Path: "src/default.o.do", Kind: state.IfChange},
			{Path: "src/a.c", Kind: state.IfChange},
			{Path: "all", Kind: state.IfChange}, // a cycle in the records must not loop
		}},
		"all.do":           {Stat: stat("all.do")},
		"src/a.c":          {Stat: stat("src/a.c")},
		"src/default.o.do": {Stat: stat("src/default.o.do")},
	}
	d := Collect(root, []string{"all"}, func(rel string) *state.Record { return recs[rel] })
	var files, dirs []string
	for f := range d.Files {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	for dir := range d.Dirs {
		rel, _ := filepath.Rel(root, dir)
		dirs = append(dirs, rel)
	}
	sort.Strings(files)
	sort.Strings(dirs)
	if diff := cmp.Diff([]string{"all.do", "gen", "gen/new", "gen/new/config.h", "src/a.c", "src/default.o.do"}, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".", "src"}, dirs); diff != "" {
		t.Errorf("dirs (-want +got):\n%s", diff)
	}
	if got := d.Changed(); len(got) != 0 {
		t.Errorf("Changed = %q right after Collect, want none", got)
	}

	for _, tc := range []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{"src/a.c", fsnotify.Write, true},
		{"src/a.c", fsnotify.Chmod, false},
		{"gen", fsnotify.Create, true},
		{"src/b.c", fsnotify.Create, false},
		{"src/default.do", fsnotify.Create, true},
		{"elsewhere/x.do", fsnotify.Create, false},
		{"all", fsnotify.Write, false},
	} {
		if got := d.relevant(fsnotify.Event{Name: filepath.Join(root, tc.name), Op: tc.op}); got != tc.want {
			t.Errorf("relevant(%s %v) = %v, want %v", tc.name, tc.op, got, tc.want)
		}
	}

	// Changes made before a watch was in place are found by stat.
	os.WriteFile(filepath.Join(root, "src/a.c"), []byte("changed, longer"), 0o644)
	os.MkdirAll(filepath.Join(root, "gen/new"), 0o755)
	got := d.Changed()
	for i, p := range got {
		got[i], _ = filepath.Rel(root, p)
	}
	if diff := cmp.Diff([]string{"gen", "gen/new", "src/a.c"}, got); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
}
