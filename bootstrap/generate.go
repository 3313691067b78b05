package bootstrap

import (
	"context"
	"errors"
	"fmt"
)

// LockOptions configures GenerateLock.
type LockOptions struct {
	// Old is the existing lock, or nil for a new one. Its lines other than
	// deb are kept; its packages line is used when Packages is empty.
	Old *Lock
	// Packages are the Debian packages to resolve, e.g. [gcc-12 make].
	Packages []string
	// ListsDir is apt's lists directory; default DefaultListsDir.
	ListsDir string
	// Arch is the Debian architecture; default Old.Arch, else amd64.
	Arch string
	// Origins are the Release origins whose indexes are read; default
	// [Debian].
	Origins []string
	// Name names the lock in errors, e.g. pkg/seed/seed.lock.
	Name string
}

// GenerateLock resolves the dependency closure of the requested Debian
// packages from apt's package indexes and returns the new lock text.
//
// The closure follows Pre-Depends and Depends (not Recommends or
// Suggests), takes the first alternative that exists at a fitting version,
// reaches virtual packages through Provides, and starts from an empty
// system: Essential packages are included only when something depends on
// them. Each package comes at the highest version any index offers. The deb
// lines come with dependencies first, ties and cycles ordered by name.
func GenerateLock(ctx context.Context, opts LockOptions) ([]byte, error) {
	l := &Lock{Name: opts.Name}
	if opts.Old != nil {
		old := *opts.Old
		l = &old
		if opts.Name == "" {
			opts.Name = old.Name
		}
	}
	l.Name = opts.Name
	if opts.Arch != "" {
		if l.Arch != "" && l.Arch != opts.Arch {
			return nil, fmt.Errorf("%s: the lock is for %s, not %s; start a new lock for another architecture", opts.Name, l.Arch, opts.Arch)
		}
		l.Arch = opts.Arch
	}
	if l.Arch == "" {
		l.Arch = "amd64"
	}
	if len(opts.Packages) > 0 {
		l.Packages = append([]string(nil), opts.Packages...)
	}
	if len(l.Packages) == 0 {
		return nil, errors.New("no Debian packages to resolve: name them (hdo bootstrap lock --debian NAME... SEEDDIR)")
	}
	if opts.ListsDir == "" {
		opts.ListsDir = DefaultListsDir
	}
	if len(opts.Origins) == 0 {
		opts.Origins = []string{"Debian"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	indexes, err := findIndexes(opts.ListsDir, l.Arch, opts.Origins)
	if err != nil {
		return nil, err
	}
	if len(indexes) == 0 {
		return nil, fmt.Errorf("no package indexes for %s from origin %v in %s; run apt-get update", l.Arch, opts.Origins, opts.ListsDir)
	}
	pkgs, err := readIndexes(indexes, l.Arch)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := newResolver(pkgs, l.Arch)
	if err != nil {
		return nil, err
	}
	if err := r.closure(l.Packages); err != nil {
		return nil, err
	}
	l.Debs = nil
	for _, c := range r.order() {
		l.Debs = append(l.Debs, Deb{Name: c.Name, Version: c.Version, URL: c.URL, Size: c.Size, SHA256: c.SHA256})
	}
	out := l.Format()
	// The generated lock must read back: a package index with odd data
	// must not produce a lock that cannot be used.
	if _, err := ParseLock(opts.Name, out); err != nil {
		return nil, fmt.Errorf("generated lock does not parse: %w", err)
	}
	return out, nil
}
