package pkgrule

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hdo-build/hdo/bootstrap"
	"github.com/hdo-build/hdo/engine"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/zeebo/blake3"
)

// EncodingVersion is the version of the .pkghash encoding; it is the first
// line of every hashed stream.
const EncodingVersion = 1

// Input is one line of the hashed stream, with a note for people
// (hdo hash-inputs) that is not hashed.
type Input struct {
	Line string // hashed, followed by "\n"
	Note string // e.g. the dependency's package dir
}

// Hash computes a package's pkghash from its parsed files, the entries of
// its files/ dir and its dependencies' pkghashes (depHash maps a package
// dir to its .pkghash). It returns the hex hash and the inputs in order.
//
// The hashed stream is these lines, each ending in "\n":
//
//	hdo-pkghash 1
//	build <blake3 hex of the build script>       (a seed: seed <bootstrap.Lock.Key()>)
//	sum <sha256 hex> <Go-quoted file name>       one per sha256sums entry, sorted by name
//	files <blake3 hex of the files/ encoding>    see FilesHash
//	run-dep <pkghash>                            one per run-dep, sorted
//	build-dep <pkghash>                          one per build-dep, sorted
func Hash(root string, p *pkgspec.Package, files []pkgspec.FileEntry, depHash func(dir string) (string, error)) (string, []Input, error) {
	in := []Input{{Line: fmt.Sprintf("hdo-pkghash %d", EncodingVersion)}}
	if p.Seed {
		lock, err := bootstrap.ParseLock(path.Join(p.Dir, pkgtree.SeedLockFile), p.SeedLock)
		if err != nil {
			return "", nil, err
		}
		in = append(in, Input{Line: "seed " + lock.Key(), Note: fmt.Sprintf("%s: bootstrap format %d, lock without comments, stage0 sources", path.Join(p.Dir, pkgtree.SeedLockFile), bootstrap.FormatVersion)})
	} else {
		in = append(in, Input{Line: "build " + b3(p.Build), Note: fmt.Sprintf("%s, %d bytes", path.Join(p.Dir, pkgtree.BuildFile), len(p.Build))})
	}
	sums := append([]pkgspec.Sum(nil), p.Sums...)
	sort.Slice(sums, func(i, j int) bool { return sums[i].Name < sums[j].Name })
	for _, s := range sums {
		in = append(in, Input{Line: "sum " + s.SHA256 + " " + strconv.Quote(s.Name)})
	}
	fh, flines, err := FilesHash(root, files)
	if err != nil {
		return "", nil, err
	}
	in = append(in, Input{Line: "files " + fh, Note: fmt.Sprintf("%d entries", len(flines))})
	for _, dep := range []struct {
		kind string
		dirs []string
	}{{"run-dep", p.RunDeps}, {"build-dep", p.BuildDeps}} {
		var deps []Input
		for _, d := range dep.dirs {
			h, err := depHash(d)
			if err != nil {
				return "", nil, err
			}
			deps = append(deps, Input{Line: dep.kind + " " + h, Note: d})
		}
		sort.Slice(deps, func(i, j int) bool { return deps[i].Line < deps[j].Line })
		in = append(in, deps...)
	}
	h := blake3.New()
	for _, i := range in {
		io.WriteString(h, i.Line+"\n")
	}
	return hex.EncodeToString(h.Sum(nil)), in, nil
}

// FilesHash hashes the entries of a files/ dir (as pkgspec.ListFiles
// returns them, sorted by path): blake3 hex of "hdo-files 1\n" followed by
// one line per entry, each ending in "\n":
//
//	d <Go-quoted path>                            a directory
//	f <x or -> <Go-quoted path> <blake3 hex>      a file, x if executable, and its content
//	l <Go-quoted path> <Go-quoted target>         a symlink
//
// Paths are relative to files/, slash-separated. It also returns the lines.
func FilesHash(root string, files []pkgspec.FileEntry) (string, []string, error) {
	h := blake3.New()
	io.WriteString(h, "hdo-files 1\n")
	var lines []string
	for _, f := range files {
		var line string
		switch f.Kind {
		case pkgspec.KindDir:
			line = "d " + strconv.Quote(f.Rel)
		case pkgspec.KindSymlink:
			line = "l " + strconv.Quote(f.Rel) + " " + strconv.Quote(f.Target)
		default:
			sum, err := b3File(filepath.Join(root, filepath.FromSlash(f.Path)))
			if err != nil {
				return "", nil, err
			}
			x := "-"
			if f.Exec {
				x = "x"
			}
			line = "f " + x + " " + strconv.Quote(f.Rel) + " " + sum
		}
		lines = append(lines, line)
		io.WriteString(h, line+"\n")
	}
	return hex.EncodeToString(h.Sum(nil)), lines, nil
}

func b3(b []byte) string {
	s := blake3.Sum256(b)
	return hex.EncodeToString(s[:])
}

func b3File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := blake3.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildPkgHash is the .pkghash rule.
func buildPkgHash(ctx context.Context, j *engine.Job, dir string) ([]byte, error) {
	p, err := load(ctx, j, dir)
	if err != nil {
		return nil, err
	}
	files, err := pkgspec.ListFiles(j.Root(), dir)
	if err != nil {
		return nil, err
	}
	if err := dependOnFiles(ctx, j, dir, files); err != nil {
		return nil, err
	}
	var targets []string
	for _, d := range append(append([]string(nil), p.RunDeps...), p.BuildDeps...) {
		targets = append(targets, path.Join(d, pkgtree.PkgHashFile))
	}
	contents, err := readTargets(ctx, j, targets)
	if err != nil {
		return nil, err
	}
	hashes := map[string]string{}
	for i, t := range targets {
		hashes[path.Dir(t)] = strings.TrimSpace(string(contents[i]))
	}
	sum, _, err := Hash(j.Root(), p, files, func(d string) (string, error) {
		h, ok := hashes[d]
		if !ok || !pkgtree.IsHex64(h) {
			return "", fmt.Errorf("%s/%s: not a pkghash", d, pkgtree.PkgHashFile)
		}
		return h, nil
	})
	if err != nil {
		return nil, err
	}
	return []byte(sum + "\n"), nil
}

// dependOnFiles records files/ and everything in it as inputs: each file's
// content, and each directory's listing so that added entries are seen.
func dependOnFiles(ctx context.Context, j *engine.Job, dir string, files []pkgspec.FileEntry) error {
	top := path.Join(dir, pkgtree.FilesDir)
	if len(files) == 0 {
		if st, err := os.Lstat(j.Abs(top)); err != nil || !st.IsDir() {
			return j.IfCreate(top)
		}
	}
	deps := []string{top}
	for _, f := range files {
		if f.Kind != pkgspec.KindSymlink {
			deps = append(deps, f.Path)
		}
	}
	return j.IfChange(ctx, false, deps...)
}
