package main

import (
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/archive"
)

// genTree is a generated package tree on the stage0 seed for the
// reliability tests (crash, concurrency): a random DAG of small packages
// and a few plain .do targets over them. The same seed and marker give
// the same tree, byte for byte.
type genTree struct {
	pkgs    []string // package dirs, e.g. pkg/p07 (pkg/seed not included)
	targets []string // what a full build asks for, e.g. all, count, sub/report, slow
	// knobs are source files whose content the tests switch between "1"
	// and "2" to make parts of the tree out of date, e.g. pkg/p01/files/VERSION.
	knobs  []string
	marker string // in every build's command line, e.g. hdo-crash-3f9a0c12
	files  map[string][]byte
}

// newMarker returns a string unique to this test run, to find the
// processes of its builds in the host's process list.
func newMarker(prefix string) string {
	var b [6]byte
	crand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// genStageTree generates the tree of n packages for seed. Package i has
// ../seed and up to three packages below it as build-deps, some of those
// as run-deps, and a build that records its version and its build-deps'
// ids, copies a blob (every third package, up to 256 KiB of noise so that
// writing its tarball takes a while), makes a symlink and sleeps a little,
// inside a subshell carrying marker.
func genStageTree(seed uint64, n int, marker string) *genTree {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	g := &genTree{marker: marker, files: map[string][]byte{}}
	put := func(name, text string) { g.files[name] = []byte(text) }
	for i := range n {
		name := fmt.Sprintf("p%02d", i)
		dir := "pkg/" + name
		g.pkgs = append(g.pkgs, dir)
		deps := map[int]bool{}
		for k := r.IntN(4); k > 0 && i > 0; k-- {
			deps[r.IntN(i)] = true
		}
		var sorted []int
		for d := range deps {
			sorted = append(sorted, d)
		}
		sort.Ints(sorted)
		bdeps, rdeps := "../seed\n", ""
		var script strings.Builder
		fmt.Fprintf(&script, "mkdir -p \"$DESTDIR/share/%s\"\n", name)
		fmt.Fprintf(&script, "echo \"%s $(cat VERSION)\" > \"$DESTDIR/share/%s/id\"\n", name, name)
		for _, d := range sorted {
			dn := fmt.Sprintf("p%02d", d)
			bdeps += "../" + dn + "\n"
			if r.IntN(2) == 0 {
				rdeps += "../" + dn + "\n"
			}
			fmt.Fprintf(&script, "cat /share/%s/id >> \"$DESTDIR/share/%s/id\"\n", dn, name)
		}
		if i%3 == 0 {
			blob := make([]byte, 16<<10+r.IntN(240<<10))
			for j := range blob {
				blob[j] = byte(r.Uint32())
			}
			g.files[dir+"/files/blob"] = blob
			fmt.Fprintf(&script, "cp blob \"$DESTDIR/share/%s/blob\"\n", name)
		}
		fmt.Fprintf(&script, "ln -s id \"$DESTDIR/share/%s/link\"\n", name)
		fmt.Fprintf(&script, "sh -c ': %s; sleep 0.0%d'\n", marker, 1+r.IntN(9))
		put(dir+"/build", script.String())
		put(dir+"/build-deps", bdeps)
		if rdeps != "" {
			put(dir+"/run-deps", rdeps)
		}
		put(dir+"/files/VERSION", "1\n")
	}
	put("pkg/seed/seed.lock", string(bootstrap.Stage0Lock()))
	put("knob", "1\n")

	var all strings.Builder
	all.WriteString("redo-ifchange")
	for _, p := range g.pkgs {
		all.WriteString(" " + p + "/.pkg.tar.gz")
	}
	all.WriteString("\nfor p in")
	for _, p := range g.pkgs {
		all.WriteString(" " + p)
	}
	all.WriteString("; do echo \"$p $(cat $p/.pkghash)\"; done\necho end\n")
	put("all.do", all.String())
	last, mid := g.pkgs[n-1], g.pkgs[n/2]
	put("sub/report.do", fmt.Sprintf("redo-ifchange ../%s/.closure ../%s/.bclosure ../knob\ncat ../%s/.closure ../%s/.bclosure ../knob\necho end\n", last, mid, last, mid))
	put("count.do", "redo-ifchange all sub/report\nwc -l < all > $3\necho end >> $3\n")
	put("slow.do", "redo-ifchange knob\nsleep 0.2\ncat knob\necho end\n")
	g.targets = []string{"all", "count", "sub/report", "slow"}
	g.knobs = []string{"knob", g.pkgs[1] + "/files/VERSION", g.pkgs[n/3] + "/files/VERSION"}
	return g
}

// write writes the tree's sources into root, with an empty .hdo so that
// root is the tree root.
func (g *genTree) write(t testing.TB, root string) {
	t.Helper()
	for name, data := range g.files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, ".hdo"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// setKnobs writes the knob values (config[i] for knobs[i]) into root; a
// value written at the same second as the last one still differs in
// content, which is what hdo looks at.
func (g *genTree) setKnobs(t testing.TB, root string, config []byte) {
	t.Helper()
	for i, k := range g.knobs {
		p := filepath.Join(root, filepath.FromSlash(k))
		old, _ := os.ReadFile(p)
		want := []byte{config[i], '\n'}
		if bytes.Equal(old, want) {
			continue
		}
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// allTargets lists every target a full build of the tree makes.
func (g *genTree) allTargets() []string {
	out := append([]string(nil), g.targets...)
	for _, p := range append([]string{"pkg/seed"}, g.pkgs...) {
		for _, f := range []string{".pkghash", ".closure", ".bclosure", ".pkg.tar.gz"} {
			if p == "pkg/seed" && f == ".bclosure" {
				continue // a seed is not built from anything
			}
			out = append(out, p+"/"+f)
		}
	}
	sort.Strings(out)
	return out
}

// installStage0 puts the shared stage0 seed into the hdo cache under
// cacheHome (XDG_CACHE_HOME), as if an earlier run had built it.
func installStage0(t testing.TB, cacheHome string) {
	t.Helper()
	if err := copyStage0(cacheHome); err != nil {
		t.Fatal(err)
	}
}

// copyStage0 copies the shared stage0 seed into the hdo cache under
// cacheHome. Copied, not linked: a write through a link would spoil the
// shared seed for every other test (it is about a megabyte).
func copyStage0(cacheHome string) error {
	tgz, err := sharedStage0()
	if err != nil {
		return fmt.Errorf("building stage0: %w", err)
	}
	return copySeed(cacheHome, tgz)
}

// copySeed puts the shared seed tarball tgz (and its sum) into the hdo
// seed cache under cacheHome.
func copySeed(cacheHome, tgz string) error {
	dir := filepath.Join(cacheHome, "hdo", "bootstrap")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	key := filepath.Base(strings.TrimSuffix(tgz, ".tar.gz"))
	for _, suffix := range []string{".tar.gz", ".blake3"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(tgz), key+suffix))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, key+suffix), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hdoTree is a tree and the per-user directories of the hdo
// processes run on it, all under one temp dir.
type hdoTree struct {
	root  string // the tree root
	cache string // XDG_CACHE_HOME
	tmp   string // TMPDIR (hdo's socket dirs)
	home  string
}

func newHdoTree(t testing.TB, base string) *hdoTree {
	t.Helper()
	h := &hdoTree{
		root:  filepath.Join(base, "tree"),
		cache: filepath.Join(base, "cache"),
		tmp:   filepath.Join(base, "tmp"),
		home:  filepath.Join(base, "home"),
	}
	for _, d := range []string{h.root, h.cache, h.tmp, h.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	installStage0(t, h.cache)
	return h
}

// env is the environment of hdo processes on the tree: nothing of the
// test's own but PATH.
func (h *hdoTree) env(extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + h.home, "XDG_CACHE_HOME=" + h.cache,
		"TMPDIR=" + h.tmp, "HDO_ROOT=", "MAKEFLAGS=", "TERM=dumb",
	}, extra...)
}

// command returns an hdo command on the tree, not started.
func (h *hdoTree) command(t testing.TB, args ...string) *exec.Cmd {
	cmd := exec.Command(realHdo(t), args...)
	cmd.Dir = h.root
	cmd.Env = h.env()
	return cmd
}

// run runs hdo on the tree and returns its stdout; a failure is fatal.
func (h *hdoTree) run(t testing.TB, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := h.command(t, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hdo %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.String()
}

// lines splits command output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readTargets reads the listed targets of root: path -> content; absent
// files are left out.
func readTargets(t testing.TB, root string, targets []string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, tg := range targets {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(tg)))
		if err == nil {
			out[tg] = b
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	return out
}

var (
	pkghashRE = regexp.MustCompile(`^[0-9a-f]{64}\n$`)
	closureRE = regexp.MustCompile(`^(\./pkg/[a-z0-9]+/\.pkg\.tar\.gz\n)*$`)
)

// checkWhole reports every target file under root whose content is not a
// whole, valid file of its kind: a tarball hdo's hardened reader reads to
// the end, a pkghash of 64 hex digits, a closure of sorted tarball paths,
// a .do target ending in its "end" line.
func checkWhole(root string, targets []string) []string {
	var bad []string
	for _, tg := range targets {
		p := filepath.Join(root, filepath.FromSlash(tg))
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", tg, err))
			continue
		}
		switch filepath.Base(tg) {
		case ".pkg.tar.gz":
			if _, err := archive.ListFile(p); err != nil {
				bad = append(bad, fmt.Sprintf("%s: not a whole tarball (%d bytes): %v", tg, len(b), err))
			}
		case ".pkghash":
			if !pkghashRE.Match(b) {
				bad = append(bad, fmt.Sprintf("%s: not a pkghash: %q", tg, clipBytes(b)))
			}
		case ".closure", ".bclosure":
			ls := lines(string(b))
			if !closureRE.Match(b) || !sort.StringsAreSorted(ls) {
				bad = append(bad, fmt.Sprintf("%s: not a closure: %q", tg, clipBytes(b)))
			}
		default:
			if !bytes.HasSuffix(b, []byte("end\n")) {
				bad = append(bad, fmt.Sprintf("%s: partial output: %q", tg, clipBytes(b)))
			}
		}
	}
	return bad
}

func clipBytes(b []byte) []byte {
	if len(b) > 80 {
		return append(b[:80:80], "..."...)
	}
	return b
}

// tempLeftovers lists hdo's temporary files (.NAME.hdo-*) under root,
// outside .hdo.
func tempLeftovers(root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".hdo" {
			return filepath.SkipDir
		}
		if strings.HasPrefix(d.Name(), ".") && strings.Contains(d.Name(), ".hdo-") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// markedProcesses lists the host pids whose command line contains marker.
func markedProcesses(marker string) []int {
	var pids []int
	des, _ := os.ReadDir("/proc")
	for _, de := range des {
		var pid int
		if _, err := fmt.Sscanf(de.Name(), "%d", &pid); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + de.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// parentPid returns the parent of pid, or 0.
func parentPid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	var state string
	var ppid int
	fmt.Sscanf(string(b[i+1:]), " %s %d", &state, &ppid)
	return ppid
}

// waitGone waits up to d for no process to carry marker, and returns those
// still there.
func waitGone(marker string, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		pids := markedProcesses(marker)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
}
