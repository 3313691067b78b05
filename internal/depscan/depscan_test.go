package depscan

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cc compiles src with the host's gcc into dir/rel and returns the path.
func cc(t *testing.T, dir, rel, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	out := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(t.TempDir(), "x.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-o", out, c}, flags...)
	if b, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Skipf("gcc %v: %v\n%s", args, err, b)
	}
	return out
}

const hello = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"

func write(t *testing.T, dir, rel, data string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, dir, rel, target string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// copyHost copies a file of the host into dir at the same path.
func copyHost(t *testing.T, dir, hostPath string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(hostPath)
	if err != nil {
		t.Skipf("host has no %s", hostPath)
	}
	b, err := os.ReadFile(real)
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, real, string(b), 0o755)
}

// libcTree is a package with the host's libc and loader where Debian puts
// them, with the /lib64 link.
func libcTree(t *testing.T) string {
	dir := t.TempDir()
	copyHost(t, dir, "/lib/x86_64-linux-gnu/libc.so.6")
	copyHost(t, dir, "/lib64/ld-linux-x86-64.so.2")
	real, _ := filepath.EvalSymlinks("/lib64/ld-linux-x86-64.so.2")
	symlink(t, dir, "lib64/ld-linux-x86-64.so.2", real)
	return dir
}

func names(ns []Need) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.File+" "+n.Name)
	}
	slices.Sort(out)
	return out
}

func TestDynamicBinary(t *testing.T) {
	pkg := t.TempDir()
	cc(t, pkg, "usr/bin/hello", hello)
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"usr/bin/hello /lib64/ld-linux-x86-64.so.2", "usr/bin/hello libc.so.6"}
	if got := names(s.Needs); !slices.Equal(got, want) {
		t.Fatalf("needs %q, want %q", got, want)
	}
	// Alone, nothing provides them.
	if got := names(NewRoot(pkg).Missing(s)); !slices.Equal(got, want) {
		t.Errorf("alone: missing %q, want %q", got, want)
	}
	// With a libc package, everything is there (through the lib64 link).
	if got := NewRoot(pkg, libcTree(t)).Missing(s); len(got) != 0 {
		t.Errorf("with libc: missing %q", names(got))
	}
}

func TestStaticBinary(t *testing.T) {
	pkg := t.TempDir()
	cc(t, pkg, "usr/bin/hello", hello, "-static")
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Needs) != 0 {
		t.Errorf("a static binary needs %q", names(s.Needs))
	}
}

// A library found through the binary's $ORIGIN run path is provided by
// the package itself; one of another ELF class is not a match.
func TestRunPath(t *testing.T) {
	pkg := t.TempDir()
	lib := cc(t, pkg, "usr/lib/hello/libgreet.so", "int greet(void) { return 42; }\n", "-shared", "-fPIC")
	cc(t, pkg, "usr/bin/hello", "int greet(void);\nint main(void) { return greet() - 42; }\n",
		"-L"+filepath.Dir(lib), "-lgreet", "-Wl,-rpath,$ORIGIN/../lib/hello")
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	root := NewRoot(pkg, libcTree(t))
	if got := root.Missing(s); len(got) != 0 {
		t.Errorf("missing %q", names(got))
	}
	// Moved out of the run path, the library is missing.
	if err := os.Rename(lib, filepath.Join(pkg, "usr/lib/hello/libgreet.so.moved")); err != nil {
		t.Fatal(err)
	}
	if got := names(root.Missing(s)); !slices.Equal(got, []string{"usr/bin/hello libgreet.so"}) {
		t.Errorf("moved: missing %q", got)
	}
	// A non-ELF file of that name does not do either.
	write(t, pkg, "usr/lib/hello/libgreet.so", "not a library", 0o644)
	if got := names(root.Missing(s)); !slices.Equal(got, []string{"usr/bin/hello libgreet.so"}) {
		t.Errorf("not ELF: missing %q", got)
	}
}

