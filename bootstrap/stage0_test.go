package bootstrap

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"
)

// TestStage0 builds the standard stage0 seed twice from scratch (the Go
// build cache is shared), checks the two tarballs are identical, and runs
// the kind of scripts package builds are made of with its shell.
func TestStage0(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the stage0 seed twice; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("stage0 commands are Linux binaries")
	}
	lock, err := ParseLock("Stage0Lock", Stage0Lock())
	if err != nil {
		t.Fatal(err)
	}
	var tarballs [][]byte
	var sums []string
	var path string
	for i := 0; i < 2; i++ {
		var log bytes.Buffer
		p, sum, err := Build(context.Background(), lock, Options{CacheDir: t.TempDir(), Log: &log})
		if err != nil {
			t.Fatalf("%v\nlog:\n%s", err, log.String())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tarballs, sums, path = append(tarballs, data), append(sums, sum), p
	}
	if !bytes.Equal(tarballs[0], tarballs[1]) {
		t.Fatalf("two stage0 builds of one lock differ (%d and %d bytes)", len(tarballs[0]), len(tarballs[1]))
	}
	if sums[0] != sums[1] {
		t.Fatalf("content hashes differ: %s and %s", sums[0], sums[1])
	}
	t.Logf("stage0 seed: %d bytes gzipped, content %s", len(tarballs[0]), sums[0])

	list := listTarGz(t, path)
	for _, want := range []string{"l bin/sh -> bb", "l usr/bin/env -> ../../bin/bb", "l bin/cat -> bb", "d 1777 tmp", "d 0755 etc"} {
		if !contains(list, want) {
			t.Errorf("seed lacks %q", want)
		}
	}

	root := t.TempDir()
	unpack(t, path, root)
	t.Run("scripts", func(t *testing.T) { testShell(t, root) })
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// unpack extracts a seed tarball into dir.
func unpack(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := testRoot(t, dir)
	if err := r.extractTar(tar.NewReader(zr)); err != nil {
		t.Fatal(err)
	}
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
}

// buildScript is a typical package build script, using only what stage0
// offers (see the package documentation for what it lacks).
const buildScript = `set -eu
mkdir -p "$DESTDIR/bin" "$DESTDIR/share/doc"
printf '#!/bin/sh\necho hello from $0\n' > hello
chmod 755 hello
cp hello "$DESTDIR/bin/"
echo "name=$1" > "$DESTDIR/share/doc/info"
cat <<EOF >> "$DESTDIR/share/doc/info"
args=$#
EOF
for f in c a b; do echo "$f"; done > list
if [ -f list ] && test -s list; then echo has-list; fi
echo "lines: $(wc -l < list)"
sort list | head -n 1
grep -c a list || true
ln -s hello "$DESTDIR/bin/hi"
readlink "$DESTDIR/bin/hi"
mv list list2 && rm -f list2
test ! -e list2 && echo removed
echo abc | tr a-c A-C
printf 'x y\n' | xargs echo got
case "$1" in pk*) echo matched ;; *) echo nomatch ;; esac
f() { echo "in f: $*"; return 3; }
f 1 2 || echo "f returned $?"
i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo "i=$i"
echo "${DESTDIR##*/} ${UNSET:-default}"
(cd "$DESTDIR" && basename "$(pwd)")
"$DESTDIR/bin/hello"
find "$DESTDIR" -type f | sort | while read -r p; do echo "file ${p#$DESTDIR/}"; done
exec echo done
`

func testShell(t *testing.T, root string) {
	for _, tc := range []struct {
		name     string
		script   string // written to ./script
		args     []string
		stdin    string
		want     string // stdout
		wantErr  string // substring of stderr
		wantCode int
	}{
		{name: "build script", script: buildScript, args: []string{"-e", "script", "pkgname"},
			want: "has-list\nlines: 3\na\n1\nhello\nremoved\nAbC\ngot x y\nmatched\nin f: 1 2\nf returned 3\ni=3\ndest default\ndest\n" +
				"hello from DESTDIR/bin/hello\nfile bin/hello\nfile share/doc/info\ndone\n"},
		{name: "errexit", script: "echo a\nfalse\necho b\n", args: []string{"-e", "script"}, want: "a\n", wantCode: 1},
		{name: "no errexit", script: "false\necho b\n", args: []string{"script"}, want: "b\n"},
		{name: "params", script: "echo \"$0|$1|$2|$3|$#\"\n", args: []string{"-e", "script", "t", "t.base", "t.tmp"}, want: "script|t|t.base|t.tmp|3\n"},
		{name: "dash c", args: []string{"-ec", "echo \"$0 $1 $2\"", "name", "one", "two"}, want: "name one two\n"},
		{name: "stdin", args: []string{"-s", "q"}, stdin: "echo from stdin $1\nexit 4\necho no\n", want: "from stdin q\n", wantCode: 4},
		{name: "exit code", args: []string{"-c", "exit 7"}, wantCode: 7},
		{name: "nounset", args: []string{"-u", "-c", "echo $NOPE"}, wantCode: 1, wantErr: "NOPE"},
		{name: "no shebang", script: "echo no-shebang \"$1\"\n", args: []string{"-c", "chmod 755 script && ./script arg"}, want: "no-shebang arg\n"},
		{name: "env", args: []string{"-c", "env -i PATH=\"$PATH\" FOO=1 sh -c 'echo \"$FOO:${HOME:-nohome}\"'"}, want: "1:nohome\n"},
		{name: "usr bin env", script: "echo via-env\n", args: []string{"-c", "/usr/bin/env sh script"}, want: "via-env\n"},
		{name: "unsupported fd", args: []string{"-c", "exec 3>&1"}, wantCode: 2, wantErr: "sh: unsupported redirect fd: 3 (not supported by this shell)"},
		{name: "unsupported option", args: []string{"-v", "-c", "true"}, wantCode: 2, wantErr: "sh: -v: unsupported option"},
		{name: "missing script", args: []string{"nosuch"}, wantCode: 127, wantErr: "nosuch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			dest := filepath.Join(work, "dest")
			if tc.script != "" {
				if err := os.WriteFile(filepath.Join(work, "script"), []byte(tc.script), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := tc.args
			if tc.name == "usr bin env" {
				// /usr/bin/env is the seed's, not the host's.
				args = []string{"-c", root + "/usr/bin/env sh script"}
			}
			cmd := exec.Command(filepath.Join(root, "bin", "sh"), args...)
			cmd.Dir = work
			cmd.Env = []string{"PATH=" + root + "/bin:" + root + "/usr/bin", "DESTDIR=" + dest}
			cmd.Stdin = strings.NewReader(tc.stdin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(stdout.String(), dest, "DESTDIR")
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stdout: diff (-want +got):\n%s\nstderr:\n%s", diff, stderr.String())
			}
			if tc.wantErr != "" && !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantErr)
			}
			if strings.Contains(stderr.String(), "goroutine") {
				t.Errorf("the shell crashed:\n%s", stderr.String())
			}
		})
	}
}

