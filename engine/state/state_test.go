package state

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/engine/fingerprint"
)

func TestRoundTrip(t *testing.T) {
	root := t.TempDir()
	db, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := []*Record{
		{Path: "src/a.in", Stat: fingerprint.Stat{Exists: true, Size: 3, Mtime: 1, Ctime: 2, Ino: 3, Mode: 0o100644}, Hash: fingerprint.HashBytes([]byte("abc")), Recorded: 9},
		{Path: "a.out", Target: true, Rule: "default.out.do", Always: true, Stamp: fingerprint.Stamp([]byte("s")), BuildID: -5, Built: 7,
			Deps: []Dep{{Path: "src/a.in", Kind: IfChange, Hash: fingerprint.HashBytes([]byte("abc"))}, {Path: "cfg", Kind: IfCreate}}},
		{Path: "b.out", Target: true, Building: true},
		{Path: "c.out", Target: true, Failed: true, Stat: fingerprint.Stat{Exists: true, Size: 1}},
		{Path: "src/", Stat: fingerprint.Stat{Exists: true, Mode: 0o40755}, Listing: []Entry{{Name: "a.in", Type: 8}, {Name: "default.do", Type: 10}}},
		{Path: "empty/", Listing: []Entry{}},
	}
	if err := db.Put(recs...); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range recs {
		if diff := cmp.Diff(want, all[want.Path]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.Path, diff)
		}
	}
	got, err := db.Get("a.out")
	if err != nil || got == nil || got.Ident() != recs[1].Stamp {
		t.Errorf("Get(a.out) = %+v, %v; want the stamp as identity", got, err)
	}
	if got, err := db.Get("nothing"); got != nil || err != nil {
		t.Errorf("Get(nothing) = %v, %v; want nil, nil", got, err)
	}
	if err := db.Delete("b.out"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Get("b.out"); got != nil {
		t.Errorf("b.out still there after Delete")
	}
}

func TestWAL(t *testing.T) {
	root := t.TempDir()
	db, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestSchemaMismatch(t *testing.T) {
	root := t.TempDir()
	db, err := Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema'`)
	db.Close()
	_, err = Open(root, nil)
	if err == nil || !strings.Contains(err.Error(), "got 99, want 1") || !strings.Contains(err.Error(), "remove") {
		t.Errorf("Open of a schema-99 database: %v; want an error saying what to do", err)
	}
}

func TestCorruptRecord(t *testing.T) {
	good := encode(&Record{Stat: fingerprint.Stat{Exists: true, Size: 5}, Deps: []Dep{{Path: "a", Kind: IfChange}}})
	for _, b := range [][]byte{nil, {7, 0}, good[:len(good)-1], good[:10], append(append([]byte{}, good...), 'c', 200)} {
		if err := decode(&Record{}, b); err == nil {
			t.Errorf("decode(%x) succeeded; want an error", b)
		}
	}
	var r Record
	if err := decode(&r, good); err != nil || r.Stat.Size != 5 || len(r.Deps) != 1 {
		t.Errorf("decode(good) = %+v, %v", r, err)
	}
}

// TestPutObserved checks that what one process observed of a file (a
// source's hash, a target's refreshed stat) never undoes a build another
// process recorded meanwhile.
func TestPutObserved(t *testing.T) {
	built := &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Hash: fingerprint.HashBytes([]byte("v1"))}
	tests := []struct {
		name     string
		stored   *Record // nil: none
		observed *Record
		want     *Record
	}{
		{"source, nothing stored", nil, &Record{Path: "t", Hash: fingerprint.HashBytes([]byte("s"))}, &Record{Path: "t", Hash: fingerprint.HashBytes([]byte("s"))}},
		{"source over a source", &Record{Path: "t"}, &Record{Path: "t", Recorded: 5}, &Record{Path: "t", Recorded: 5}},
		{"source over a target built since", built, &Record{Path: "t", Recorded: 5}, built},
		{"refresh of the same build", built, &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Recorded: 9}, &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Recorded: 9}},
		{"refresh of an older build", built, &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 7, Recorded: 9}, built},
		{"refresh during a rebuild", &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Building: true}, &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Recorded: 9}, &Record{Path: "t", Target: true, Rule: "t.do", BuildID: 1, Building: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if tt.stored != nil {
				if err := db.Put(tt.stored); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.PutObserved(nil, []*Record{tt.observed}); err != nil {
				t.Fatal(err)
			}
			got, err := db.Get("t")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored record (-want +got):\n%s", diff)
			}
		})
	}
}

// Processes opening a tree's state for the first time at the same moment
// all succeed: none gets "database is locked" while another turns the new
// database to WAL and creates the schema. Each opener here is a separate
// process (this test binary again), 8 at once, over 40 fresh trees.
func TestOpenConcurrentFresh(t *testing.T) {
	if root := os.Getenv("HDO_STATE_TEST_OPEN"); root != "" {
		db, err := Open(root, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := db.Put(&Record{Path: "x", Target: true}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		db.Close()
		os.Exit(0)
	}
	for round := range 40 {
		root := t.TempDir()
		var cmds []*exec.Cmd
		outs := make([]*bytes.Buffer, 8)
		for i := range outs {
			cmd := exec.Command(os.Args[0], "-test.run=^TestOpenConcurrentFresh$")
			cmd.Env = append(os.Environ(), "HDO_STATE_TEST_OPEN="+root)
			outs[i] = new(bytes.Buffer)
			cmd.Stdout, cmd.Stderr = outs[i], outs[i]
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Errorf("round %d, opener %d: %v\n%s", round, i, err, outs[i])
			}
		}
	}
}
