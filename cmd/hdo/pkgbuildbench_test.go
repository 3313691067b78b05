package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hdo-build/hdo/bootstrap"
)

// BenchmarkTrivialPackage is the whole-build overhead of a package whose
// build does next to nothing: hdo -f of its .pkg.tar.gz with its closure
// (the stage0 seed) up to date: engine start, state, checks, workspace,
// sandbox, tarball, state again.
func BenchmarkTrivialPackage(b *testing.B) {
	root := b.TempDir()
	cache := b.TempDir()
	files := map[string]string{
		"pkg/seed/seed.lock":  string(bootstrap.Stage0Lock()),
		"pkg/triv/build-deps": "../seed\n",
		"pkg/triv/build":      "mkdir -p \"$DESTDIR/share\"\necho hello > \"$DESTDIR/share/hello\"\n",
	}
	writeFiles(b, root, files)
	os.Mkdir(filepath.Join(root, ".hdo"), 0o755)
	installStage0(b, cache)
	b.Setenv("XDG_CACHE_HOME", cache)
	hdoExec(b, root, "-q", "pkg/triv/.pkg.tar.gz")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hdoExec(b, root, "-q", "-f", "pkg/triv/.pkg.tar.gz")
	}
}
