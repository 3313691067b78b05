package bootstrap

import (
	"archive/tar"
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hdo-build/hdo/internal/rmtree"
)

// debData is the data.tar of the test package: directories, files with
// several modes (setuid dropped), a symlink, a hard link and a device node
// (left out).
var debData = []entry{
	dirEntry("./", 0o755),
	dirEntry("./usr/", 0o755),
	dirEntry("./usr/bin/", 0o755),
	file("./usr/bin/hello", 0o4755, "#!/bin/sh\necho hello\n"),
	symlink("./usr/bin/hi", "hello"),
	{name: "./usr/bin/hello2", typ: tar.TypeLink, body: "./usr/bin/hello"},
	dirEntry("./usr/share/", 0o755),
	file("./usr/share/odd", 0o640, "x"),
	dirEntry("./tmp/", 0o1777),
	dirEntry("./ro/", 0o555),
	file("./ro/f", 0o444, "read only"),
	{name: "./dev/null", typ: tar.TypeChar, mode: 0o666, devmajor: 1},
}

var debTree = []string{
	"d 0555 ro",
	"d 0755 usr",
	"d 0755 usr/bin",
	"d 0755 usr/share",
	"d 1777 tmp",
	"f 0444 ro/f = read only",
	"f 0640 usr/share/odd = x",
	"f 0755 usr/bin/hello = #!/bin/sh\necho hello\n",
	"f 0755 usr/bin/hello2 = #!/bin/sh\necho hello\n",
	"l usr/bin/hi -> hello",
}

