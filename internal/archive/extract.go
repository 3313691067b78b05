package archive

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/zeebo/blake3"
)

// Options configure ExtractListing.
type Options struct {
	Limits Limits // zero fields mean DefaultLimits
	// ReadOnly clears every write bit once extraction is done: on files,
	// directories and dest itself. The package store uses it.
	ReadOnly bool
	// Private clears the group and other write bits (and so the use of
	// the sticky bit): a package's 1777 /tmp must not let other users
	// write into the store or a venv.
	Private bool
}

// Extract reads the gzipped tar stream r, which may be hostile, and
// extracts it under dest, which must be an empty directory or not exist yet
// (its parent must). It returns the content hash of the stream, the same
// value ContentHash returns, computed in the same single pass.
//
// Extract writes only regular files, directories, symlinks and hard links,
// and only beneath dest: names that are absolute, hold a ".." component or a
// NUL byte are refused, and no entry is ever written through a symlink,
// whether the archive made it or not (the kernel enforces this with openat2
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or component-wise O_NOFOLLOW opens on
// kernels before 5.6). Symlinks themselves may point anywhere. A hard link
// must name a regular file extracted earlier from the same archive. Devices,
// fifos and other types are refused. setuid and setgid bits are dropped;
// permissions and the sticky bit are kept. Owners in the archive are ignored.
// Every file, symlink and directory gets mtime 0 (the Unix epoch), as in
// hdo's own tarballs, so an extracted tree is the same on every machine.
// Directories stay owner-writable until the end, so read-only directories
// can be filled.
//
// A later entry may replace an earlier one of the same type (a regular file
// or hard link another regular file, a symlink a symlink; a repeated
// directory updates its mode); any change of type is refused.
//
// A refused entry is an *EntryError naming it; a stream that is corrupt,
// truncated, followed by data or over lim is a *StreamError; a cancelled
// ctx returns ctx.Err(). On any error dest may be left partly filled: the
// caller extracts into a temporary directory and removes it on failure.
func Extract(ctx context.Context, r io.Reader, dest string, lim Limits) (string, error) {
	l, err := unpack(ctx, r, true, dest, Options{Limits: lim}, false)
	if err != nil {
		return "", err
	}
	return l.ContentHash, nil
}

// ExtractTar is Extract for an uncompressed tar stream.
func ExtractTar(ctx context.Context, r io.Reader, dest string, lim Limits) (string, error) {
	l, err := unpack(ctx, r, false, dest, Options{Limits: lim}, false)
	if err != nil {
		return "", err
	}
	return l.ContentHash, nil
}

// ExtractListing is Extract with options that also returns the listing of
// what it extracted, with the blake3 of every regular file computed while
// writing it.
func ExtractListing(ctx context.Context, r io.Reader, dest string, opts Options) (*Listing, error) {
	return unpack(ctx, r, true, dest, opts, true)
}

// tree is the filesystem side of an extraction, rooted at dest. Names are
// cleaned, relative and have all their parents created through the tree.
type tree interface {
	mkdir(name string) error
	create(name string, mode fs.FileMode) (io.WriteCloser, error)
	symlink(target, name string) error
	link(oldname, name string) error
	remove(name string) error
	// finish sets the final mode and mtime of every directory.
	finish(dirs []dirMode) error
	close() error
}

type dirMode struct {
	name string
	mode fs.FileMode
}

// node is what the extraction knows of one path it made.
type node struct {
	typ    EntryType
	mode   fs.FileMode
	size   int64
	sum    [32]byte
	target string
}

type unpacker struct {
	ctx       context.Context
	lim       Limits
	tree      tree // nil: list only
	hashFiles bool
	nodes     map[string]*node
	files     int64 // declared bytes of regular files so far
	count     int
	cr        *countingReader
	buf       []byte
}

func unpack(ctx context.Context, r io.Reader, gz bool, dest string, opts Options, hashFiles bool) (*Listing, error) {
	u := &unpacker{
		ctx:       ctx,
		lim:       opts.Limits.orDefault(),
		hashFiles: hashFiles,
		nodes:     make(map[string]*node),
		buf:       make([]byte, 256<<10),
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dest != "" {
		t, err := newTree(dest, opts)
		if err != nil {
			return nil, err
		}
		defer t.close()
		u.tree = t
	}
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, &StreamError{Err: gzipError(err)}
		}
		defer zr.Close()
		ra := newReadahead(zr, 1<<20, 4)
		defer ra.Close()
		r = ra
	}
	return u.run(r)
}

