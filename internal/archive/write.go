package archive

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/zeebo/blake3"
)

// epoch is the modification time of every entry: deterministic tarballs
// carry no time.
var epoch = time.Unix(0, 0)

// permMask is the part of a file mode a package keeps: permissions and the
// sticky bit. setuid and setgid never enter a package.
const permMask = fs.ModePerm | fs.ModeSticky

// WriteTarGz writes the tree under dir to w as a deterministic gzipped tar
// stream and returns its content hash (hex blake3-256 of the uncompressed
// tar). Entries are sorted by path and carry mtime 0, uid/gid 0, no user or
// group names and their permission bits; a file with hard links is stored
// once, at its first path, and its other paths as hard links to it (so that
// a 1 MiB file linked 2000 times packs as 1 MiB, not 2 GB). Device nodes,
// fifos and sockets are an error naming the file.
func WriteTarGz(w io.Writer, dir string) (string, error) {
	return WriteTarGzLimited(context.Background(), w, dir, Limits{})
}

// WriteTarGzLimited is WriteTarGz within limits: a tree that Extract
// would refuse under lim (too many entries, a file or the whole stream too
// large, names too long or deep) is an error before anything is written,
// and ctx ending stops the copy.
func WriteTarGzLimited(ctx context.Context, w io.Writer, dir string, lim Limits) (string, error) {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return "", err
	}
	// The zero header (no name, mtime 0, OS unknown) is what keeps the gzip
	// framing deterministic.
	h := blake3.New()
	if err := writeTar(ctx, io.MultiWriter(zw, h), dir, lim.orDefault()); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteTarGzFile writes the tree under dir to path atomically (temp file,
// fsync, rename) and returns its content hash.
func WriteTarGzFile(path, dir string) (string, error) {
	t, err := renameio.TempFile("", path)
	if err != nil {
		return "", err
	}
	defer t.Cleanup()
	if err := os.Chmod(t.Name(), 0o644); err != nil {
		return "", err
	}
	sum, err := WriteTarGz(t, dir)
	if err != nil {
		return "", err
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return "", err
	}
	return sum, nil
}

// WriteTar writes the tree under dir to w as a deterministic, uncompressed
// tar stream.
func WriteTar(w io.Writer, dir string) error {
	return writeTar(context.Background(), w, dir, DefaultLimits())
}

func writeTar(ctx context.Context, w io.Writer, dir string, lim Limits) error {
	type entry struct {
		rel  string
		info fs.FileInfo
	}
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		entries = append(entries, entry{filepath.ToSlash(rel), info})
		return nil
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	// A file's later paths (in that order) are hard links to its first.
	firstPath := map[[2]uint64]string{}
	linkOf := make([]string, len(entries))
	for i, e := range entries {
		st, ok := e.info.Sys().(*syscall.Stat_t)
		if !ok || !e.info.Mode().IsRegular() || st.Nlink < 2 {
			continue
		}
		id := [2]uint64{uint64(st.Dev), st.Ino}
		if first, seen := firstPath[id]; seen {
			linkOf[i] = first
		} else {
			firstPath[id] = e.rel
		}
	}
	// What Extract would refuse is refused here, before packing: a build
	// could make a 10 GiB sparse file in no time.
	if len(entries) > lim.MaxEntries {
		return fmt.Errorf("archive %s: %d entries, more than the %d a package may have", dir, len(entries), lim.MaxEntries)
	}
	var total int64
	for i, e := range entries {
		total += 1024 // a header, and a PAX header at most
		if e.info.Mode().IsRegular() && linkOf[i] == "" {
			if e.info.Size() > lim.MaxFileSize {
				return fmt.Errorf("archive %s: %s is %d bytes, more than the %d a file in a package may have", dir, e.rel, e.info.Size(), lim.MaxFileSize)
			}
			total += (e.info.Size() + 511) &^ 511
		}
		if _, reason := cleanName(e.rel, lim); reason != "" {
			return fmt.Errorf("archive %s: %s: %s", dir, e.rel, reason)
		}
		if m := e.info.Mode(); !m.IsRegular() && !m.IsDir() && m&fs.ModeSymlink == 0 {
			return fmt.Errorf("archive %s: %s is not a regular file, directory or symlink; packages cannot contain it", dir, e.rel)
		}
	}
	if total > lim.MaxTotalBytes {
		return fmt.Errorf("archive %s: %d bytes of files, more than the %d a package may have", dir, total, lim.MaxTotalBytes)
	}

	tw := tar.NewWriter(w)
	for i, e := range entries {
		hdr := &tar.Header{
			Name:    e.rel,
			Mode:    int64(e.info.Mode() & permMask),
			ModTime: epoch,
			Format:  tar.FormatPAX,
		}
		if e.info.Mode()&fs.ModeSticky != 0 {
			hdr.Mode = int64(e.info.Mode()&fs.ModePerm) | 0o1000
		}
		full := filepath.Join(dir, filepath.FromSlash(e.rel))
		switch mode := e.info.Mode(); {
		case linkOf[i] != "":
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = linkOf[i]
		case mode.IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = e.info.Size()
		case mode.IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return fmt.Errorf("archive %s: %w", full, err)
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
			hdr.Mode = 0o777
		default:
			return fmt.Errorf("archive %s: %s is not a regular file, directory or symlink; packages cannot contain it", dir, e.rel)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archive %s: %s: %w", dir, e.rel, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("archive %s: %w", dir, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(ctxWriter{ctx, tw}, full, hdr.Size); err != nil {
				return fmt.Errorf("archive %s: %s: %w", dir, e.rel, err)
			}
		}
	}
	return tw.Close()
}

// ctxWriter stops a copy once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

func copyFile(w io.Writer, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("file changed size while archiving (got %d bytes, want %d)", n, size)
	}
	return nil
}

// ContentHash returns the content hash (hex blake3-256 of the uncompressed
// tar stream) of the gzipped tar stream r.
func ContentHash(r io.Reader) (string, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", gzipError(err)
	}
	defer zr.Close()
	h := blake3.New()
	if _, err := io.Copy(h, zr); err != nil {
		return "", gzipError(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ContentHashFile is ContentHash of the file at path.
func ContentHashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sum, err := ContentHash(f)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return sum, nil
}

// gzipError names a gzip failure once: the reader's own errors start with
// "gzip:" already, others (an I/O error) do not.
func gzipError(err error) error {
	if strings.HasPrefix(err.Error(), "gzip:") {
		return err
	}
	return fmt.Errorf("gzip: %w", err)
}
