package store

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/hdo-build/hdo/internal/rmtree"
)

// genTarball writes a package-like tarball of files regular files totalling
// about size bytes, in directories of 100 files, half random and half
// repetitive bytes so it compresses about as well as real binaries. It
// returns the number of bytes of file content.
func genTarball(tb testing.TB, path string, files int, size int64) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := gzip.NewWriter(bw)
	tw := tar.NewWriter(zw)
	rng := rand.New(rand.NewChaCha8([32]byte{'h', 'd', 'o'}))
	text := []byte("the quick brown fox jumps over the lazy dog; ")
	buf := make([]byte, 4*size/int64(files))
	var total int64
	for i := 0; i < files; i++ {
		if i%100 == 0 {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("usr/lib/d%03d/", i/100), Typeflag: tar.TypeDir, Mode: 0o755})
		}
		// Sizes spread from 0 to twice the mean, like a real package.
		n := rng.IntN(len(buf) / 2)
		data := buf[:n]
		for j := 0; j < n; {
			k := min(n-j, 512)
			if rng.IntN(2) == 0 {
				for x := j; x < j+k; x++ {
					data[x] = byte(rng.Uint32())
				}
			} else {
				for x := j; x < j+k; x++ {
					data[x] = text[x%len(text)]
				}
			}
			j += k
		}
		h := &tar.Header{Name: fmt.Sprintf("usr/lib/d%03d/f%05d", i/100, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n)}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			tb.Fatal(err)
		}
		total += int64(n)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	return total
}

// BenchmarkEnsure extracts a 300 MB, 20,000-file package into an empty
// store: gunzip, two blake3 passes (stream and per file), writes, modes,
// manifest and syncfs.
func BenchmarkEnsure(b *testing.B) {
	dir := b.TempDir()
	tarball := filepath.Join(dir, "big.tar.gz")
	total := genTarball(b, tarball, 20000, 300<<20)
	info, _ := os.Stat(tarball)
	b.Logf("tarball: %d files, %.0f MB of content, %.0f MB compressed", 20000, float64(total)/1e6, float64(info.Size())/1e6)
	b.SetBytes(total)
	i := 0
	for b.Loop() {
		s, err := Open(filepath.Join(dir, fmt.Sprint("store", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Ensure(context.Background(), hashA, tarball, ""); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rmtree.Remove(s.Dir)
		b.StartTimer()
		i++
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "files/s")
}
