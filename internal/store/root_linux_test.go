package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hashOther is a third pkghash.
const hashOther = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

func TestEnsureRoot(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	mk := writeTarball(t, makeFiles)
	other := writeTarball(t, map[string]string{"usr/bin/sed": "#!/bin/sh\necho sed\n", "usr/share/doc/x": "doc"})
	clash := writeTarball(t, map[string]string{"usr/bin/make": "#!/bin/sh\necho other make\n"})

	var owned []string
	dirs, err := s.EnsureRoot(ctx, []Member{
		{Name: "pkg/make", PkgHash: hashA, Tarball: mk},
		{Name: "pkg/sed", PkgHash: hashB, Tarball: other},
	}, RootOptions{Owner: func() (int, int, bool) {
		owned = append(owned, "asked")
		return os.Getuid(), os.Getgid(), true
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(s.Dir, hashA), filepath.Join(s.Dir, hashB)}; !slices.Equal(dirs, want) {
		t.Errorf("dirs = %q, want %q", dirs, want)
	}
	if len(owned) != 2 {
		t.Errorf("Owner asked %d times, want once per member", len(owned))
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "usr/bin/sed")); err != nil {
		t.Error(err)
	}

	// Two members providing one path differently cannot share a root.
	_, err = s.EnsureRoot(ctx, []Member{
		{Name: "pkg/make", PkgHash: hashA, Tarball: mk},
		{Name: "pkg/other", PkgHash: hashOther, Tarball: clash},
	}, RootOptions{})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Conflicts[0].Path != "usr/bin/make" {
		t.Errorf("conflicting members: %v, want a conflict on usr/bin/make", err)
	}

	// An entry whose content is not the tarball's is replaced, and said so.
	var replaced []string
	if _, err := s.EnsureRoot(ctx, []Member{{Name: "pkg/sed", PkgHash: hashB, Tarball: mk}}, RootOptions{
		Replaced: func(m Member) { replaced = append(replaced, m.Name) },
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(replaced, []string{"pkg/sed"}) {
		t.Errorf("Replaced heard of %q, want pkg/sed", replaced)
	}

	// A member's error names it.
	_, err = s.EnsureRoot(ctx, []Member{{Name: "pkg/gone", PkgHash: hashOther, Tarball: filepath.Join(t.TempDir(), "none.tar.gz")}}, RootOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "pkg/gone: ") {
		t.Errorf("missing tarball: %v, want an error naming pkg/gone", err)
	}
}

// Members are unpacked several at a time: every one of many ends up in
// place, dirs in the members' order; of several failing members, the
// first in order is the one named.
func TestEnsureRootMany(t *testing.T) {
	s := openStore(t)
	var members []Member
	for i := range 20 {
		tb := writeTarball(t, map[string]string{fmt.Sprintf("usr/share/p%02d/f", i): fmt.Sprint(i)})
		members = append(members, Member{Name: fmt.Sprintf("pkg/p%02d", i), PkgHash: fmt.Sprintf("%064x", i+1), Tarball: tb})
	}
	dirs, err := s.EnsureRoot(context.Background(), members, RootOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, fmt.Sprintf("usr/share/p%02d/f", i))); err != nil || string(b) != fmt.Sprint(i) {
			t.Errorf("member %d: %q, %v", i, b, err)
		}
	}
	bad := slices.Clone(members)
	missing := filepath.Join(t.TempDir(), "none.tar.gz")
	bad[7].Tarball, bad[13].Tarball = missing, missing
	bad[7].PkgHash, bad[13].PkgHash = hashOther, hashA
	for range 5 {
		_, err := s.EnsureRoot(context.Background(), bad, RootOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "pkg/p07: ") {
			t.Fatalf("got %v, want the error of pkg/p07", err)
		}
	}
}

// What Background unpacked is in place after Wait, and EnsureRoot over
// the same members then unpacks nothing again.
func TestBackground(t *testing.T) {
	s := openStore(t)
	var members []Member
	for i := range 10 {
		tb := writeTarball(t, map[string]string{fmt.Sprintf("usr/share/b%02d/f", i): fmt.Sprint(i)})
		members = append(members, Member{Name: fmt.Sprintf("pkg/b%02d", i), PkgHash: fmt.Sprintf("%064x", i+100), Tarball: tb})
	}
	bg := s.Background(context.Background())
	for _, m := range members {
		bg.Add(m)
	}
	bg.Wait()
	for _, m := range members {
		if ok, err := s.has(m.PkgHash); !ok || err != nil {
			t.Errorf("%s not in the store after Wait: %v", m.Name, err)
		}
	}
	before := map[string]os.FileInfo{}
	for _, m := range members {
		fi, err := os.Stat(s.Path(m.PkgHash))
		if err != nil {
			t.Fatal(err)
		}
		before[m.Name] = fi
	}
	if _, err := s.EnsureRoot(context.Background(), members, RootOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		fi, _ := os.Stat(s.Path(m.PkgHash))
		if !os.SameFile(fi, before[m.Name]) {
			t.Errorf("%s unpacked again by EnsureRoot", m.Name)
		}
	}
}
