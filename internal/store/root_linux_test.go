package store

import (
	"context"
	"errors"
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
