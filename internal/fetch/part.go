package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// partFile is the locked, partly downloaded file of one sha256.
type partFile struct {
	f         *os.File
	path      string // <CacheDir>/.part-<sha256>
	committed bool
	sum       string // the sha256 of the verified content, once verified
}

// lockPart opens <dir>/.part-<sha> and takes an exclusive lock on it,
// waiting (until ctx is done) while another process or goroutine holds it.
func lockPart(ctx context.Context, dir, sha string) (*partFile, error) {
	path := filepath.Join(dir, ".part-"+sha)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		for {
			locked, err := tryLock(f)
			if err != nil {
				f.Close()
				return nil, err
			}
			if locked {
				break
			}
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		// The holder we waited for may have renamed or removed the file;
		// then our lock is on an orphan and we start over.
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if cur, err := os.Stat(path); err == nil && os.SameFile(st, cur) {
			return &partFile{f: f, path: path}, nil
		} else if err != nil && !errors.Is(err, os.ErrNotExist) {
			f.Close()
			return nil, err
		}
		f.Close()
	}
}

func (p *partFile) size() (int64, error) {
	st, err := p.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (p *partFile) truncate() error {
	if err := p.f.Truncate(0); err != nil {
		return err
	}
	_, err := p.f.Seek(0, 0)
	return err
}

// commit makes the verified part file the cache entry final, durably and
// read-only: the cache is addressed by content, nobody should edit it.
func (p *partFile) commit(final string) error {
	if err := p.f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(p.path, final); err != nil {
		return err
	}
	p.committed = true
	// After the rename, so a failed rename never leaves a read-only .part
	// that cannot be resumed. Best effort: the content is right either way.
	p.f.Chmod(0o444)
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// release unlocks and closes the part file, removing it if it holds
// nothing worth resuming. Removing it while still locked is safe: a waiter
// notices the file is gone and starts over.
func (p *partFile) release() {
	if !p.committed {
		if n, err := p.size(); err == nil && n == 0 {
			os.Remove(p.path)
		}
	}
	p.f.Close()
}
