package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/cache"
	"github.com/rogpeppe/go-internal/txtar"
)

// pwned is the name every hostile case aims at outside where it may
// write; no file of that name may appear anywhere.
const pwned = "hdo-hostile-pwned"

// secret is what the sentinel dir beside a case's tree holds; it may not
// be copied anywhere (a target, a log, the store, the source cache).
const secret = "host secret 5c1d0f\n"

// hostileCase is one case of testdata/hostile: a txtar archive whose
// comment says what it attacks, with these files:
//
//	args    the hdo command line, one word per line (run in the tree)
//	want    a regexp the first line of stderr must match, after leaving out
//	        the notes a hostile tree rightly causes (see benignRE)
//	exit    the exit status, if not 1
//	craft   what a text file cannot hold, one command per line (see craft)
//	env     NAME=value lines added to hdo's environment
//
// and the tree's files. @OUTER in craft and env stands for the directory
// holding the case's dir and the sentinel.
type hostileCase struct {
	name  string
	args  []string
	want  *regexp.Regexp
	exit  int
	craft []string
	env   []string
	files []txtar.File
}

// benignRE matches notes that are right for a hostile tree but not the
// error a case is about.
var benignRE = regexp.MustCompile(`exists and was not built by hdo; using it as a source|HDO_TRUSTED_KEYS is not set|plain http and no HDO_TRUSTED_KEYS|^bootstrap: |^pkg/\S+: from the binary cache \(`)

// noNetwork points the Debian mirrors at a closed port of the loopback, so
// that no case can send a packet out (a seed lock names .debs there).
var noNetwork = []string{"HDO_MIRROR_DEBIAN=http://127.0.0.1:1", "HDO_MIRROR_DEBIAN_SECURITY=http://127.0.0.1:1"}

func loadHostile(t *testing.T, file string) *hostileCase {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	c := &hostileCase{name: strings.TrimSuffix(filepath.Base(file), ".txtar"), exit: 1}
	for _, f := range ar.Files {
		text := strings.TrimSuffix(string(f.Data), "\n")
		switch f.Name {
		case "args":
			c.args = strings.Split(text, "\n")
		case "want":
			c.want, err = regexp.Compile(text)
			if err != nil {
				t.Fatalf("%s: want: %v", file, err)
			}
		case "exit":
			if c.exit, err = strconv.Atoi(text); err != nil {
				t.Fatalf("%s: exit: %v", file, err)
			}
		case "craft":
			c.craft = strings.Split(text, "\n")
		case "env":
			c.env = strings.Split(text, "\n")
		default:
			c.files = append(c.files, f)
		}
	}
	if c.args == nil || c.want == nil || len(ar.Comment) == 0 {
		t.Fatalf("%s: a case needs a comment saying what it attacks, args and want", file)
	}
	return c
}

// TestHostile runs hdo on every case of testdata/hostile: malformed or
// malicious package dirs, fetch files, sha256sums, deps files, seed
// locks, .info files, tarballs in the tree and in a binary cache. Each
// must end with its one-line error (or its exit status), never a panic,
// and write nothing outside its temp dir: a sentinel dir beside the
// tree stays as it was, nothing else appears beside them, and no file
// named hdo-hostile-pwned appears there, in / or in /tmp.
func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hdo on many trees")
	}
	files, err := filepath.Glob("testdata/hostile/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Errorf("%d hostile cases, want at least 40", len(files))
	}
	for _, file := range files {
		c := loadHostile(t, file)
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func (c *hostileCase) run(t *testing.T) {
	outer := t.TempDir()
	sentinel := filepath.Join(outer, "sentinel")
	writeSentinel(t, sentinel)
	before := dirSum(t, sentinel)
	h := newHdoTree(t, filepath.Join(outer, "case"))
	for _, f := range c.files {
		p := filepath.Join(h.root, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cr := &crafter{t: t, h: h, outer: outer}
	for _, line := range c.craft {
		cr.do(strings.ReplaceAll(line, "@OUTER", outer))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, realHdo(t), c.args...)
	cmd.Dir = h.root
	cmd.Env = h.env(append(noNetwork, cr.env...)...)
	for _, e := range c.env {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(e, "@OUTER", outer))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	all := stdout.String() + stderr.String()
	if strings.Contains(all, "goroutine ") || strings.Contains(all, "panic:") || strings.Contains(all, "fatal error:") {
		t.Fatalf("hdo crashed:\n%s", all)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("hdo: %v", err)
	}
	first := ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l != "" && !benignRE.MatchString(l) {
			first = l
			break
		}
	}
	if code != c.exit || !c.want.MatchString(first) {
		t.Errorf("hdo %s: exit status %d, first line\n\t%s\nwant exit status %d and a line matching\n\t%s\nstderr:\n%s",
			strings.Join(c.args, " "), code, first, c.exit, c.want, stderr.Bytes())
	}

	// Nothing written outside.
	if after := dirSum(t, sentinel); after != before {
		t.Errorf("the sentinel dir beside the tree changed")
	}
	des, err := os.ReadDir(outer)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if !slices.Equal(names, []string{"case", "sentinel"}) {
		t.Errorf("beside the tree: %v, want only case and sentinel", names)
	}
	for _, dir := range []string{"/", "/tmp", os.TempDir()} {
		if _, err := os.Lstat(filepath.Join(dir, pwned)); err == nil {
			os.Remove(filepath.Join(dir, pwned))
			t.Errorf("%s appeared in %s", pwned, dir)
		}
	}
	filepath.WalkDir(outer, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.HasPrefix(d.Name(), pwned) {
			t.Errorf("%s appeared", p)
		}
		if d.Type().IsRegular() && !strings.HasPrefix(p, sentinel+"/") {
			b, err := os.ReadFile(p)
			if err == nil && strings.HasSuffix(p, ".tar.gz") {
				// A package that leaked the secret holds it compressed.
				if zr, zerr := gzip.NewReader(bytes.NewReader(b)); zerr == nil {
					if u, rerr := io.ReadAll(io.LimitReader(zr, 64<<20)); rerr == nil {
						b = append(b, u...)
					}
				}
			}
			if err == nil && bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret of the sentinel dir", p)
			}
		}
		if fi, err := d.Info(); err == nil && fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			t.Errorf("%s is %v: no setuid or setgid file may come out of a package", p, fi.Mode())
		}
		return nil
	})
	removeAllWritable(outer) // the store keeps packages read-only
}