// TestStage0Errors checks that stage0 problems are reported against the
// lock line that causes them.
func TestStage0Errors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command; skipped with -short")
	}
	const head = "hdo-seed-lock 1\narch amd64\ngo go1.26.8\n"
	const stage0 = "stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=\n"
	for _, tc := range []struct{ name, lock, want string }{
		{"library package", head + stage0 + "cmd hdo/sh /bin/sh\ncmd github.com/u-root/u-root/pkg/ls /bin/ls\n",
			"x.lock:6: cmd github.com/u-root/u-root/pkg/ls is package ls, not a command (package main)"},
		{"missing package", head + stage0 + "cmd github.com/u-root/u-root/cmds/core/nosuch /bin/nosuch\n",
			"x.lock:5: cmd github.com/u-root/u-root/cmds/core/nosuch: "},
		{"wrong pin", head + "stage0 github.com/u-root/u-root v0.16.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=\ncmd hdo/sh /bin/sh\n",
			"x.lock:4: stage0 github.com/u-root/u-root v0.16.0: "},
		{"binary path", head + stage0 + "cmd hdo/sh /bin/sh\nlink /x y\n",
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lock, err := ParseLock("x.lock", []byte(tc.lock))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				lock.Cmds = append(lock.Cmds, Cmd{Package: "github.com/u-root/u-root/cmds/core/bb", Path: Stage0Binary, Line: 9})
				tc.want = "x.lock:9: cmd: /bin/bb is where the multicall binary goes; install the command elsewhere"
			}
			err = BuildStage0(context.Background(), lock, t.TempDir(), Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("BuildStage0 error = %v, want %q", err, tc.want)
			}
		})
	}
}
