package bootstrap

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/stage0.lock from Stage0Lock")

const (
	sumA = "0000000000000000000000000000000000000000000000000000000000000001"
	sumB = "00000000000000000000000000000000000000000000000000000000000000b2"
)

// fullLock uses every line kind, with comments and odd spacing.
const fullLock = `# a test seed
#  second comment line
hdo-seed-lock 1
arch amd64
go go1.26.8   # builds stage0

stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=
cmd hdo/sh /bin/sh
cmd	github.com/u-root/u-root/cmds/core/cat    /bin/cat
cmd hdo/env /usr/bin/env
cmd hdo/env /bin/env
gotoolchain go1.26.8 ` + sumA + `
packages make gcc-12
deb libc6 2.36-9+deb12u10 mirror://debian/pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb 2757936 ` + sumA + `
deb make 4.3-4.1 mirror://debian/pool/main/m/make-dfsg/make_4.3-4.1_amd64.deb 12345 ` + sumB + `
deb tzdata 2025b-0+deb12u1 mirror://debian-security/pool/updates/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb 1 ` + sumB + `
link /usr/bin/cc gcc-12 # fixup
link /usr/bin/awk /usr/bin/mawk
`

func TestParseLockFull(t *testing.T) {
	l, err := ParseLock("seed.lock", []byte(fullLock))
	if err != nil {
		t.Fatal(err)
	}
	want := &Lock{
		Name:    "seed.lock",
		Comment: []string{" a test seed", "  second comment line"},
		Arch:    "amd64",
		Go:      "go1.26.8",
		Stage0: &Module{Path: "github.com/u-root/u-root", Version: "v0.16.0",
			Sum: "h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8=", ModSum: "h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=", Line: 7},
		Cmds: []Cmd{
			{"hdo/sh", "/bin/sh", 8},
			{"github.com/u-root/u-root/cmds/core/cat", "/bin/cat", 9},
			{"hdo/env", "/usr/bin/env", 10},
			{"hdo/env", "/bin/env", 11},
		},
		GoToolchain: &GoToolchain{"go1.26.8", sumA, 12},
		Packages:    []string{"make", "gcc-12"},
		Debs: []Deb{
			{"libc6", "2.36-9+deb12u10", "mirror://debian/pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb", 2757936, sumA, 14},
			{"make", "4.3-4.1", "mirror://debian/pool/main/m/make-dfsg/make_4.3-4.1_amd64.deb", 12345, sumB, 15},
			{"tzdata", "2025b-0+deb12u1", "mirror://debian-security/pool/updates/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb", 1, sumB, 16},
		},
		Links: []Link{{"/usr/bin/cc", "gcc-12", 17}, {"/usr/bin/awk", "/usr/bin/mawk", 18}},
	}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("ParseLock: diff (-want +got):\n%s", diff)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"full", fullLock},
		{"stage0", string(stage0LockFor("amd64"))},
		{"minimal", "hdo-seed-lock 1\narch arm64\nlink /bin/sh busybox\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLock("a.lock", []byte(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			out := l.Format()
			l2, err := ParseLock("a.lock", out)
			if err != nil {
				t.Fatalf("parse of Format output: %v\n%s", err, out)
			}
			ignoreLines := cmpopts.IgnoreFields(Cmd{}, "Line")
			opts := cmp.Options{ignoreLines, cmpopts.IgnoreFields(Deb{}, "Line"), cmpopts.IgnoreFields(Link{}, "Line"),
				cmpopts.IgnoreFields(Module{}, "Line"), cmpopts.IgnoreFields(GoToolchain{}, "Line")}
			if diff := cmp.Diff(l, l2, opts); diff != "" {
				t.Errorf("round trip: diff (-want +got):\n%s", diff)
			}
			if out2 := l2.Format(); !bytes.Equal(out, out2) {
				t.Errorf("Format is not stable:\n%s\nthen\n%s", out, out2)
			}
		})
	}
}

