package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/renameio/v2"
	"github.com/hdo-build/hdo/internal/archive"
)

// Entry is one package to publish.
type Entry struct {
	Name    string   // package dir name, e.g. make
	Version string   // e.g. 4.4.1; may be empty
	PkgHash string   // its .pkghash
	Tarball string   // path of its tarball, e.g. ./pkg/make/.pkg.tar.gz
	Closure []string // pkghashes of its run-time closure
}

// Publish copies each entry into the cache directory dir as
// <pkghash>.tar.gz and then <pkghash>.info (each written atomically, the
// .info last so it never points at a missing tarball), signed by key unless
// key is nil, and regenerates dir/index.html.
//
// An entry is skipped when dir already holds its pkghash: a valid .info and
// a tarball of the size that .info gives. When key is set and that .info lacks
// key's signature, the signature is added — but only when the entry's own
// tarball has the same content hash and closure, so that nothing is signed
// that was not checked; otherwise it is an error. Adding a signature counts
// as published.
func Publish(ctx context.Context, dir string, entries []Entry, key *SecretKey) (published, skipped int, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("publish: %w", err)
	}
	for _, e := range entries {
		if err = ctx.Err(); err != nil {
			break
		}
		var did bool
		did, err = publishOne(dir, e, key)
		if err != nil {
			err = fmt.Errorf("publish %s (%s): %w", e.Name, e.PkgHash, err)
			break
		}
		if did {
			published++
		} else {
			skipped++
		}
	}
	// The index lists what dir holds, so it is rewritten even after a failure.
	if ierr := WriteIndex(dir); ierr != nil {
		err = errors.Join(err, ierr)
	}
	return published, skipped, err
}

func publishOne(dir string, e Entry, key *SecretKey) (bool, error) {
	closure := slices.Sorted(slices.Values(e.Closure))
	// Check the entry before copying anything; the hashes are placeholders.
	probe := &Info{Name: e.Name, Version: e.Version, PkgHash: e.PkgHash, Size: 1, SHA256: e.PkgHash, Content: e.PkgHash, Closure: closure}
	if err := probe.check(); err != nil {
		return false, err
	}
	infoPath := filepath.Join(dir, e.PkgHash+".info")
	tarPath := filepath.Join(dir, e.PkgHash+".tar.gz")

	if old := readPublished(infoPath, tarPath, e.PkgHash); old != nil {
		if key == nil || key.Public().SignedBy(old) {
			return false, nil
		}
		content, err := archive.ContentHashFile(e.Tarball)
		if err != nil {
			return false, err
		}
		if old.Content != content || !slices.Equal(old.Closure, closure) {
			return false, fmt.Errorf("%s already holds this pkghash with other content or closure (content %s, ours %s), so it is not signed; remove %s and %s to republish",
				dir, old.Content, content, infoPath, tarPath)
		}
		// The tarball in dir must be what the .info says, or the
		// signature would vouch for bytes nobody checked.
		got, err := hashFile(tarPath)
		if err != nil {
			return false, fmt.Errorf("%w, so it is not signed; remove %s and %s to republish", err, infoPath, tarPath)
		}
		if got.SHA256 != old.SHA256 || got.Content != old.Content || got.Size != old.Size {
			return false, fmt.Errorf("%s does not match %s (sha256 %s, content %s; the .info says %s, %s), so it is not signed; remove both to republish",
				tarPath, infoPath, got.SHA256, got.Content, old.SHA256, old.Content)
		}
		key.Sign(old)
		return true, writeInfo(infoPath, old)
	}

	s, err := copyTarball(e.Tarball, tarPath)
	if err != nil {
		return false, err
	}
	in := &Info{Name: e.Name, Version: e.Version, PkgHash: e.PkgHash, Size: s.Size, SHA256: s.SHA256, Content: s.Content, Closure: closure}
	if key != nil {
		key.Sign(in)
	}
	return true, writeInfo(infoPath, in)
}

// readPublished returns the entry dir holds for pkghash, or nil when it is
// absent or unusable (then it is published again).
func readPublished(infoPath, tarPath, pkghash string) *Info {
	f, err := os.Open(infoPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	in, err := ReadInfo(f)
	if err != nil || in.PkgHash != pkghash {
		return nil
	}
	st, err := os.Stat(tarPath)
	if err != nil || !st.Mode().IsRegular() || st.Size() != in.Size {
		return nil
	}
	return in
}

// hashFile returns the sums of the gzipped tarball at path.
func hashFile(path string) (sums, error) {
	f, err := os.Open(path)
	if err != nil {
		return sums{}, err
	}
	defer f.Close()
	h := newHasher()
	if _, err := io.Copy(h, f); err != nil {
		h.abort()
		return sums{}, fmt.Errorf("read %s: %w", path, err)
	}
	s := h.finish()
	if s.GzipErr != nil {
		return sums{}, fmt.Errorf("%s is not a gzipped tarball: %v", path, s.GzipErr)
	}
	return s, nil
}

// copyTarball copies src to dst atomically, hashing it on the way.
func copyTarball(src, dst string) (sums, error) {
	f, err := os.Open(src)
	if err != nil {
		return sums{}, err
	}
	defer f.Close()
	pf, err := renameio.NewPendingFile(dst, renameio.WithTempDir(filepath.Dir(dst)), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return sums{}, err
	}
	defer pf.Cleanup()
	h := newHasher()
	if _, err := io.Copy(io.MultiWriter(pf, h), f); err != nil {
		h.abort()
		return sums{}, fmt.Errorf("copy %s: %w", src, err)
	}
	s := h.finish()
	if s.GzipErr != nil {
		return sums{}, fmt.Errorf("%s is not a gzipped tarball: %v", src, s.GzipErr)
	}
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return sums{}, err
	}
	return s, nil
}

