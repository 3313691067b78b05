package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/internal/archive"
	"github.com/hdo-build/hdo/internal/pkgtree"
	"github.com/hdo-build/hdo/internal/rmtree"
)

// StaleAge is how old a temporary entry must be before Open removes it:
// far longer than any extraction takes.
const StaleAge = time.Hour

// Store is a directory of extracted packages.
type Store struct {
	Dir string // e.g. /home/me/.cache/hdo/store
}

// Open creates the store directory dir if needed and removes temporary
// entries older than StaleAge that crashed extractions left behind.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{Dir: dir}
	// A stale entry left in place costs only disk space, and another
	// process may be removing it at the same time, so failures are not
	// worth failing Open for.
	s.CleanTemp(StaleAge)
	return s, nil
}

// GiveTo makes the entry for pkghash, its files and directories, owned by
// uid and gid, unless its top directory already is. Root's builds run as
// another user (see sandbox.BuildOwner), who must read their closure with
// the modes the tarballs give, as a normal user's build does (a 0640
// file, say). The entries stay read-only to the build, mounted so, and
// the store dir of such a store is made reachable by its owner only.
func (s *Store) GiveTo(pkghash string, uid, gid int) error {
	if err := checkHash(pkghash); err != nil {
		return err
	}
	if err := os.Chmod(s.Dir, 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	dir := s.Path(pkghash)
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	// The top directory last: its owner says the whole entry is done.
	err = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err == nil {
		err = os.Lchown(dir, uid, gid)
	}
	if err != nil {
		return fmt.Errorf("store: give entry %s to its builds' user: %w", pkghash, err)
	}
	return nil
}

// Path is where the tree of pkghash is (or would be) in the store.
func (s *Store) Path(pkghash string) string { return filepath.Join(s.Dir, pkghash) }

func (s *Store) manifestPath(pkghash string) string {
	return filepath.Join(s.Dir, pkghash+".manifest")
}

// has reports whether the tree of pkghash is complete: its manifest is
// written before the tree is renamed into place, so both exist.
func (s *Store) has(pkghash string) (bool, error) {
	info, err := os.Lstat(s.Path(pkghash))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if !info.IsDir() {
		return false, fmt.Errorf("store: %s is not a directory; remove it", s.Path(pkghash))
	}
	if _, err := os.Lstat(s.manifestPath(pkghash)); err != nil {
		return false, nil
	}
	return true, nil
}

// Ensure returns the directory holding the extracted tree of the package
// pkghash, extracting the tarball at tarballPath first if the store does
// not have it yet. The tree has the tarball's permissions and a manifest
// (see Manifest).
//
// Concurrent calls for one hash, in one process or several, all succeed
// with the same directory. A tarball that archive.Extract refuses is an
// error naming it, and leaves nothing in the store.
//
// The store does not trust its key: an entry serves a tarball only once
// the tarball is known to hold the entry's content. fileHash identifies
// the tarball file's bytes (its hex blake3 as hdo's state records it; ""
// makes Ensure hash the file); the store keeps the file hashes it has
// checked against each entry (<pkghash>.tarballs), so a known tarball
// costs nothing, and an unknown one is checked once by its content hash.
// An entry whose content differs from the tarball's (a store poisoned
// through a hand-made tarball, or a build that is not reproducible) is
// replaced by the tarball's content; replaced reports that.
func (s *Store) Ensure(ctx context.Context, pkghash, tarballPath, fileHash string) (string, error) {
	dir, _, err := s.EnsureReplaced(ctx, pkghash, tarballPath, fileHash)
	return dir, err
}

// EnsureReplaced is Ensure, also reporting whether an entry with other
// content was replaced.
func (s *Store) EnsureReplaced(ctx context.Context, pkghash, tarballPath, fileHash string) (dir string, replaced bool, err error) {
	if err := checkHash(pkghash); err != nil {
		return "", false, err
	}
	if fileHash == "" {
		st, err := fingerprint.Of(tarballPath)
		if err != nil {
			return "", false, fmt.Errorf("store: %w", err)
		}
		h, err := fingerprint.HashFile(tarballPath, st)
		if err != nil {
			return "", false, fmt.Errorf("store: %w", err)
		}
		fileHash = h.String()
	}
	ok, err := s.has(pkghash)
	if err != nil {
		return "", false, err
	}
	if ok {
		if s.knownTarball(pkghash, fileHash) {
			return s.Path(pkghash), false, nil
		}
		m, err := s.Manifest(pkghash)
		if err != nil {
			return "", false, err
		}
		content, err := archive.ContentHashFile(tarballPath)
		if err != nil {
			return "", false, fmt.Errorf("store: %w", err)
		}
		if content == m.ContentHash {
			s.addTarball(pkghash, fileHash)
			return s.Path(pkghash), false, nil
		}
		// Another package's bytes under this key: set them aside (a
		// running build may still use them; CleanTemp removes them
		// later) and extract this tarball.
		if err := s.setAside(pkghash); err != nil {
			return "", false, err
		}
		dir, err := s.install(ctx, pkghash, tarballPath, fileHash)
		return dir, true, err
	}
	if _, err := os.Lstat(s.Path(pkghash)); err == nil {
		// A tree without its manifest was damaged by hand: start over.
		if err := s.Remove(pkghash); err != nil {
			return "", false, err
		}
	}
	dir, err = s.install(ctx, pkghash, tarballPath, fileHash)
	return dir, false, err
}

// writeFile replaces the store file path with data atomically, its temp
// file in the store's own directory (renameio would otherwise probe the
// file system for one, per call).
func (s *Store) writeFile(path string, data []byte, perm os.FileMode) error {
	return renameio.WriteFile(path, data, perm, renameio.WithTempDir(s.Dir))
}

// tarballsPath lists the tarball file hashes checked against an entry.
func (s *Store) tarballsPath(pkghash string) string {
	return filepath.Join(s.Dir, pkghash+".tarballs")
}

func (s *Store) knownTarball(pkghash, fileHash string) bool {
	b, err := os.ReadFile(s.tarballsPath(pkghash))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l == fileHash {
			return true
		}
	}
	return false
}

