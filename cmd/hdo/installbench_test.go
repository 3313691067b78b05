package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cache"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/internal/store"
)

// installTree writes package i of the install benchmark into dir: a
// binary and four data files, 20-100 KB in all, half random bytes.
func installTree(tb testing.TB, dir string, i int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	name := fmt.Sprintf("pkg%03d", i)
	size := 20<<10 + (i*797)%(80<<10)
	files := map[string]int{"usr/bin/" + name: size / 2}
	for k := range 4 {
		files[fmt.Sprintf("usr/share/%s/data%d", name, k)] = size / 8
	}
	for rel, n := range files {
		b := make([]byte, n)
		for j := range b {
			if j%2 == 0 {
				b[j] = byte(rng.Uint32())
			} else {
				b[j] = 'a' + byte(j%26)
			}
		}
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}

// delayServer serves dir on loopback, each response after delay.
func delayServer(tb testing.TB, dir string, delay time.Duration) string {
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		files.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkInstall100 fetches a closure of 100 packages (20-100 KB, five
// files each) from a loopback binary cache and unpacks them into an empty
// store, as hdo does for a build closure it lacks (PrefetchThen unpacking
// each package as it arrives, then EnsureRoot),
// at 0 and 50 ms per request. With nix-store installed (Debian: nix-bin)
// each round also substitutes the same 100 trees from a Nix binary cache
// (nix copy's defaults) on the same kind of server into an empty chroot
// store; rounds alternate the two. Metrics: medians in ms, and hdo/nix.
func BenchmarkInstall100(b *testing.B) {
	work := b.TempDir()
	var entries []cache.Entry
	var trees []string
	for i := range 100 {
		tree := filepath.Join(work, "trees", fmt.Sprintf("pkg%03d", i))
		installTree(b, tree, i)
		trees = append(trees, tree)
		tarball := filepath.Join(work, "tarballs", fmt.Sprintf("pkg%03d.tar.gz", i))
		if err := os.MkdirAll(filepath.Dir(tarball), 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := archive.WriteTarGzFile(tarball, tree); err != nil {
			b.Fatal(err)
		}
		h := fmt.Sprintf("%064x", i+1)
		entries = append(entries, cache.Entry{Name: fmt.Sprintf("pkg%03d", i), PkgHash: h, Tarball: tarball})
	}
	hdoCache := filepath.Join(work, "hdo-cache")
	if _, _, err := cache.Publish(context.Background(), hdoCache, entries, nil); err != nil {
		b.Fatal(err)
	}
	nixPaths, nixCache := nixFixture(b, work, trees)
	for _, delay := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%dms", delay.Milliseconds()), func(b *testing.B) {
			hdoURL := delayServer(b, hdoCache, delay)
			nixURL := ""
			if nixCache != "" {
				nixURL = delayServer(b, nixCache, delay)
			}
			var hdoTimes, nixTimes []time.Duration
			round := 0
			for b.Loop() {
				round++
				hdoTimes = append(hdoTimes, hdoInstall(b, hdoURL, entries, filepath.Join(work, fmt.Sprintf("run%d-%d", delay, round))))
				if nixURL != "" {
					nixTimes = append(nixTimes, nixInstall(b, nixURL, nixPaths, filepath.Join(work, fmt.Sprintf("nix%d-%d", delay, round))))
				}
			}
			b.ReportMetric(ms(median(hdoTimes)), "hdo-ms")
			if len(nixTimes) > 0 {
				b.ReportMetric(ms(median(nixTimes)), "nix-ms")
				b.ReportMetric(float64(median(hdoTimes))/float64(median(nixTimes)), "hdo/nix")
			}
		})
	}
}

// hdoInstall fetches entries from url into a fresh downloads dir and
// unpacks them into a fresh store under dir; it returns the time taken
// and removes dir.
func hdoInstall(b *testing.B, url string, entries []cache.Entry, dir string) time.Duration {
	b.Helper()
	defer rmtree.Remove(dir)
	downloads := filepath.Join(dir, "downloads")
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	c := &cache.Client{URLs: []string{url}, Log: func(string, ...any) {}}
	var hashes []string
	for _, e := range entries {
		hashes = append(hashes, e.PkgHash)
	}
	dest := func(h string) string { return filepath.Join(downloads, h+".tar.gz") }
	start := time.Now()
	// As the package rule does for a build closure: each package is
	// unpacked as soon as it is downloaded.
	bg := st.Background(context.Background())
	hits, err := c.PrefetchThen(context.Background(), hashes, dest, func(h string, _ *cache.Info) {
		bg.Add(store.Member{Name: h, PkgHash: h, Tarball: dest(h)})
	})
	bg.Wait()
	if err != nil || len(hits) != len(hashes) {
		b.Fatalf("Prefetch: %d hits, %v", len(hits), err)
	}
	var members []store.Member
	for _, e := range entries {
		members = append(members, store.Member{Name: e.Name, PkgHash: e.PkgHash, Tarball: dest(e.PkgHash)})
	}
	if _, err := st.EnsureRoot(context.Background(), members, store.RootOptions{}); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// nixFixture adds the trees to the host's Nix store and copies them into
// a file binary cache; it returns their store paths and the cache dir, or
// nothing without nix-store.
func nixFixture(b *testing.B, work string, trees []string) ([]string, string) {
	if _, err := exec.LookPath("nix-store"); err != nil {
		b.Log("nix-store is not installed (Debian: apt-get install nix-bin): no Nix figures")
		return nil, ""
	}
	out, err := exec.Command("nix-store", append([]string{"--add"}, trees...)...).Output()
	if err != nil {
		b.Fatalf("nix-store --add: %v", err)
	}
	paths := strings.Fields(string(out))
	dir := filepath.Join(work, "nix-cache")
	cmd := exec.Command("nix", append([]string{"--extra-experimental-features", "nix-command", "copy", "--to", "file://" + dir}, paths...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("nix copy: %v\n%s", err, out)
	}
	return paths, dir
}

// nixInstall substitutes paths from url into a fresh chroot store at dir
// and returns the time taken; it removes dir.
func nixInstall(b *testing.B, url string, paths []string, dir string) time.Duration {
	b.Helper()
	defer rmtree.Remove(dir)
	args := append([]string{"--store", dir, "-r", "--option", "substituters", url, "--option", "require-sigs", "false"}, paths...)
	cmd := exec.Command("nix-store", args...)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("nix-store -r: %v\n%s", err, out)
	}
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