// writeSentinel makes the dir a hostile tree aims at from beside it: a
// secret and a package, as an escaping dependency would find them.
func writeSentinel(t *testing.T, dir string) {
	t.Helper()
	for name, text := range map[string]string{
		"secret":                secret,
		"pkg/evil/build":        "echo evil\n",
		"pkg/evil/.pkg.tar.gz":  "not a tarball\n",
		"pkg/evil/.pkghash":     strings.Repeat("ab", 32) + "\n",
		"pkg/evil/files/secret": secret,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dirSum is a hash of every path, mode, size, mtime and content under dir.
func dirSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			fmt.Fprintf(h, "%s: %v\n", p, err)
			return nil
		}
		fmt.Fprintf(h, "%s %v %d %d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

// crafter makes what a txtar cannot hold.
type crafter struct {
	t     *testing.T
	h     *hdoTree
	outer string
	env   []string
	srv   *httptest.Server
}

// do runs one craft command:
//
//	stage0 DIR               DIR is a stage0 seed package, the seed in the cache
//	symlink PATH TARGET      a symlink in the tree
//	hardlink PATH TARGET     a hard link in the tree to TARGET
//	fifo PATH                a named pipe in the tree
//	device PATH              a character device (root only; skips otherwise)
//	write PATH "GO STRING"   a file with exactly these bytes (NULs, ...)
//	sparse PATH SIZE         a file of SIZE bytes that takes no disk
//	tar PATH KIND            a hostile package tarball (see hostileTarball)
//	cache PKGDIR KIND        serve a binary cache holding, for PKGDIR's
//	                         pkghash, the tarball KIND and a .info matching
//	                         it (KIND "info:TEXT" serves TEXT as the .info)
func (c *crafter) do(line string) {
	t := c.t
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("craft %q: too short", line)
	}
	p := filepath.Join(c.h.root, filepath.FromSlash(f[1]))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var err error
	switch f[0] {
	case "stage0":
		installStage0(t, c.h.cache)
		if err = os.MkdirAll(p, 0o755); err == nil {
			err = os.WriteFile(filepath.Join(p, "seed.lock"), bootstrap.Stage0Lock(), 0o644)
		}
	case "symlink":
		err = os.Symlink(f[2], p)
	case "hardlink":
		err = os.Link(f[2], p)
	case "fifo":
		err = syscall.Mkfifo(p, 0o644)
	case "device":
		if os.Getuid() != 0 {
			t.Skip("making a device node needs root")
		}
		err = syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3)
	case "write":
		var s string
		s, err = strconv.Unquote(strings.TrimSpace(strings.TrimPrefix(line, f[0]+" "+f[1])))
		if err == nil {
			err = os.WriteFile(p, []byte(s), 0o644)
		}
	case "sparse":
		var n int64
		if n, err = strconv.ParseInt(f[2], 0, 64); err == nil {
			if err = os.WriteFile(p, nil, 0o644); err == nil {
				err = os.Truncate(p, n)
			}
		}
	case "tar":
		err = os.WriteFile(p, hostileTarball(t, f[2]), 0o644)
	case "cache":
		c.serveCache(f[1], strings.TrimPrefix(line, f[0]+" "+f[1]+" "))
	default:
		t.Fatalf("craft %q: unknown command", line)
	}
	if err != nil {
		t.Fatalf("craft %q: %v", line, err)
	}
}