// addTarball records a tarball file hash as holding the entry's content.
func (s *Store) addTarball(pkghash, fileHash string) error {
	if checkHash(fileHash) != nil {
		return nil
	}
	b, _ := os.ReadFile(s.tarballsPath(pkghash))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = nil
	}
	const keep = 16 // enough for the builds of one package that differ
	if len(lines) >= keep {
		lines = lines[len(lines)-keep+1:]
	}
	lines = append(lines, fileHash)
	return s.writeFile(s.tarballsPath(pkghash), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// setAside moves an entry out of the way for a new one: the tree to a
// temporary name that CleanTemp removes once no build can be using it,
// the manifest and the tarball list removed.
func (s *Store) setAside(pkghash string) error {
	trash := filepath.Join(s.Dir, fmt.Sprintf(".tmp-%s-stale%d", pkghash, rand.Uint64()))
	if err := os.Rename(s.Path(pkghash), trash); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: set aside %s: %w", pkghash, err)
	}
	for _, p := range []string{s.manifestPath(pkghash), s.tarballsPath(pkghash), s.contentNotePath(pkghash)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: set aside %s: %w", pkghash, err)
		}
	}
	return nil
}

// install extracts tarballPath into a temporary directory, writes its
// manifest and renames it into place. If another process won the race,
// its tree is kept and ours removed.
func (s *Store) install(ctx context.Context, pkghash, tarballPath, fileHash string) (string, error) {
	f, err := os.Open(tarballPath)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(s.Dir, ".tmp-"+pkghash+"-")
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	done := false
	defer func() {
		if !done {
			rmtree.Remove(tmp)
		}
	}()
	// Entries keep the modes their tarballs give (builds see packages as
	// they are, and copy them with those modes) except the group and
	// other write bits, so no other user can write into the store; the
	// sandbox mounts them read-only.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	l, err := archive.ExtractListing(ctx, f, tmp, archive.Options{Private: true})
	if err != nil {
		return "", fmt.Errorf("store: unpack %s: %w", tarballPath, err)
	}
	m := Manifest{ContentHash: l.ContentHash, Entries: l.Entries}
	if err := s.writeFile(s.manifestPath(pkghash), m.Encode(), 0o444); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	if err := syncFS(tmp); err != nil {
		return "", fmt.Errorf("store: sync %s: %w", tmp, err)
	}
	s.addTarball(pkghash, fileHash)
	dir := s.Path(pkghash)
	if err := os.Rename(tmp, dir); err != nil {
		if ok, _ := s.has(pkghash); ok {
			return dir, nil // another process installed it first
		}
		return "", fmt.Errorf("store: install %s: %w", dir, err)
	}
	done = true
	if err := syncDir(s.Dir); err != nil {
		return "", fmt.Errorf("store: sync %s: %w", s.Dir, err)
	}
	return dir, nil
}

