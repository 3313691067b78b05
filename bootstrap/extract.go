package bootstrap

import (
	"archive/tar"
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/beneath"
	"github.com/hdo-build/hdo/internal/rmtree"
)

// root writes files into a seed root directory under construction,
// through a beneath.Dir: it never follows a symlink, every parent of a
// written path must be a real directory inside the root, so nothing can be
// written outside it, and a package that would write through a symlink is
// an error.
//
// Directory modes are applied by finish, so that a read-only directory in a
// package does not stop later files from landing in it.
type root struct {
	dir      *beneath.Dir           // e.g. /tmp/hdo-seed-123/root
	dirModes map[string]fs.FileMode // slash path relative to dir -> mode
	dropped  int                    // device nodes and fifos left out
}

// openRoot opens the existing directory dir to build a root in.
func openRoot(dir string) (*root, error) {
	d, err := beneath.Open(dir)
	if err != nil {
		return nil, err
	}
	return &root{dir: d, dirModes: map[string]fs.FileMode{}}, nil
}

// close releases the root's directory descriptors.
func (r *root) close() error { return r.dir.Close() }

// keepMode is the part of a mode a seed keeps: permissions and the sticky
// bit, never setuid or setgid.
func keepMode(m int64) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// cleanEntry turns an archive entry name into a clean slash path relative
// to the root ("." for the root itself). Leading slashes are dropped (a
// .deb's data.tar names "./usr/bin/x", other archives "/usr/bin/x"); a
// ".." component, a NUL byte or an overlong name is an error.
func cleanEntry(name string) (string, error) {
	rel := strings.TrimLeft(name, "/")
	if rel == "" {
		rel = "."
	}
	rel, reason := beneath.CleanName(rel, beneath.DefaultNameLimits)
	if reason != "" {
		return "", fmt.Errorf("entry %q: %s", name, reason)
	}
	return rel, nil
}

// host returns the host path of the root-relative slash path rel.
func (r *root) host(rel string) string {
	return filepath.Join(r.dir.Path(), filepath.FromSlash(rel))
}

// parents makes sure every parent directory of rel exists as a real
// directory, creating missing ones with mode 0755.
func (r *root) parents(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	cur := ""
	for _, part := range strings.Split(dir, "/") {
		cur = path.Join(cur, part)
		mode, err := r.dir.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := r.dir.Mkdir(cur, 0o755); err != nil {
				return fmt.Errorf("/%s: %w", cur, err)
			}
			if _, ok := r.dirModes[cur]; !ok {
				r.dirModes[cur] = 0o755
			}
		case err != nil:
			return fmt.Errorf("/%s: %w", cur, err)
		case mode&fs.ModeSymlink != 0:
			return fmt.Errorf("/%s: parent /%s is a symlink; seeds never write through symlinks", rel, cur)
		case !mode.IsDir():
			return fmt.Errorf("/%s: parent /%s is not a directory", rel, cur)
		}
	}
	return nil
}

// clear removes whatever non-directory is at rel, so that rel can be
// created afresh; a directory there is an error.
func (r *root) clear(rel string) error {
	mode, err := r.dir.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	if mode.IsDir() {
		return fmt.Errorf("/%s: a directory is in the way", rel)
	}
	if err := r.dir.Remove(rel); err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	return nil
}

// prune removes rel and everything under it, if it exists. Its parents must
// be real directories: a prune never follows a symlink.
func (r *root) prune(rel string) error {
	if err := r.parents(rel); err != nil {
		return err
	}
	if _, err := r.dir.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Directory modes are applied at the end, but a directory may be
	// read-only already.
	if err := rmtree.Remove(r.host(rel)); err != nil {
		return err
	}
	for d := range r.dirModes {
		if d == rel || strings.HasPrefix(d, rel+"/") {
			delete(r.dirModes, d)
		}
	}
	return nil
}

// mkdir makes the directory rel with mode (applied by finish).
func (r *root) mkdir(rel string, mode fs.FileMode) error {
	if rel == "." {
		return nil
	}
	if err := r.parents(rel); err != nil {
		return err
	}
	have, err := r.dir.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := r.dir.Mkdir(rel, 0o755); err != nil {
			return fmt.Errorf("/%s: %w", rel, err)
		}
	case err != nil:
		return fmt.Errorf("/%s: %w", rel, err)
	case !have.IsDir():
		return fmt.Errorf("/%s: a %s is in the way of a directory", rel, kindOf(have))
	}
	r.dirModes[rel] = mode
	return nil
}

