package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/asuser"
	"github.com/hdo-build/hdo/internal/rmtree"
)

// runAsUser runs body in a directory owned by the current user. Tests run
// as root ignore permission bits, so as root it re-executes the test
// binary as uid 65534 to see what a normal user would.
func runAsUser(t *testing.T, body func(t *testing.T, dir string)) {
	t.Helper()
	asuser.Run(t, body, rmtree.Remove)
}

// TestStoreAsUser checks what only a normal user sees: trees keep their
// tarball's modes (read-only directories included), and the store can
// still remove them.
func TestStoreAsUser(t *testing.T) {
	runAsUser(t, func(t *testing.T, dir string) {
		if os.Getuid() == 0 {
			t.Fatal("still root")
		}
		s, err := Open(filepath.Join(dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		tarball := writeTarball(t, makeFiles)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.Ensure(context.Background(), hashA, tarball, "") })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Ensure %d: %v", i, err)
			}
		}
		if _, err := s.install(context.Background(), hashA, tarball, ""); err != nil {
			t.Errorf("losing install: %v", err)
		}
		if diff := cmp.Diff([]string{hashA, hashA + ".manifest", hashA + ".tarballs"}, dirNames(t, s)); diff != "" {
			t.Errorf("store directory (-want +got):\n%s", diff)
		}
		m, err := s.Manifest(hashA)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range m.Entries {
			if e.Type == archive.TypeSymlink {
				continue
			}
			info, err := os.Lstat(filepath.Join(s.Path(hashA), e.Path))
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode() & (fs.ModePerm | fs.ModeSticky); got != e.Mode {
				t.Errorf("%s: mode %v in the store, %v in the tarball", e.Path, got, e.Mode)
			}
		}
		if _, err := s.Ensure(context.Background(), hashB, hostileTarball(t), ""); err == nil {
			t.Errorf("Ensure accepted a hostile tarball")
		}
		if err := s.Remove(hashA); err != nil {
			t.Error(err)
		}
		// A crashed extraction of a read-only tree is cleaned up too.
		if _, err := s.Ensure(context.Background(), hashB, tarball, ""); err != nil {
			t.Fatal(err)
		}
		stale := filepath.Join(s.Dir, ".tmp-"+hashB+"-1")
		if err := os.Rename(s.Path(hashB), stale); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * StaleAge)
		os.Chtimes(stale, old, old)
		if err := s.CleanTemp(StaleAge); err != nil {
			t.Error(err)
		}
		if diff := cmp.Diff([]string{hashB + ".manifest", hashB + ".tarballs"}, dirNames(t, s)); diff != "" {
			t.Errorf("store directory (-want +got):\n%s", diff)
		}
		rmtree.Remove(s.Dir)
	})
}