func writeInfo(path string, in *Info) error {
	text, err := in.MarshalText()
	if err != nil {
		return err
	}
	return renameio.WriteFile(path, text, 0o644, renameio.WithTempDir(filepath.Dir(path)))
}

// WriteIndex regenerates dir/index.html, listing every valid entry in dir
// sorted by name, version and pkghash: its version, its size and that of
// its whole closure, the day it was published (its .info's mtime, UTC),
// the keys that signed it, and its closure as links to the members' rows.
// The same entries, published at the same times, give the same bytes.
func WriteIndex(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	var rows []*indexRow
	byHash := map[string]*indexRow{}
	for _, de := range des {
		h, ok := strings.CutSuffix(de.Name(), ".info")
		if !ok || !ValidHash(h) {
			continue
		}
		in := readPublished(filepath.Join(dir, de.Name()), filepath.Join(dir, h+".tar.gz"), h)
		if in == nil {
			continue
		}
		r := &indexRow{Info: in}
		if fi, err := de.Info(); err == nil {
			r.Published = fi.ModTime().UTC().Format("2006-01-02")
		}
		for _, sig := range in.Sigs {
			r.Keys = append(r.Keys, sig.Key)
		}
		rows = append(rows, r)
		byHash[h] = r
	}
	for _, r := range rows {
		r.Total = r.Size
		for _, m := range r.Closure {
			member := indexMember{PkgHash: m, Name: m[:12]}
			if mr := byHash[m]; mr != nil {
				member.Name, member.Here = mr.Name, true
				r.Total += mr.Size
			} else {
				r.Incomplete = true
			}
			r.Members = append(r.Members, member)
		}
	}
	slices.SortFunc(rows, func(a, b *indexRow) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.PkgHash, b.PkgHash)
	})
	var b bytes.Buffer
	if err := indexTemplate().Execute(&b, rows); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	p := filepath.Join(dir, "index.html")
	if err := renameio.WriteFile(p, b.Bytes(), 0o644, renameio.WithTempDir(dir)); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// indexRow is one package of index.html.
type indexRow struct {
	*Info
	Published  string // e.g. 2026-12-03
	Keys       []string
	Members    []indexMember // the closure, in the .info's order
	Total      int64         // bytes of the package and the closure members here
	Incomplete bool          // a closure member is not in this cache
}

// indexMember is a closure member, named if it is in the cache.
type indexMember struct {
	Name, PkgHash string
	Here          bool
}

// indexTemplate is parsed on first use, not at every hdo start.
var indexTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("index").Funcs(template.FuncMap{"size": humanBytes}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hdo binary cache</title>
<style>body{font-family:sans-serif}th,td{padding:0 1em 0 0;text-align:left;vertical-align:top}th.num,td.num{text-align:right}</style>
</head>
<body>
<h1>hdo binary cache</h1>
<p>{{len .}} packages. Each is <code>&lt;pkghash&gt;.tar.gz</code>, described by <code>&lt;pkghash&gt;.info</code>. Total is the package with its run-time closure.</p>
<table>
<tr><th>name</th><th>version</th><th class="num">size</th><th class="num">total</th><th>published</th><th>signed by</th><th>closure</th><th>pkghash</th></tr>
{{range .}}<tr id="{{.PkgHash}}"><td class="name"><a href="{{.PkgHash}}.tar.gz">{{or .Name "(unnamed)"}}</a></td><td class="version">{{.Version}}</td><td class="num size">{{size .Size}}</td><td class="num total">{{size .Total}}{{if .Incomplete}} +?{{end}}</td><td class="published">{{.Published}}</td><td class="keys">{{range $i, $k := .Keys}}{{if $i}}, {{end}}{{$k}}{{else}}unsigned{{end}}</td><td class="closure">{{range $i, $m := .Members}}{{if $i}}, {{end}}{{if $m.Here}}<a href="#{{$m.PkgHash}}">{{$m.Name}}</a>{{else}}<a href="{{$m.PkgHash}}.info">{{$m.Name}}</a>{{end}}{{end}}</td><td class="pkghash"><a href="{{.PkgHash}}.info"><code>{{.PkgHash}}</code></a></td></tr>
{{end}}</table>
</body>
</html>
`))
})