func TestFormatCanonical(t *testing.T) {
	l, err := ParseLock("a.lock", []byte(fullLock))
	if err != nil {
		t.Fatal(err)
	}
	want := `# a test seed
#  second comment line
hdo-seed-lock 1
arch amd64
go go1.26.8
stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=
cmd hdo/sh /bin/sh
cmd github.com/u-root/u-root/cmds/core/cat /bin/cat
cmd hdo/env /usr/bin/env
cmd hdo/env /bin/env
gotoolchain go1.26.8 ` + sumA + `
packages make gcc-12
deb libc6 2.36-9+deb12u10 mirror://debian/pool/main/g/glibc/libc6_2.36-9+deb12u10_amd64.deb 2757936 ` + sumA + `
deb make 4.3-4.1 mirror://debian/pool/main/m/make-dfsg/make_4.3-4.1_amd64.deb 12345 ` + sumB + `
deb tzdata 2025b-0+deb12u1 mirror://debian-security/pool/updates/main/t/tzdata/tzdata_2025b-0+deb12u1_all.deb 1 ` + sumB + `
link /usr/bin/cc gcc-12
link /usr/bin/awk /usr/bin/mawk
`
	if diff := cmp.Diff(want, string(l.Format())); diff != "" {
		t.Errorf("Format: diff (-want +got):\n%s", diff)
	}
}

