package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"
)

// BenchmarkGenerateLock resolves a 200-package closure out of a generated
// 30,000-package lz4 index, the size of Debian main for one architecture
// divided by two.
func BenchmarkGenerateLock(b *testing.B) {
	const n = 30000
	var idx strings.Builder
	for i := 0; i < n; i++ {
		var deps []string
		if i < 200 {
			for j := i + 1; j < 200 && j < i+4; j++ {
				deps = append(deps, fmt.Sprintf("pkg%05d (>= 1.0)", j))
			}
		}
		fields := []string{"Priority: optional", "Section: misc", "Installed-Size: 100"}
		if len(deps) > 0 {
			fields = append(fields, "Depends: "+strings.Join(deps, ", "))
		}
		idx.WriteString(stanza(fmt.Sprintf("pkg%05d", i), "1.0-1", "amd64", fields...))
	}
	dir := b.TempDir()
	var z bytes.Buffer
	w := lz4.NewWriter(&z)
	w.Write([]byte(idx.String()))
	w.Close()
	os.WriteFile(filepath.Join(dir, "m.invalid_debian_dists_x_InRelease"), []byte("Origin: Debian\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.invalid_debian_dists_x_main_binary-amd64_Packages.lz4"), z.Bytes(), 0o644)
	b.SetBytes(int64(idx.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := GenerateLock(context.Background(), LockOptions{Packages: []string{"pkg00000"}, ListsDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if got := bytes.Count(out, []byte("\ndeb ")); got != 200 {
			b.Fatalf("got %d deb lines, want 200", got)
		}
	}
	b.ReportMetric(n, "packages/op")
}

// BenchmarkBuildCacheHit is the cost of asking for a seed that is built:
// what every test tree pays for its stage0.
func BenchmarkBuildCacheHit(b *testing.B) {
	s := newDebSeed(b)
	opts := Options{CacheDir: b.TempDir(), Fetch: s.fetch.fetch()}
	if _, _, err := Build(context.Background(), s.lock, opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Build(context.Background(), s.lock, opts); err != nil {
			b.Fatal(err)
		}
	}
}
