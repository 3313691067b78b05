package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/bootstrap"
)

// TestBuildEscapes builds, through hdo, a package whose build tries to
// reach the host: signal and trace hdo's own process, write host-wide
// sysctls, open the magic SysRq key, change the hostname through
// namespaces of its own, and fill /tmp. The host's hostname and
// core_pattern stay as they were, /tmp is bounded by HDO_BUILD_TMPSIZE
// (2 GiB by default), and the results are as expected whether hdo runs as
// root or not.
func TestBuildEscapes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds stage0 packages")
	}
	probe, err := probeBinary()
	if err != nil {
		t.Fatal(err)
	}
	hostname, _ := os.Hostname()
	corePattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")

	h := newHdoTree(t, t.TempDir())
	files := map[string]string{
		"pkg/seed/seed.lock":    string(bootstrap.Stage0Lock()),
		"pkg/probe/build-deps":  "../seed\n",
		"pkg/probe/build":       "mkdir -p \"$DESTDIR/bin\"\ncp probe \"$DESTDIR/bin/probe\"\nchmod 755 \"$DESTDIR/bin/probe\"\n",
		"pkg/esc/build-deps":    "../seed\n../probe\n",
		"pkg/esc/files/hostpid": fmt.Sprintf("%d\n", os.Getpid()),
		"pkg/esc/build": `pid=$(cat hostpid)
mkdir -p "$DESTDIR"
probe signal $pid 9 + ptrace $pid + rewrite /proc/sys/kernel/core_pattern + openw /proc/sysrq-trigger + nested sethostname evil ++ + hostname + statfs /tmp + write /tmp/big 3000000 > "$DESTDIR/results"
`,
	}
	for name, text := range files {
		p := filepath.Join(h.root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(h.root, "pkg/probe/files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.root, "pkg/probe/files/probe"), data, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		tmpSize  string // HDO_BUILD_TMPSIZE
		statfs   string
		writeBig string
	}{
		{"", "2147483648", "ok"},
		{"1M", "1048576", "ENOSPC"},
	} {
		t.Run("tmpsize="+tt.tmpSize, func(t *testing.T) {
			cmd := h.command(t, "-q", "-f", "pkg/esc/.pkg.tar.gz")
			cmd.Env = append(cmd.Env, "HDO_BUILD_TMPSIZE="+tt.tmpSize)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("hdo: %v\n%s", err, out)
			}
			got := extractFile(t, filepath.Join(h.root, "pkg/esc/.pkg.tar.gz"), "results")
			// Root's build runs as nobody, an unprivileged hdo's as its
			// user: neither owns the host's root-owned files.
			denied := "EACCES"
			sysrq := "ENOENT" // a kernel without magic SysRq
			if _, err := os.Stat("/proc/sysrq-trigger"); err == nil {
				sysrq = denied
			}
			pid := os.Getpid()
			want := fmt.Sprintf("signal %d 9: ESRCH\nptrace %d: ESRCH\nrewrite /proc/sys/kernel/core_pattern: %s\nopenw /proc/sysrq-trigger: %s\n"+
				"nested sethostname evil: sethostname evil: ok\nhostname: build\nstatfs /tmp: %s\nwrite /tmp/big 3000000: %s\n",
				pid, pid, denied, sysrq, tt.statfs, tt.writeBig)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("what the build got (-want +got):\n%s", diff)
			}
		})
	}
	if h, _ := os.Hostname(); h != hostname {
		t.Errorf("the host's hostname changed from %s to %s", hostname, h)
	}
	if cp, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); string(cp) != string(corePattern) {
		t.Errorf("the host's core_pattern changed from %q to %q", corePattern, cp)
	}
}

// extractFile returns the content of the file name in the tarball tgz.
func extractFile(t *testing.T, tgz, name string) string {
	t.Helper()
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no %s: %v", tgz, name, err)
		}
		if strings.TrimPrefix(hdr.Name, "./") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // -1: an error
	}{
		{"0", 0}, {"512", 512}, {"1K", 1 << 10}, {"512M", 512 << 20}, {"8G", 8 << 30}, {"2t", 2 << 40},
		{"", -1}, {"G", -1}, {"-1", -1}, {"1.5G", -1}, {"8GB", -1}, {"9999999999T", -1},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if tt.want < 0 && err == nil || tt.want >= 0 && (err != nil || got != tt.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