func TestParseLockErrors(t *testing.T) {
	const h = "hdo-seed-lock 1\narch amd64\n"
	const s0 = "go go1.26.8\nstage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=\n"
	deb := func(name, version, url, size, sum string) string {
		return "deb " + name + " " + version + " " + url + " " + size + " " + sum + "\n"
	}
	const url = "mirror://debian/pool/main/m/make/make_1_amd64.deb"
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "s.lock: empty lock: want the header \"hdo-seed-lock 1\""},
		{"only comments", "# x\n\n", "s.lock: empty lock: want the header \"hdo-seed-lock 1\""},
		{"newer format", "hdo-seed-lock 2\n", "s.lock:1: lock format 2 is not supported by this hdo (it reads \"hdo-seed-lock 1\"); upgrade hdo"},
		{"no header", "arch amd64\n", "s.lock:1: got \"arch amd64\", want the header \"hdo-seed-lock 1\" as the first line"},
		{"unknown kind", h + "debs x\n", "s.lock:3: unknown line kind \"debs\"; want one of arch, go, stage0, cmd, gotoolchain, packages, deb, prune, link"},
		{"no arch", "hdo-seed-lock 1\nlink /a b\n", "s.lock: no arch line; add one such as \"arch amd64\""},
		{"bad arch", "hdo-seed-lock 1\narch i386\n", "s.lock:2: arch \"i386\" is not supported; want amd64 or arm64"},
		{"second arch", h + "arch amd64\n", "s.lock:3: second arch line (the first is line 2); keep one"},
		{"arch fields", "hdo-seed-lock 1\narch\n", "s.lock:2: arch: got 1 fields, want 2 (arch ARCH)"},
		{"nothing pinned", h, "s.lock: the lock pins nothing; add cmd, deb or gotoolchain lines"},
		{"deb fields", h + "deb make 1.0 " + url + " 12\n", "s.lock:3: deb: got 5 fields, want 6 (deb NAME VERSION mirror://NAME/POOLPATH SIZE SHA256)"},
		{"deb name", h + deb("Make", "1", url, "1", sumA), "s.lock:3: deb: \"Make\" is not a Debian package name"},
		{"deb version", h + deb("make", "1.0-", url, "1", sumA), "s.lock:3: deb make: version \"1.0-\": empty revision after '-'"},
		{"deb epoch", h + deb("make", "x:1.0", url, "1", sumA), "s.lock:3: deb make: version \"x:1.0\": the epoch before ':' must be a number"},
		{"deb url scheme", h + deb("make", "1", "http://example.invalid/make.deb", "1", sumA), "s.lock:3: deb make: got \"http://example.invalid/make.deb\", want mirror://NAME/POOLPATH ending in .deb"},
		{"deb url escape", h + deb("make", "1", "mirror://debian/../etc/x.deb", "1", sumA), "s.lock:3: deb make: pool path \"../etc/x.deb\" is not clean"},
		{"deb size", h + deb("make", "1", url, "012", sumA), "s.lock:3: deb make: got size \"012\", want a positive decimal number of bytes"},
		{"deb zero size", h + deb("make", "1", url, "0", sumA), "s.lock:3: deb make: got size \"0\", want a positive decimal number of bytes"},
		{"deb sum", h + deb("make", "1", url, "1", strings.ToUpper(sumB)), "s.lock:3: deb make: got sha256 \"" + strings.ToUpper(sumB) + "\", want 64 lower-case hex digits"},
		{"deb twice", h + deb("make", "1", url, "1", sumA) + deb("make", "2", url, "1", sumA), "s.lock:4: deb make is already pinned on line 3"},
		{"go", h + "go 1.26\n", "s.lock:3: go: got \"1.26\", want a Go release such as go1.26.8"},
		{"stage0 sums", h + "stage0 github.com/u-root/u-root v0.16.0 h1:x h1:y\n", "s.lock:3: stage0: got sums \"h1:x\" \"h1:y\", want the two h1: hashes go.sum lists for github.com/u-root/u-root v0.16.0 (module zip, then go.mod)"},
		{"stage0 version", h + "stage0 github.com/u-root/u-root 0.16 h1:x h1:y\n", "s.lock:3: stage0: github.com/u-root/u-root@0.16: invalid version: not a semantic version"},
		{"cmd without stage0", h + "go go1.26.8\ncmd hdo/sh /bin/sh\n", "s.lock:4: cmd lines need a stage0 line naming the module that provides them"},
		{"cmd without go", h + "stage0 github.com/u-root/u-root v0.16.0 h1:wY40O83MBVks97+Is0WlFlOPSwKQMIrWP9R1IsrExg8= h1:yL/XdSSW27PdGLgUh4MNRBy54mKM+TBLzpwiB4nwj90=\ncmd hdo/sh /bin/sh\n", "s.lock:4: cmd lines need a go line naming the toolchain that builds them, e.g. \"go go1.26.8\""},
		{"stage0 without cmd", h + s0, "s.lock:4: stage0 line without cmd lines; add cmd lines or remove it"},
		{"go without cmd", h + "go go1.26.8\nlink /a b\n", "s.lock:3: go line without cmd lines; it only names the toolchain that builds stage0 commands"},
		{"cmd name", h + s0 + "cmd hdo/sh /bin/bash\n", "s.lock:5: cmd: hdo/sh must be installed under its command name \"sh\", got /bin/bash (add a link line for other names)"},
		{"cmd relative", h + s0 + "cmd hdo/sh bin/sh\n", "s.lock:5: cmd: got \"bin/sh\", want a clean absolute path such as /bin/sh"},
		{"cmd unclean", h + s0 + "cmd hdo/sh /bin/../bin/sh\n", "s.lock:5: cmd: got \"/bin/../bin/sh\", want a clean absolute path such as /bin/sh"},
		{"cmd embedded", h + s0 + "cmd hdo/awk /bin/awk\n", "s.lock:5: cmd: hdo carries no command hdo/awk; the embedded commands are env, sh"},
		{"cmd module", h + s0 + "cmd example.org/x/cat /bin/cat\n", "s.lock:5: cmd: example.org/x/cat is not in the stage0 module github.com/u-root/u-root"},
		{"cmd twice", h + s0 + "cmd hdo/sh /bin/sh\ncmd hdo/sh /bin/sh\n", "s.lock:6: cmd: /bin/sh is already installed by line 5"},
		{"cmd same name", h + s0 + "cmd hdo/sh /bin/sh\ncmd github.com/u-root/u-root/cmds/core/sh /usr/bin/sh\n", "s.lock:6: cmd: hdo/sh and github.com/u-root/u-root/cmds/core/sh are both named \"sh\"; the multicall binary needs distinct names"},
		{"gotoolchain sum", h + "gotoolchain go1.26.8 abc\n", "s.lock:3: gotoolchain: got \"abc\", want the sha256 of the toolchain zip (64 lower-case hex digits)"},
		{"packages empty", h + "packages\n", "s.lock:3: packages: got no names, want \"packages NAME...\""},
		{"packages twice", h + "packages a1 a1\n", "s.lock:3: packages: a1 is listed twice"},
		{"link relative", h + "link usr/bin/cc gcc\n", "s.lock:3: link: got \"usr/bin/cc\", want a clean absolute path such as /bin/sh"},
		{"link root", h + "link / x\n", "s.lock:3: link: got \"/\", want a clean absolute path such as /bin/sh"},
		{"link twice", h + "link /a b\nlink /a c\n", "s.lock:4: link: /a is already linked on line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLock("s.lock", []byte(tc.text))
			if err == nil {
				t.Fatalf("ParseLock succeeded, want error %q", tc.want)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error: diff (-want +got):\n%s", diff)
			}
			var le *LockError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *LockError", err)
			}
		})
	}
}