func TestReadDeb(t *testing.T) {
	for _, ext := range []string{".xz", ".zst", ".gz", ""} {
		t.Run("data.tar"+ext, func(t *testing.T) {
			deb := makeDeb(t, "hello", "1:2.0-1", ext, debData)
			dir := t.TempDir()
			r := testRoot(t, dir)
			control, err := readDeb(bytes.NewReader(deb), r.extractTar)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.finish(); err != nil {
				t.Fatal(err)
			}
			defer rmtree.Remove(dir)
			want := Paragraph{"package": "hello", "version": "1:2.0-1", "architecture": "amd64",
				"maintainer": "Test <t@example.invalid>", "description": "test package\nlong description"}
			if diff := cmp.Diff(want, control); diff != "" {
				t.Errorf("control: diff (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(debTree, listTree(t, dir)); diff != "" {
				t.Errorf("extracted tree: diff (-want +got):\n%s", diff)
			}
			if r.dropped != 1 {
				t.Errorf("dropped %d device nodes, want 1", r.dropped)
			}
		})
	}
}

func TestReadDebErrors(t *testing.T) {
	good := makeDeb(t, "p1", "1", ".xz", []entry{file("a", 0o644, "a")})
	ctl := compress(t, ".gz", makeTar(t, []entry{file("./control", 0o644, "Package: p1\nVersion: 1\n")}))
	data := compress(t, ".xz", makeTar(t, []entry{file("a", 0o644, "a")}))
	for _, tc := range []struct {
		name string
		deb  []byte
		want string
	}{
		{"not ar", []byte("PK\x03\x04 something"), "not an ar archive (a .deb starts with \"!<arch>\\n\")"},
		{"truncated", good[:len(good)-10], "unexpected EOF"},
		{"bad header", append([]byte(arMagic), bytes.Repeat([]byte{' '}, 60)...), "ar member header: bad terminator"},
		{"first member", makeAr([]arMember{{"control.tar.gz", ctl}}), "first member is \"control.tar.gz\", want debian-binary"},
		{"format 3", makeAr([]arMember{{"debian-binary", []byte("3.0\n")}}), "deb format \"3.0\" is not supported; want 2.x"},
		{"no data", makeAr([]arMember{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", ctl}}), "no data.tar member"},
		{"data first", makeAr([]arMember{{"debian-binary", []byte("2.0\n")}, {"data.tar.xz", data}}), "data.tar.xz comes before the control member"},
		{"compression", makeAr([]arMember{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", ctl}, {"data.tar.lz4", data}}), "data.tar.lz4: compression \".lz4\" is not supported"},
		{"stray member", makeAr([]arMember{{"debian-binary", []byte("2.0\n")}, {"evil", nil}}), "unexpected member \"evil\""},
		{"no control file", makeAr([]arMember{{"debian-binary", []byte("2.0\n")}, {"control.tar.gz", compress(t, ".gz", makeTar(t, []entry{file("./md5sums", 0o644, "")}))}}), "control.tar.gz: no control file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readDeb(bytes.NewReader(tc.deb), testRoot(t, t.TempDir()).extractTar)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readDeb error = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestExtractHardening checks that no entry writes outside the root or
// through a symlink.
func TestExtractHardening(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dotdot", []entry{file("../escape", 0o644, "x")}, `entry "../escape": path escapes the destination`},
		{"inner dotdot", []entry{file("a/../../escape", 0o644, "x")}, `entry "a/../../escape": path escapes the destination`},
		{"through symlink dir", []entry{symlink("lib", ".."), file("lib/passwd", 0o644, "x")}, "/lib/passwd: parent /lib is a symlink; seeds never write through symlinks"},
		{"through nested symlink", []entry{dirEntry("a", 0o755), symlink("a/up", "../.."), file("a/up/x", 0o644, "x")}, "/a/up/x: parent /a/up is a symlink"},
		{"file as parent", []entry{file("f", 0o644, "x"), file("f/g", 0o644, "y")}, "/f/g: parent /f is not a directory"},
		{"file over dir", []entry{dirEntry("d", 0o755), file("d", 0o644, "x")}, "/d: a directory is in the way"},
		{"dir over symlink", []entry{symlink("d", ".."), dirEntry("d", 0o755)}, "/d: a symlink is in the way of a directory"},
		{"hard link escape", []entry{{name: "h", typ: tar.TypeLink, body: "../../etc/passwd"}}, `entry "../../etc/passwd": path escapes the destination`},
		{"hard link missing", []entry{{name: "h", typ: tar.TypeLink, body: "nothere"}}, "/h: hard link to /nothere"},
		{"hard link to symlink", []entry{symlink("s", "../x"), {name: "h", typ: tar.TypeLink, body: "s"}}, "/h: hard link to /s, which is a symlink"},
		{"long name", []entry{file(strings.Repeat("n", 256), 0o644, "x")}, "path component is 256 bytes long, over the limit of 255"},
		{"file as root", []entry{file(".", 0o644, "x")}, `entry ".": a file cannot be the root`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := t.TempDir()
			dir := outer + "/root"
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			r := testRoot(t, dir)
			err := r.extractTar(tar.NewReader(bytes.NewReader(makeTar(t, tc.entries))))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("extract error = %v, want %q", err, tc.want)
			}
			for _, e := range listTree(t, outer) {
				if !strings.HasPrefix(e, "d 0755 root") && !strings.Contains(e, " root/") {
					t.Errorf("written outside the root: %s", e)
				}
			}
		})
	}
}

// testRoot opens the existing directory dir as a root, closed at the end
// of the test.
func testRoot(t testing.TB, dir string) *root {
	t.Helper()
	r, err := openRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.close() })
	return r
}

func TestExtractReplaces(t *testing.T) {
	dir := t.TempDir()
	r := testRoot(t, dir)
	steps := [][]entry{
		{file("etc/conf", 0o644, "old"), symlink("bin/sh", "dash"), file("bin/x", 0o755, "x")},
		// A later package replaces files and symlinks, never directories.
		{file("etc/conf", 0o600, "new"), symlink("bin/x", "sh"), file("bin/sh", 0o755, "sh")},
		// An explicit directory entry sets the mode of an implicit parent.
		{dirEntry("etc", 0o700)},
	}
	for _, s := range steps {
		if err := r.extractTar(tar.NewReader(bytes.NewReader(makeTar(t, s)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"d 0700 etc",
		"d 0755 bin",
		"f 0600 etc/conf = new",
		"f 0755 bin/sh = sh",
		"l bin/x -> sh",
	}
	if diff := cmp.Diff(want, listTree(t, dir)); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
}

func TestReadParagraphs(t *testing.T) {
	in := "Package: a\nDepends: b,\n c (>= 1)\nDescription: x\n y\n .\n z\n\n\nPackage: b\nVersion: 1\n"
	var got []Paragraph
	err := readParagraphs(strings.NewReader(in), func(p Paragraph) error {
		got = append(got, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Paragraph{
		{"package": "a", "depends": "b,\nc (>= 1)", "description": "x\ny\n.\nz"},
		{"package": "b", "version": "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	for _, bad := range []string{" leading continuation\n", "NoColon\n", "Two Words: x\n"} {
		if err := readParagraphs(strings.NewReader(bad), func(Paragraph) error { return nil }); err == nil {
			t.Errorf("readParagraphs(%q) succeeded, want an error", bad)
		}
	}
}