func (u *unpacker) run(r io.Reader) (*Listing, error) {
	u.cr = &countingReader{r: r, max: u.lim.MaxTotalBytes}
	h := blake3.New()
	stream := io.TeeReader(u.cr, h)
	tr := tar.NewReader(stream)
	last := ""
	for {
		if err := u.ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err == tar.ErrInsecurePath && hdr != nil {
			err = nil // with GODEBUG=tarinsecurepath=0; cleanName says why
		}
		if err != nil {
			return nil, u.streamErr(last, err)
		}
		u.count++
		if u.count > u.lim.MaxEntries {
			return nil, &EntryError{Entry: hdr.Name, Reason: fmt.Sprintf("archive has more than %d entries, the limit", u.lim.MaxEntries)}
		}
		if err := u.entry(hdr, tr); err != nil {
			return nil, err
		}
		last = hdr.Name
	}
	// The content hash covers the whole stream, and reading gzip to its end
	// is what checks its CRC.
	if err := u.drain(stream); err != nil {
		return nil, u.streamErr(last, err)
	}
	if u.tree != nil {
		var dirs []dirMode
		for name, n := range u.nodes {
			if n.typ == TypeDir {
				dirs = append(dirs, dirMode{name, n.mode})
			}
		}
		if err := u.tree.finish(dirs); err != nil {
			return nil, err
		}
	}
	return u.listing(hex.EncodeToString(h.Sum(nil))), nil
}

func (u *unpacker) listing(sum string) *Listing {
	l := &Listing{ContentHash: sum, Entries: make([]Entry, 0, len(u.nodes))}
	for name, n := range u.nodes {
		e := Entry{Path: name, Type: n.typ, Mode: n.mode, Target: n.target}
		if n.typ == TypeFile {
			e.Size = n.size
			if u.hashFiles {
				e.Sum = hex.EncodeToString(n.sum[:])
			}
		}
		l.Entries = append(l.Entries, e)
	}
	sort.Slice(l.Entries, func(i, j int) bool { return l.Entries[i].Path < l.Entries[j].Path })
	return l
}

func (u *unpacker) streamErr(last string, err error) error {
	return &StreamError{Offset: u.cr.n, After: last, Err: err}
}

// drain reads the stream after the end-of-archive marker: padding zeros
// are allowed, anything else is an error.
func (u *unpacker) drain(r io.Reader) error {
	for {
		n, err := r.Read(u.buf)
		for _, b := range u.buf[:n] {
			if b != 0 {
				return errors.New("trailing data after the end of the archive")
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (u *unpacker) entry(hdr *tar.Header, tr *tar.Reader) error {
	bad := func(format string, args ...any) error {
		return &EntryError{Entry: hdr.Name, Reason: fmt.Sprintf(format, args...)}
	}
	if IsSparse(hdr) {
		// A few hundred bytes of archive could stand for terabytes of
		// zeros; hdo never writes sparse entries.
		return bad("sparse files are not allowed in packages")
	}
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // PAX defaults for later entries; nothing hdo keeps
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
		// (tar.Reader reports the legacy TypeRegA as TypeReg or TypeDir.)
	case tar.TypeChar:
		return bad("character devices are not allowed in packages")
	case tar.TypeBlock:
		return bad("block devices are not allowed in packages")
	case tar.TypeFifo:
		return bad("fifos are not allowed in packages")
	default:
		return bad("entry type %q is not supported; packages hold only files, directories, symlinks and hard links", hdr.Typeflag)
	}
	name, reason := cleanName(hdr.Name, u.lim)
	if reason != "" {
		return bad("%s", reason)
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the destination itself; its mode is the caller's
		}
		return bad("only a directory may name the destination itself")
	}
	if err := u.parents(hdr.Name, name); err != nil {
		return err
	}
	old := u.nodes[name]
	mode := fs.FileMode(hdr.Mode & 0o777)
	if hdr.Mode&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if old != nil {
			if old.typ != TypeDir {
				return bad("a directory replaces an earlier %s", old.typ)
			}
			old.mode = mode
			return nil
		}
		if u.tree != nil {
			if err := u.tree.mkdir(name); err != nil {
				return &EntryError{Entry: hdr.Name, Reason: "create directory", Err: err}
			}
		}
		u.nodes[name] = &node{typ: TypeDir, mode: mode}

	case tar.TypeReg:
		if hdr.Size < 0 {
			return bad("negative size %d", hdr.Size)
		}
		if hdr.Size > u.lim.MaxFileSize {
			return bad("size %d bytes is over the limit of %d", hdr.Size, u.lim.MaxFileSize)
		}
		if u.files+hdr.Size > u.lim.MaxTotalBytes {
			return bad("files add up to more than the limit of %d bytes", u.lim.MaxTotalBytes)
		}
		u.files += hdr.Size
		if err := u.replace(hdr.Name, name, old, TypeFile); err != nil {
			return err
		}
		n := &node{typ: TypeFile, mode: mode, size: hdr.Size}
		u.nodes[name] = n
		return u.writeFile(hdr.Name, name, n, tr)

	case tar.TypeSymlink:
		target := hdr.Linkname
		switch {
		case target == "":
			return bad("symlink has an empty target")
		case len(target) > u.lim.MaxPathLen:
			return bad("symlink target is %d bytes long, over the limit of %d", len(target), u.lim.MaxPathLen)
		}
		if strings.IndexByte(target, 0) >= 0 {
			return bad("symlink target contains a NUL byte")
		}
		if err := u.replace(hdr.Name, name, old, TypeSymlink); err != nil {
			return err
		}
		if u.tree != nil {
			if err := u.tree.symlink(target, name); err != nil {
				return &EntryError{Entry: hdr.Name, Reason: "create symlink", Err: err}
			}
		}
		u.nodes[name] = &node{typ: TypeSymlink, mode: 0o777, target: target}

	case tar.TypeLink:
		target, reason := cleanName(hdr.Linkname, u.lim)
		if reason != "" {
			return bad("hard link target %q: %s", hdr.Linkname, reason)
		}
		t := u.nodes[target]
		switch {
		case t == nil:
			return bad("hard link target %q is not an earlier entry of the archive", hdr.Linkname)
		case t.typ != TypeFile:
			return bad("hard link target %q is a %s, not a regular file", hdr.Linkname, t.typ)
		case target == name:
			return bad("hard link to itself")
		}
		if err := u.replace(hdr.Name, name, old, TypeFile); err != nil {
			return err
		}
		if u.tree != nil {
			if err := u.tree.link(target, name); err != nil {
				return &EntryError{Entry: hdr.Name, Reason: "create hard link", Err: err}
			}
		}
		c := *t
		u.nodes[name] = &c
	}
	return nil
}

// parents checks that every parent of name is a directory, creating the
// ones the archive has not named yet.
func (u *unpacker) parents(entry, name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		p := name[:i]
		n := u.nodes[p]
		switch {
		case n == nil:
			if u.tree != nil {
				if err := u.tree.mkdir(p); err != nil {
					return &EntryError{Entry: entry, Reason: fmt.Sprintf("create directory %q", p), Err: err}
				}
			}
			u.nodes[p] = &node{typ: TypeDir, mode: 0o755}
		case n.typ == TypeSymlink:
			return &EntryError{Entry: entry, Reason: fmt.Sprintf("path goes through the symlink %q; nothing is extracted through a symlink", p)}
		case n.typ == TypeFile:
			return &EntryError{Entry: entry, Reason: fmt.Sprintf("path goes through %q, which is a regular file", p)}
		}
	}
	return nil
}

