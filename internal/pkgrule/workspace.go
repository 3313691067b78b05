package pkgrule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/hdo-build/hdo/internal/cachedir"
	"github.com/hdo-build/hdo/internal/fetch"
	"github.com/hdo-build/hdo/internal/pkgspec"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
	"github.com/hdo-build/hdo/internal/store"
	"github.com/hdo-build/hdo/sandbox"
)

// SourceDateEpoch is the SOURCE_DATE_EPOCH of every build (1980-01-01, the
// earliest date zip and some compilers accept).
const SourceDateEpoch = 315532800

// workspace is one build's directory on the host:
//
//	<dir>/home     /home/build: fetched files and files/, the working directory
//	<dir>/dest     /destdir: what the build installs
//	<dir>/script   a layer holding /.hdo/build, the build script, and
//	               /.hdo/bin/make (see makeShim)
type workspace struct {
	dir, home, dest, script string
	layers                  []sandbox.Layer
	seedArgs                []string // how to run the build script
	limits                  limits
}

// limits are a build's sandbox limits: sandbox.Config's TmpSize,
// MemoryMax, PidsMax and LimitsBestEffort.
type limits struct {
	tmp, memory, pids int64
	bestEffort        bool
}

// prepare assembles everything a build of p needs: its build closure
// unpacked in the store (and checked for conflicts), its sources fetched
// and verified, and a fresh workspace holding them.
//
// fileHash gives the recorded hash of a root-relative tarball ("": the
// store hashes it), and log hears of a store entry replaced.
func (t *tarball) prepare(ctx context.Context, root string, p *pkgspec.Package, pkghash string, buildDirs, buildHashes []string, fileHash func(rel string) string, log io.Writer) (*workspace, error) {
	st, err := t.openStore()
	if err != nil {
		return nil, err
	}
	members := make([]store.Member, len(buildDirs))
	for i, d := range buildDirs {
		tgz := path.Join(d, pkgtree.TarballFile)
		members[i] = store.Member{Name: d, PkgHash: buildHashes[i], Tarball: filepath.Join(root, filepath.FromSlash(tgz))}
		if fileHash != nil {
			members[i].FileHash = fileHash(tgz)
		}
	}
	dirs, err := st.EnsureRoot(ctx, members, store.RootOptions{
		Owner: sandbox.BuildOwner,
		Replaced: func(m store.Member) {
			fmt.Fprintf(log, "%s: the store held other content for package %s; replaced it with %s's\n", m.Name, m.PkgHash, path.Join(m.Name, pkgtree.TarballFile))
		},
	})
	if err != nil {
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s: the build closure cannot share one root: %w", p.Dir, err)
		}
		return nil, err
	}
	layers := make([]sandbox.Layer, len(dirs))
	for i, dir := range dirs {
		layers[i] = sandbox.Layer{Name: buildDirs[i], Dir: dir}
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("%s: nothing to build with: build-deps is empty, so the sandbox would have no /bin/sh (add a seed package, e.g. ../seed, to build-deps)", p.Dir)
	}
	var paths []string
	if len(p.Sources) > 0 {
		srcs := make([]fetch.Source, len(p.Sources))
		for i, s := range p.Sources {
			srcs[i] = fetch.Source{Name: s.Name, SHA256: s.SHA256, URLs: s.URLs, Origin: s.Origin, SumOrigin: s.SumOrigin}
		}
		// The error names the fetch or sha256sums line.
		if paths, err = t.cfg.Fetcher.Fetch(ctx, srcs); err != nil {
			return nil, err
		}
	}

	base := cachedir.Dir(t.cfg.CacheDir).Builds()
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, path.Base(p.Dir)+"-"+pkghash[:12]+"-")
	if err != nil {
		return nil, err
	}
	ws := &workspace{
		dir:    dir,
		home:   filepath.Join(dir, "home"),
		dest:   filepath.Join(dir, "dest"),
		script: filepath.Join(dir, "script"),
		limits: t.cfg.limits(),
	}
	fail := func(err error) (*workspace, error) {
		rmtree.Remove(dir)
		return nil, err
	}
	for _, d := range []string{ws.home, ws.dest, filepath.Join(ws.script, filepath.FromSlash(ShimDir))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
	}
	for i, s := range p.Sources {
		if err := copyFile(paths[i], filepath.Join(ws.home, s.Name), 0o644); err != nil {
			return fail(err)
		}
	}
	if err := copyTree(filepath.Join(root, filepath.FromSlash(path.Join(p.Dir, pkgtree.FilesDir))), ws.home); err != nil {
		return fail(fmt.Errorf("%s: files: %w", p.Dir, err))
	}
	if err := os.WriteFile(filepath.Join(ws.script, ".hdo", "build"), p.Build, 0o755); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(ws.script, filepath.FromSlash(ShimDir), "make"), []byte(makeShim), 0o755); err != nil {
		return fail(err)
	}
	ws.layers = append([]sandbox.Layer{{Name: p.Dir + " build script", Dir: ws.script}}, layers...)
	ws.seedArgs = []string{"/bin/sh", "-e", "/.hdo/build"}
	if strings.HasPrefix(string(p.Build), "#!") {
		ws.seedArgs = []string{"/.hdo/build"}
	}
	return ws, nil
}

