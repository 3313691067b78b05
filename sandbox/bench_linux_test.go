package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// timings collects per-run figures of a benchmark and reports their
// medians, which one slow run (a page-cache miss) does not move.
type timings struct {
	total, setup, assemble []time.Duration
}

func (tm *timings) add(total time.Duration, rep *report) {
	tm.total = append(tm.total, total)
	if rep != nil {
		tm.setup = append(tm.setup, time.Duration(rep.SetupNs))
		tm.assemble = append(tm.assemble, time.Duration(rep.AssembleNs))
	}
}

func (tm *timings) report(b *testing.B) {
	median := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds())
	}
	if len(tm.total) > 0 {
		b.ReportMetric(median(tm.total), "median-µs")
	}
	if len(tm.setup) > 0 {
		b.ReportMetric(median(tm.setup), "setup-µs")
		b.ReportMetric(median(tm.assemble), "assemble-µs")
	}
}

// BenchmarkStartTrue runs /bin/true (a static Go binary) in the sandbox,
// on a root of one layer; compare BenchmarkStartTrueBwrap. The direct
// variants start the init from the benchmark process (no spawner, no init
// started ahead of time); the heap=200MB ones hold 200 MB in the benchmark
// process, which a fork of it pays for and the spawner avoids.
func BenchmarkStartTrue(b *testing.B) {
	for _, bc := range []struct {
		name   string
		mode   Assembly
		direct bool
		heapMB int
	}{
		{name: "overlay", mode: AssembleOverlay},
		{name: "bind", mode: AssembleBind},
		{name: "overlay/direct", mode: AssembleOverlay, direct: true},
		{name: "overlay/heap=200MB", mode: AssembleOverlay, heapMB: 200},
		{name: "overlay/heap=200MB/direct", mode: AssembleOverlay, direct: true, heapMB: 200},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ballast := make([]byte, bc.heapMB<<20)
			for i := range ballast {
				ballast[i] = 1
			}
			f := newFixture(b, bc.mode)
			cfg := f.cfg
			cfg.Args = []string{"/bin/true"}
			cfg.noSpawner = bc.direct
			var tm timings
			for b.Loop() {
				start := time.Now()
				rep, err := run(context.Background(), &cfg)
				if err != nil {
					b.Fatal(err)
				}
				tm.add(time.Since(start), rep)
			}
			tm.report(b)
			runtime.KeepAlive(ballast)
		})
	}
}

// BenchmarkStartTrueBwrap runs the same /bin/true on the same root with
// bubblewrap, the reference for BenchmarkStartTrue.
func BenchmarkStartTrueBwrap(b *testing.B) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		b.Skip("bwrap is not installed (Debian: apt-get install bubblewrap)")
	}
	root := baseLayer(b, b.TempDir()).Dir
	// bwrap mounts /proc and /dev on directories the root must have.
	writeTree(b, root, map[string]string{"proc/": "", "dev/": ""})
	var tm timings
	for b.Loop() {
		start := time.Now()
		out, err := exec.Command(bwrap, "--ro-bind", root, "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all", "/bin/true").CombinedOutput()
		if err != nil {
			b.Fatalf("bwrap: %v\n%s", err, out)
		}
		tm.add(time.Since(start), nil)
	}
	tm.report(b)
}

// BenchmarkAssemble1MB and BenchmarkAssemble300MB20k assemble roots of 20
// layers holding 1 MB in 100 files and 300 MB in 20,000 files: with
// overlayfs the cost must not depend on the bytes or files, only on the
// number of layers.
func BenchmarkAssemble1MB(b *testing.B) {
	benchAssemble(b, benchLayers(b, "1MB", 20, 5, 10<<10))
}

func BenchmarkAssemble300MB20k(b *testing.B) {
	benchAssemble(b, benchLayers(b, "300MB20k", 20, 1000, 15<<10))
}

func benchAssemble(b *testing.B, layers []Layer) {
	for _, mode := range []Assembly{AssembleOverlay, AssembleBind} {
		b.Run(mode.String(), func(b *testing.B) {
			f := newFixture(b, mode, layers...)
			cfg := f.cfg
			cfg.Args = []string{"/bin/true"}
			var tm timings
			for b.Loop() {
				start := time.Now()
				rep, err := run(context.Background(), &cfg)
				if err != nil {
					b.Fatal(err)
				}
				tm.add(time.Since(start), rep)
			}
			tm.report(b)
		})
	}
}

var (
	benchMu   sync.Mutex
	benchRoot string                 // holds the generated layers; removed by TestMain
	benchSets = map[string][]Layer{} // by name
)

// benchLayers generates (once per process) n layers of files files of size
// bytes each, laid out like packages: a program in /usr/bin and a library
// in /usr/lib, which all layers share, and the rest in a directory of the
// package's own under /usr/share.
func benchLayers(b *testing.B, name string, n, files, size int) []Layer {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if ls, ok := benchSets[name]; ok {
		return ls
	}
	if benchRoot == "" {
		dir, err := os.MkdirTemp("", "hdo-sandbox-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchRoot = dir
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var layers []Layer
	for i := range n {
		dir := filepath.Join(benchRoot, name, fmt.Sprintf("p%02d", i))
		paths := []string{fmt.Sprintf("usr/bin/tool%02d", i), fmt.Sprintf("usr/lib/libp%02d.so", i)}
		for j := range files - len(paths) {
			paths = append(paths, fmt.Sprintf("usr/share/p%02d/d%02d/f%04d", i, j/100, j))
		}
		for _, p := range paths {
			p = filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		layers = append(layers, Layer{Name: fmt.Sprintf("pkg/p%02d", i), Dir: dir})
	}
	benchSets[name] = layers
	return layers
}