// replace removes the earlier entry old at name, which must be of type typ.
func (u *unpacker) replace(entry, name string, old *node, typ EntryType) error {
	if old == nil {
		return nil
	}
	if old.typ != typ {
		return &EntryError{Entry: entry, Reason: fmt.Sprintf("a %s replaces an earlier %s", typ, old.typ)}
	}
	if u.tree != nil {
		if err := u.tree.remove(name); err != nil {
			return &EntryError{Entry: entry, Reason: "replace earlier entry", Err: err}
		}
	}
	return nil
}

func (u *unpacker) writeFile(entry, name string, n *node, tr *tar.Reader) error {
	var w io.WriteCloser
	if u.tree != nil {
		var err error
		if w, err = u.tree.create(name, n.mode); err != nil {
			return &EntryError{Entry: entry, Reason: "create file", Err: err}
		}
	}
	var h *blake3.Hasher
	if u.hashFiles {
		h = blake3.New()
	}
	err := u.copyData(entry, w, h, tr, n.size)
	if w != nil {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = &EntryError{Entry: entry, Reason: "write", Err: cerr}
		}
	}
	if h != nil {
		h.Sum(n.sum[:0])
	}
	return err
}

// copyData copies size bytes of the current entry to w and h (each may be
// nil), checking ctx between chunks.
func (u *unpacker) copyData(entry string, w io.Writer, h *blake3.Hasher, tr *tar.Reader, size int64) error {
	for size > 0 {
		if err := u.ctx.Err(); err != nil {
			return err
		}
		chunk := u.buf
		if int64(len(chunk)) > size {
			chunk = chunk[:size]
		}
		n, err := tr.Read(chunk)
		if n > 0 {
			if w != nil {
				if _, werr := w.Write(chunk[:n]); werr != nil {
					return &EntryError{Entry: entry, Reason: "write", Err: werr}
				}
			}
			if h != nil {
				h.Write(chunk[:n])
			}
			size -= int64(n)
		}
		if err == io.EOF && size > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil && err != io.EOF {
			return &StreamError{Offset: u.cr.n, After: entry, Err: err}
		}
	}
	return nil
}

// countingReader counts the bytes read and fails once there are more than
// max of them, which stops decompression bombs.
type countingReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if rem := c.max - c.n + 1; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("uncompressed stream is larger than the limit of %d bytes", c.max)
	}
	return n, err
}

// prepareDest makes dest if it does not exist and checks it is empty.
func prepareDest(dest string) error {
	err := os.Mkdir(dest, 0o755)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("archive: extract into %s: %w", dest, err)
	}
	f, err := os.Open(dest)
	if err != nil {
		return fmt.Errorf("archive: extract into %s: %w", dest, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("archive: extract into %s: %w", dest, err)
	}
	if len(names) > 0 {
		return fmt.Errorf("archive: extract into %s: the directory is not empty; extract into a new or empty directory", dest)
	}
	return nil
}

// IsSparse reports whether hdr is a sparse file in any of the GNU forms
// (old GNU 'S' entries, PAX GNU.sparse.* records).
func IsSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}