// Libraries in a directory /etc/ld.so.conf names are found, through its
// includes.
func TestLdSoConf(t *testing.T) {
	pkg := t.TempDir()
	lib := cc(t, pkg, "opt/greet/lib/libgreet.so", "int greet(void) { return 42; }\n", "-shared", "-fPIC")
	cc(t, pkg, "usr/bin/hello", "int greet(void);\nint main(void) { return greet() - 42; }\n", "-L"+filepath.Dir(lib), "-lgreet")
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	libc := libcTree(t)
	if got := names(NewRoot(pkg, libc).Missing(s)); !slices.Equal(got, []string{"usr/bin/hello libgreet.so"}) {
		t.Errorf("without ld.so.conf: missing %q", got)
	}
	conf := t.TempDir()
	write(t, conf, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644)
	write(t, conf, "etc/ld.so.conf.d/greet.conf", "# greet\n/opt/greet/lib\n", 0o644)
	if got := NewRoot(pkg, libc, conf).Missing(s); len(got) != 0 {
		t.Errorf("with ld.so.conf: missing %q", names(got))
	}
}

func TestScripts(t *testing.T) {
	pkg := t.TempDir()
	write(t, pkg, "usr/bin/a", "#!/usr/bin/perl -w\nprint 1;\n", 0o755)
	write(t, pkg, "usr/bin/b", "#! /bin/sh\necho\n", 0o755)
	write(t, pkg, "usr/bin/c", "#!/usr/bin/env python3\n", 0o755)
	write(t, pkg, "usr/share/doc/d", "#!not a path\n", 0o644)
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"usr/bin/a /usr/bin/perl", "usr/bin/b /bin/sh", "usr/bin/c /usr/bin/env", "usr/bin/c python3"}
	if got := names(s.Needs); !slices.Equal(got, want) {
		t.Fatalf("needs %q, want %q", got, want)
	}
	tools := t.TempDir()
	write(t, tools, "usr/bin/perl", "", 0o755)
	write(t, tools, "usr/bin/env", "", 0o755)
	write(t, tools, "usr/bin/python3", "", 0o644) // not executable
	symlink(t, tools, "bin", "usr/bin")
	write(t, tools, "usr/bin/sh", "", 0o755)
	got := names(NewRoot(pkg, tools).Missing(s))
	if !slices.Equal(got, []string{"usr/bin/c python3"}) {
		t.Errorf("missing %q, want only the non-executable python3", got)
	}
}

func TestNeedString(t *testing.T) {
	n := Need{File: "usr/bin/hello", Kind: Library, Name: "libc.so.6"}
	if s := n.String(); !strings.Contains(s, "usr/bin/hello needs libc.so.6") {
		t.Errorf("String() = %q", s)
	}
}

// The tree's own packages, where this machine has them built and
// unpacked, pass: each store entry with its run closure's entries.
func TestTreePackages(t *testing.T) {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	store := filepath.Join(cache, "hdo", "store")
	pkgs, _ := filepath.Glob("../../pkg/*/.pkghash")
	entry := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, ".pkghash"))
		if err != nil {
			return ""
		}
		e := filepath.Join(store, strings.TrimSpace(string(b)))
		if _, err := os.Stat(e + ".manifest"); err != nil {
			return ""
		}
		return e
	}
	checked := 0
	for _, hp := range pkgs {
		dir := filepath.Dir(hp)
		top := entry(dir)
		closure, err := os.ReadFile(filepath.Join(dir, ".closure"))
		if top == "" || err != nil {
			continue
		}
		trees := []string{top}
		complete := true
		for _, line := range strings.Fields(string(closure)) {
			e := entry(filepath.Join("../..", filepath.Dir(line)))
			if e == "" {
				complete = false
				break
			}
			trees = append(trees, e)
		}
		if !complete {
			continue
		}
		s, err := Tree(top)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range NewRoot(trees...).Missing(s) {
			t.Errorf("%s: %s", filepath.Base(dir), n)
		}
		checked++
	}
	if checked == 0 {
		t.Skip("no package of the tree is built and unpacked here")
	}
	t.Logf("%d packages checked", checked)
}