// serveCache computes the pkghash of the package dir with hdo, then
// serves a cache whose entry for it holds the hostile tarball kind under
// an .info that matches it, or the .info text given after "info:".
func (c *crafter) serveCache(dir, kind string) {
	t := c.t
	c.h.run(t, "-q", dir+"/.pkghash")
	hash := strings.TrimSpace(string(readFile(t, filepath.Join(c.h.root, dir, ".pkghash"))))
	// The pkghashes were only needed for this value: start afresh.
	made, _ := filepath.Glob(filepath.Join(c.h.root, "pkg", "*", ".pkghash"))
	for _, m := range made {
		os.Remove(m)
	}
	os.RemoveAll(filepath.Join(c.h.root, ".hdo"))
	os.Mkdir(filepath.Join(c.h.root, ".hdo"), 0o755)
	files := map[string][]byte{}
	if text, ok := strings.CutPrefix(kind, "info:"); ok {
		s, err := strconv.Unquote(text)
		if err != nil {
			t.Fatalf("cache %s %s: %v", dir, kind, err)
		}
		files[hash+".info"] = []byte(strings.ReplaceAll(s, "@HASH", hash))
		files[hash+".tar.gz"] = hostileTarball(t, "fine")
	} else {
		tgz := hostileTarball(t, kind)
		content, err := archive.ContentHash(bytes.NewReader(tgz))
		if err != nil {
			content = strings.Repeat("0", 64) // not a tarball: the sum still matches
		}
		info := &cache.Info{Name: filepath.Base(dir), PkgHash: hash, Size: int64(len(tgz)), SHA256: sha256Hex(tgz), Content: content}
		text, err := info.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		files[hash+".info"], files[hash+".tar.gz"] = text, tgz
	}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[filepath.Base(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(c.srv.Close)
	c.env = append(c.env, "HDO_CACHE_URL="+c.srv.URL)
}

// tarEntry is one entry of a crafted tarball.
type tarEntry struct {
	name, link string
	typ        byte
	mode       int64
	body       string
	size       int64 // header size if not len(body)
}

// hostileTarball returns a gzipped tarball of the given kind; every
// escape aims at a file named hdo-hostile-pwned.
func hostileTarball(t *testing.T, kind string) []byte {
	t.Helper()
	file := func(name, body string) tarEntry { return tarEntry{name: name, body: body, mode: 0o644} }
	var ents []tarEntry
	switch kind {
	case "fine":
		ents = []tarEntry{{name: "share/", typ: tar.TypeDir, mode: 0o755}, file("share/ok", "ok\n")}
	case "traversal":
		ents = []tarEntry{file("share/ok", "ok\n"), file("../../../../"+pwned, "pwned\n")}
	case "absolute":
		ents = []tarEntry{file("/tmp/"+pwned, "pwned\n")}
	case "symlink-escape":
		ents = []tarEntry{{name: "lib", typ: tar.TypeSymlink, link: "/tmp"}, file("lib/"+pwned, "pwned\n")}
	case "symlink-dotdot":
		ents = []tarEntry{{name: "up", typ: tar.TypeSymlink, link: "../../../.."}, file("up/"+pwned, "pwned\n")}
	case "hardlink-escape":
		ents = []tarEntry{{name: pwned, typ: tar.TypeLink, link: "../../../../sentinel/secret"}}
	case "hardlink-absolute":
		ents = []tarEntry{{name: pwned, typ: tar.TypeLink, link: "/etc/passwd"}}
	case "device":
		ents = []tarEntry{{name: "dev/" + pwned, typ: tar.TypeChar, mode: 0o666}}
	case "fifo":
		ents = []tarEntry{{name: pwned, typ: tar.TypeFifo, mode: 0o644}}
	case "setuid":
		ents = []tarEntry{{name: "bin/", typ: tar.TypeDir, mode: 0o755}, {name: "bin/su", body: "#!/bin/sh\n", mode: 0o4755}}
	case "nul-name":
		// A name longer than 100 bytes goes in a PAX record; its Z
		// becomes a NUL below, which archive/tar would not write.
		ents = []tarEntry{file("share/"+strings.Repeat("a", 100)+"Z/../../../../../"+pwned, "pwned\n")}
	case "huge-size":
		ents = []tarEntry{{name: "share/big", mode: 0o644, body: "x", size: 1 << 40}}
	case "bomb":
		ents = []tarEntry{file("share/zeros", strings.Repeat("\x00", 32<<20))}
	case "deep":
		ents = []tarEntry{file(strings.Repeat("d/", 300)+"f", "deep\n")}
	case "long-name":
		ents = []tarEntry{file("share/"+strings.Repeat("n", 300), "long\n")}
	case "not-gzip":
		return []byte("this is not a gzip stream\n")
	case "truncated":
		tgz := hostileTarball(t, "fine")
		return tgz[:len(tgz)/2]
	default:
		t.Fatalf("unknown hostile tarball %q", kind)
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range ents {
		size := int64(len(e.body))
		if e.size != 0 {
			size = e.size
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: size, Format: tar.FormatPAX}
		if e.typ == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("tarball %s: %v", kind, err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Flush() // no Close: a short body (huge-size) would make it fail
	data := raw.Bytes()
	if kind == "nul-name" {
		data = bytes.ReplaceAll(data, []byte("aZ/"), []byte("a\x00/"))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	return gz.Bytes()
}