// Env is the environment of every build, nothing inherited, plus the
// jobserver words for MAKEFLAGS.
func Env(makeflags string) []string {
	makeflags = strings.TrimSpace(makeflags)
	auth := ""
	for _, w := range strings.Fields(makeflags) {
		if a, ok := strings.CutPrefix(w, "--jobserver-auth="); ok {
			auth = a
		}
	}
	return []string{
		"HOME=/home/build",
		"PATH=" + ShimDir + ":/bin:/usr/bin:/sbin:/usr/sbin",
		"TMPDIR=/tmp",
		"DESTDIR=/destdir",
		fmt.Sprintf("SOURCE_DATE_EPOCH=%d", SourceDateEpoch),
		"TZ=UTC",
		"LC_ALL=C",
		"USER=build",
		"LOGNAME=build",
		"MAKEFLAGS=" + makeflags,
		"PKG_JOBSERVER=" + auth,
	}
}

// sandboxConfig is the sandbox of the build in ws.
func (ws *workspace) sandboxConfig(makeflags string, files []*os.File, timeout time.Duration) *sandbox.Config {
	return &sandbox.Config{
		Layers:     ws.layers,
		Work:       ws.home,
		DestDir:    ws.dest,
		Args:       ws.seedArgs,
		Env:        Env(makeflags),
		ExtraFiles: files,
		Timeout:    timeout,
		TmpSize:    ws.limits.tmp,
		MemoryMax:  ws.limits.memory,
		PidsMax:    ws.limits.pids,

		LimitsBestEffort: ws.limits.bestEffort,
	}
}

// copyFile copies src to dst (created or truncated) with mode.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// copyTree copies the tree at src (if it exists) into dst: directories,
// files with their exec bits, and symlinks as they are.
func copyTree(src, dst string) error {
	if _, err := os.Lstat(src); os.IsNotExist(err) {
		return nil
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			return copyFile(p, target, mode)
		}
		return fmt.Errorf("%s: not a file, directory or symlink", p)
	})
}

// sanitizeTree makes a failed build's work dir, kept for its author, safe
// to leave on the host: no setuid or setgid file (a root build made it as
// the host's root) and nothing writable by other users.
func sanitizeTree(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		m := info.Mode()
		clean := m &^ (fs.ModeSetuid | fs.ModeSetgid | 0o022)
		if m.IsDir() {
			clean &^= fs.ModeSticky
		}
		if clean != m {
			os.Chmod(p, clean&(fs.ModePerm|fs.ModeSticky))
		}
		return nil
	})
}