// Manifest returns the manifest of the package pkghash, which must be in
// the store.
func (s *Store) Manifest(pkghash string) (Manifest, error) {
	if err := checkHash(pkghash); err != nil {
		return Manifest{}, err
	}
	data, err := os.ReadFile(s.manifestPath(pkghash))
	if err != nil {
		return Manifest{}, fmt.Errorf("store: %w", err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return Manifest{}, fmt.Errorf("store: %s: %w; remove the package from the store to extract it again", s.manifestPath(pkghash), err)
	}
	return m, nil
}

// contentNotePath is where NoteContent keeps the content hash of a
// package that is not (or not yet) extracted.
func (s *Store) contentNotePath(pkghash string) string {
	return filepath.Join(s.Dir, pkghash+".content")
}

// NoteContent records that the package pkghash has the content hash
// content (hex blake3 of its uncompressed tar stream), as a build or a
// verified binary cache download found it. KnownContent answers from it,
// so that a tarball whose build record was lost can be proven to be the
// package of its pkghash without rebuilding it.
func (s *Store) NoteContent(pkghash, content string) error {
	if err := checkHash(pkghash); err != nil {
		return err
	}
	if err := checkHash(content); err != nil {
		return fmt.Errorf("store: invalid content hash %q: want 64 lowercase hex digits", content)
	}
	if err := s.writeFile(s.contentNotePath(pkghash), []byte(content+"\n"), 0o444); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// KnownContent returns the content hash the store knows for the package
// pkghash: its manifest's if it is extracted, else the one NoteContent
// recorded; ok is false if it knows none.
func (s *Store) KnownContent(pkghash string) (content string, ok bool) {
	if checkHash(pkghash) != nil {
		return "", false
	}
	if m, err := s.Manifest(pkghash); err == nil {
		return m.ContentHash, true
	}
	b, err := os.ReadFile(s.contentNotePath(pkghash))
	if err != nil {
		return "", false
	}
	c, found := strings.CutSuffix(string(b), "\n")
	if !found || checkHash(c) != nil {
		return "", false
	}
	return c, true
}

// Remove deletes the package pkghash from the store. Removing a package
// that is not there is not an error.
func (s *Store) Remove(pkghash string) error {
	if err := checkHash(pkghash); err != nil {
		return err
	}
	// Renaming the tree away first keeps "a tree has a manifest" true at
	// every instant.
	trash := filepath.Join(s.Dir, fmt.Sprintf(".tmp-%s-rm%d", pkghash, rand.Uint64()))
	err := os.Rename(s.Path(pkghash), trash)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove %s: %w", pkghash, err)
	}
	if err := os.Remove(s.manifestPath(pkghash)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove %s: %w", pkghash, err)
	}
	for _, p := range []string{s.contentNotePath(pkghash), s.tarballsPath(pkghash)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: remove %s: %w", pkghash, err)
		}
	}
	if err == nil {
		if err := rmtree.Remove(trash); err != nil {
			return fmt.Errorf("store: remove %s: %w", pkghash, err)
		}
	}
	return nil
}

// List returns the hashes of the complete packages in the store, sorted.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && checkHash(e.Name()) == nil {
			if ok, _ := s.has(e.Name()); ok {
				out = append(out, e.Name())
			}
		}
	}
	return out, nil
}

// CleanTemp removes temporary entries (names starting with ".": unfinished
// extractions, removals and manifest writes) last modified more than age
// ago. A younger one may belong to a running extraction.
func (s *Store) CleanTemp(age time.Duration) error {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if err := rmtree.Remove(filepath.Join(s.Dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: clean: %w", err)
	}
	return nil
}

// checkHash refuses anything but 64 lowercase hex digits, so that a hash
// from a hostile source can never name a path outside the store.
func checkHash(h string) error {
	if !pkgtree.IsHex64(h) {
		return fmt.Errorf("store: invalid package hash %q: want 64 lowercase hex digits", h)
	}
	return nil
}