// writeFile writes the regular file rel from src.
func (r *root) writeFile(rel string, mode fs.FileMode, src io.Reader) error {
	if err := r.parents(rel); err != nil {
		return err
	}
	if err := r.clear(rel); err != nil {
		return err
	}
	f, err := r.dir.Create(rel, beneath.UnixMode(mode))
	if err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return fmt.Errorf("/%s: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	return nil
}

// symlink makes rel a symlink to target.
func (r *root) symlink(rel, target string) error {
	if err := r.parents(rel); err != nil {
		return err
	}
	if err := r.clear(rel); err != nil {
		return err
	}
	if err := r.dir.Symlink(target, rel); err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	return nil
}

// hardlink makes rel another name of the existing regular file old.
func (r *root) hardlink(rel, old string) error {
	mode, err := r.dir.Lstat(old)
	if err != nil {
		return fmt.Errorf("/%s: hard link to /%s: %w", rel, old, err)
	}
	if !mode.IsRegular() {
		return fmt.Errorf("/%s: hard link to /%s, which is a %s", rel, old, kindOf(mode))
	}
	if err := r.parents(old); err != nil {
		return err
	}
	if err := r.parents(rel); err != nil {
		return err
	}
	if err := r.clear(rel); err != nil {
		return err
	}
	if err := r.dir.Link(old, rel); err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	}
	return "special file"
}

// extractTar writes the entries of a tar stream into the root. Device
// nodes and fifos are left out (a seed cannot hold them; the sandbox makes
// its own /dev).
func (r *root) extractTar(tr *tar.Reader) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := cleanEntry(h.Name)
		if err != nil {
			return err
		}
		if archive.IsSparse(h) {
			return fmt.Errorf("entry %q: sparse files are not allowed", h.Name)
		}
		mode := keepMode(h.Mode)
		switch h.Typeflag {
		case tar.TypeDir:
			err = r.mkdir(rel, mode)
		case tar.TypeReg:
			if rel == "." {
				return fmt.Errorf("entry %q: a file cannot be the root", h.Name)
			}
			err = r.writeFile(rel, mode, tr)
		case tar.TypeSymlink:
			if rel == "." || h.Linkname == "" {
				return fmt.Errorf("entry %q: bad symlink", h.Name)
			}
			err = r.symlink(rel, h.Linkname)
		case tar.TypeLink:
			old, lerr := cleanEntry(h.Linkname)
			if lerr != nil {
				return lerr
			}
			if rel == "." || old == "." {
				return fmt.Errorf("entry %q: bad hard link", h.Name)
			}
			err = r.hardlink(rel, old)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			r.dropped++
		default:
			return fmt.Errorf("entry %q: tar entry type %q is not supported", h.Name, h.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// extractGoToolchain unpacks a golang.org/toolchain module zip at
// /usr/local/go the way the go command does after downloading one: module
// zips carry no modes, so bin/, pkg/tool/ and lib/.../go_*_*_exec become
// executable and every _go.mod is also installed as go.mod.
func (r *root) extractGoToolchain(zipPath, version, arch string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	prefix := "golang.org/toolchain@" + toolchainModVersion(version, arch) + "/"
	const dest = "usr/local/go"
	files := 0
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, prefix) {
			return fmt.Errorf("zip entry %q is not under %s", f.Name, prefix)
		}
		rel, err := cleanEntry(strings.TrimPrefix(f.Name, prefix))
		if err != nil {
			return err
		}
		if rel == "." || strings.HasSuffix(f.Name, "/") {
			continue
		}
		mode := fs.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") ||
			strings.HasPrefix(rel, "lib/") && matchExec(path.Base(rel)) {
			mode = 0o755
		}
		names := []string{rel}
		if path.Base(rel) == "_go.mod" {
			names = append(names, path.Join(path.Dir(rel), "go.mod"))
		}
		for _, name := range names {
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("zip entry %q: %w", f.Name, err)
			}
			err = r.writeFile(path.Join(dest, name), mode, rc)
			rc.Close()
			if err != nil {
				return err
			}
		}
		files++
	}
	if files == 0 {
		return errors.New("the toolchain zip is empty")
	}
	return nil
}

func matchExec(name string) bool {
	ok, _ := path.Match("go_?*_?*_exec", name)
	return ok
}

// toolchainModVersion is the golang.org/toolchain module version of a Go
// release, e.g. v0.0.1-go1.26.8.linux-amd64.
func toolchainModVersion(goVersion, arch string) string {
	return "v0.0.1-" + goVersion + ".linux-" + arch
}

// finish applies the recorded directory modes, deepest first.
func (r *root) finish() error {
	dirs := make([]string, 0, len(r.dirModes))
	for d := range r.dirModes {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i] > dirs[j] })
	for _, d := range dirs {
		if err := r.dir.ChmodDir(d, beneath.UnixMode(r.dirModes[d])); err != nil {
			return fmt.Errorf("/%s: %w", d, err)
		}
	}
	if err := r.dir.ChmodDir(".", 0o755); err != nil {
		return fmt.Errorf("%s: %w", r.dir.Path(), err)
	}
	return nil
}