// Check names the missing need and the tree package that has it.
func TestCheck(t *testing.T) {
	hello := t.TempDir()
	cc(t, hello, "usr/bin/hello", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n")
	write(t, hello, "usr/bin/report", "#!/usr/bin/perl\n", 0o755)
	libc := libcTree(t)
	unpacked := map[string]string{"pkg/libc": libc, "pkg/other": t.TempDir()}
	var asked []string
	unpack := func(d string) (string, error) {
		asked = append(asked, d)
		return unpacked[d], nil
	}
	res, err := Check(Package{Dir: "pkg/hello", Tree: hello}, nil, nil, []string{"pkg/hello", "pkg/other", "pkg/libc"}, unpack)
	if err != nil {
		t.Fatal(err)
	}
	lines := res.Missing
	want := []string{
		"pkg/hello: usr/bin/hello needs /lib64/ld-linux-x86-64.so.2: add ../libc to pkg/hello/run-deps",
		"pkg/hello: usr/bin/hello needs libc.so.6: add ../libc to pkg/hello/run-deps",
		"pkg/hello: usr/bin/report needs /usr/bin/perl, which no built package of the tree provides",
	}
	slices.Sort(lines)
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if slices.Contains(asked, "pkg/hello") {
		t.Error("the package itself was asked for as a provider")
	}
	// With libc in the closure, only perl is missing, and nothing is
	// unpacked to look for libc.
	asked = nil
	other := t.TempDir()
	write(t, other, "usr/share/other/data", "x", 0o644)
	res, _ = Check(Package{Dir: "pkg/hello", Tree: hello},
		[]Package{{Dir: "pkg/libc", Tree: libc}, {Dir: "pkg/other", Tree: other}},
		map[string][]string{"pkg/libc": {"pkg/libc"}, "pkg/other": {"pkg/other"}, "pkg/meta": {"pkg/meta", "pkg/libc"}},
		[]string{"pkg/libc"}, unpack)
	if len(res.Missing) != 1 || !strings.Contains(res.Missing[0], "/usr/bin/perl") {
		t.Errorf("with libc: %q", res.Missing)
	}
	// pkg/other gives nothing that is used; pkg/meta does, through libc in
	// its closure.
	if !slices.Equal(res.Unused, []string{"pkg/other"}) {
		t.Errorf("unused %q, want pkg/other", res.Unused)
	}
}

// Only what can run is scanned: a program or script without an exec bit
// (test data) needs nothing; a shared library does, whatever its mode.
func TestOnlyRunnable(t *testing.T) {
	pkg := t.TempDir()
	bin := cc(t, pkg, "usr/share/testdata/prog", hello)
	if err := os.Chmod(bin, 0o644); err != nil {
		t.Fatal(err)
	}
	lib := cc(t, pkg, "usr/lib/libgreet.so.1", "#include <stdio.h>\nint greet(void) { return puts(\"hi\"); }\n", "-shared", "-fPIC")
	if err := os.Chmod(lib, 0o644); err != nil {
		t.Fatal(err)
	}
	write(t, pkg, "usr/share/testdata/script", "#!/usr/bin/perl\n", 0o644)
	s, err := Tree(pkg)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(s.Needs); !slices.Equal(got, []string{"usr/lib/libgreet.so.1 libc.so.6"}) {
		t.Errorf("needs %q, want only the library's libc.so.6", got)
	}
}

// storeEntry returns the store entry of the tree's package dir (pkg/NAME),
// or "" when it is not built and unpacked here.
func storeEntry(name string) string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	b, err := os.ReadFile(filepath.Join("../../pkg", name, ".pkghash"))
	if err != nil {
		return ""
	}
	e := filepath.Join(cache, "hdo", "store", strings.TrimSpace(string(b)))
	if _, err := os.Stat(e + ".manifest"); err != nil {
		return ""
	}
	return e
}

// BenchmarkScan scans the tree's make and Go toolchain packages, where
// built here, and checks them against libc: the cost of hdo lint per
// package.
func BenchmarkScan(b *testing.B) {
	libc := storeEntry("libc")
	for _, name := range []string{"make", "go"} {
		b.Run(name, func(b *testing.B) {
			e := storeEntry(name)
			if e == "" || libc == "" {
				b.Skipf("pkg/%s or pkg/libc is not built and unpacked here", name)
			}
			files := 0
			filepath.WalkDir(e, func(_ string, d os.DirEntry, _ error) error {
				if d != nil && d.Type().IsRegular() {
					files++
				}
				return nil
			})
			for b.Loop() {
				s, err := Tree(e)
				if err != nil {
					b.Fatal(err)
				}
				NewRoot(e, libc).Missing(s)
			}
			b.ReportMetric(float64(files), "files")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/scan")
		})
	}
}