func TestKey(t *testing.T) {
	base, err := ParseLock("a.lock", []byte(fullLock))
	if err != nil {
		t.Fatal(err)
	}
	key := base.Key()
	again, _ := ParseLock("b.lock", []byte(fullLock))
	if again.Key() != key {
		t.Errorf("same lock, different keys: %s and %s", key, again.Key())
	}
	// Comments and spacing are not part of the seed.
	recommented, err := ParseLock("a.lock", []byte(strings.ReplaceAll(fullLock, "# a test seed", "# another comment")+"# tail\n"))
	if err != nil {
		t.Fatal(err)
	}
	if recommented.Key() != key {
		t.Errorf("changing comments changed the key")
	}
	changed, err := ParseLock("a.lock", []byte(strings.ReplaceAll(fullLock, "link /usr/bin/cc gcc-12", "link /usr/bin/cc gcc-13")))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Key() == key {
		t.Errorf("changing a link kept the key %s", key)
	}
	in := string(base.KeyInputs())
	for _, want := range []string{"hdo-bootstrap 1\n", "embedded " + embeddedHash() + "\n", "link /usr/bin/cc gcc-12\n"} {
		if !strings.Contains(in, want) {
			t.Errorf("KeyInputs lack %q:\n%s", want, in)
		}
	}
}

func TestStage0LockTestdata(t *testing.T) {
	want := stage0LockFor("amd64")
	if *update {
		if err := os.WriteFile("testdata/stage0.lock", want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("testdata/stage0.lock")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("testdata/stage0.lock is stale (go test -run Stage0LockTestdata -update): diff (-want +got):\n%s", diff)
	}
	l, err := ParseLock("testdata/stage0.lock", got)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Cmds) != len(stage0Commands)+3 {
		t.Errorf("got %d cmds, want %d", len(l.Cmds), len(stage0Commands)+3)
	}
	if _, err := ParseLock("Stage0Lock", Stage0Lock()); err != nil {
		t.Error(err)
	}
}

func FuzzParseLock(f *testing.F) {
	f.Add([]byte(fullLock))
	f.Add(stage0LockFor("amd64"))
	f.Add([]byte("hdo-seed-lock 1\narch arm64\nlink /a b # c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock("f.lock", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.lock") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		out := l.Format()
		l2, err := ParseLock("f.lock", out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%q", err, out)
		}
		if out2 := l2.Format(); !bytes.Equal(out, out2) {
			t.Fatalf("Format not stable:\n%q\n%q", out, out2)
		}
		if l.Key() != l2.Key() {
			t.Fatalf("key changed across a round trip")
		}
	})
}
