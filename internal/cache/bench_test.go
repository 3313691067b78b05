package cache

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/archive"
)

// benchRoot holds fixtures shared by every run of a benchmark function
// (go test calls it once per b.N tried); TestMain removes it.
var benchRoot string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

// benchDir returns a fresh directory under benchRoot.
func benchDir(b *testing.B, name string) string {
	b.Helper()
	if benchRoot == "" {
		var err error
		if benchRoot, err = os.MkdirTemp("", "hdo-cache-bench"); err != nil {
			b.Fatal(err)
		}
	}
	dir := filepath.Join(benchRoot, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

var prefetchFixture struct {
	once   sync.Once
	dir    string
	hashes []string
	bytes  int64
	seq    time.Duration // the sequential client's time
}

// roundTrip is the latency the Prefetch benchmark's server adds to every
// response.
const roundTrip = 50 * time.Millisecond

// BenchmarkPrefetch100 fetches a closure of 100 packages (20–100 KB each)
// from a server that waits 50 ms before every response, with Prefetch and,
// once, with a client that makes one request after another.
func BenchmarkPrefetch100(b *testing.B) {
	f := &prefetchFixture
	f.once.Do(func() {
		f.dir = benchDir(b, "prefetch")
		var entries []Entry
		for i := range 100 {
			name := fmt.Sprintf("pkg%03d", i)
			size := 20<<10 + (i*797)%(80<<10)
			e := Entry{Name: name, PkgHash: testHash(name), Tarball: makeTarball(b, name, size)}
			entries = append(entries, e)
			f.hashes = append(f.hashes, e.PkgHash)
		}
		if _, _, err := Publish(context.Background(), f.dir, entries, nil); err != nil {
			b.Fatal(err)
		}
		for _, h := range f.hashes {
			st, _ := os.Stat(filepath.Join(f.dir, h+".tar.gz"))
			f.bytes += st.Size()
		}
		srv := slowServer(b, f.dir)
		start := time.Now()
		sequentialFetch(b, srv, f.hashes, benchDir(b, "prefetch-seq"))
		f.seq = time.Since(start)
	})
	srv := slowServer(b, f.dir)
	c := &Client{URLs: []string{srv}, Log: func(string, ...any) {}}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dest, err := os.MkdirTemp(benchDir(b, "prefetch-dest"), "")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		hits, err := c.Prefetch(context.Background(), f.hashes, func(h string) string { return filepath.Join(dest, h+".tar.gz") })
		if err != nil || len(hits) != len(f.hashes) {
			b.Fatalf("Prefetch: %d hits, %v", len(hits), err)
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	ideal := time.Duration(math.Ceil(float64(len(f.hashes))/float64(c.Parallel))) * roundTrip
	b.ReportMetric(float64(perOp.Milliseconds()), "ms/prefetch")
	b.ReportMetric(float64(f.seq.Milliseconds()), "ms/sequential")
	b.ReportMetric(float64(f.seq)/float64(perOp), "x-faster")
	b.ReportMetric(float64(perOp)/float64(ideal), "x-of-ideal")
	b.ReportMetric(float64(f.bytes)/1e6, "MB-total")
}

// slowServer serves dir on loopback, answering each request after
// roundTrip.
func slowServer(b *testing.B, dir string) string {
	return serve(b, dir, func(w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(roundTrip)
		return false
	}).URL
}

// sequentialFetch is the naive client Prefetch is measured against: for
// each package, GET the .info, then GET the tarball into a file, checking
// its sha256.
func sequentialFetch(b *testing.B, base string, hashes []string, dest string) {
	get := func(u string) io.ReadCloser {
		resp, err := http.Get(u)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %v %v", u, resp, err)
		}
		return resp.Body
	}
	for _, h := range hashes {
		body := get(base + "/" + h + ".info")
		in, err := ReadInfo(body)
		body.Close()
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dest, h+".tar.gz"))
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.New()
		body = get(base + "/" + h + ".tar.gz")
		_, err = io.Copy(io.MultiWriter(out, sum), body)
		body.Close()
		out.Close()
		if err != nil || fmt.Sprintf("%x", sum.Sum(nil)) != in.SHA256 {
			b.Fatalf("%s: sha256 mismatch or %v", h, err)
		}
	}
}

var largeFixture struct {
	once    sync.Once
	dir     string
	hash    string
	size    int64
	curlTar float64 // MB/s of curl | tar -xz, 0 if curl is missing
	curl    float64 // MB/s of curl -o file
}

// BenchmarkLargeDownload gets one 200 MB package of random (incompressible)
// content from a loopback server. Its MB/s covers download, writing the
// temp file, sha256, gunzip + blake3 (the content hash), fsync and rename.
// For comparison it reports, measured once each, curl -s URL | tar -xz -C
// dir (download, gunzip, extraction; no checks, no fsync) and curl -s -o
// FILE (download only).
func BenchmarkLargeDownload(b *testing.B) {
	f := &largeFixture
	f.once.Do(func() {
		f.dir = benchDir(b, "large")
		tree := benchDir(b, "large-tree")
		for i := range 4 {
			data := randomBytes(fmt.Sprint("large", i), 50<<20)
			if err := os.WriteFile(filepath.Join(tree, fmt.Sprintf("part%d", i)), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		tarball := filepath.Join(benchDir(b, "large-src"), "large.tar.gz")
		if _, err := archive.WriteTarGzFile(tarball, tree); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(tree)
		f.hash = testHash("large")
		if _, _, err := Publish(context.Background(), f.dir, []Entry{{Name: "large", PkgHash: f.hash, Tarball: tarball}}, nil); err != nil {
			b.Fatal(err)
		}
		os.Remove(tarball)
		st, err := os.Stat(filepath.Join(f.dir, f.hash+".tar.gz"))
		if err != nil {
			b.Fatal(err)
		}
		f.size = st.Size()

		if _, err := exec.LookPath("curl"); err != nil {
			b.Logf("curl not found: no comparison with curl | tar")
			return
		}
		u := serve(b, f.dir, nil).URL + "/" + f.hash + ".tar.gz"
		out := benchDir(b, "large-curl")
		f.curlTar = timeMBs(b, f.size, "curl -sf "+u+" | tar -xz -C "+out)
		os.RemoveAll(out)
		f.curl = timeMBs(b, f.size, "curl -sf -o "+filepath.Join(benchDir(b, "large-curl"), "x")+" "+u)
		os.RemoveAll(out)
	})
	srv := serve(b, f.dir, nil)
	c := &Client{URLs: []string{srv.URL}, Log: func(string, ...any) {}}
	dest := filepath.Join(benchDir(b, "large-dest"), "pkg.tar.gz")
	b.SetBytes(f.size)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Get(context.Background(), f.hash, dest); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(dest)
		b.StartTimer()
	}
	if f.curlTar > 0 {
		b.ReportMetric(f.curlTar, "curl|tar-MB/s")
		b.ReportMetric(f.curl, "curl-MB/s")
	}
}

// timeMBs runs script with sh and returns size/elapsed in MB/s.
func timeMBs(b *testing.B, size int64, script string) float64 {
	start := time.Now()
	if out, err := exec.Command("sh", "-c", "set -e; "+script).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return float64(size) / 1e6 / time.Since(start).Seconds()
}
