// Package cachedir is hdo's per-user cache directory and its layout. Every
// part of it is named here, once, so that what writes a part, what reads it
// and hdo gc, which sweeps every part, agree on where it is.
//
//	$XDG_CACHE_HOME/hdo/     (else ~/.cache/hdo)
//	  sources/SHA256         verified sources
//	  store/PKGHASH          unpacked packages
//	  downloads/PKGHASH.tar.gz  tarballs from binary caches
//	  bootstrap/KEY.*        seeds built from their locks
//	  build/NAME-HASH-*/     work dirs of running or failed builds
//	  check/*/               hdo check's rebuilds
//	  gc.lock, gc.db         the gc lock and roots
package cachedir

import (
	"errors"
	"path/filepath"
)

// Dir is the cache directory, e.g. /home/me/.cache/hdo.
type Dir string

// Default returns the cache directory of the user whose environment getenv
// reads: $XDG_CACHE_HOME/hdo, else $HOME/.cache/hdo.
func Default(getenv func(string) string) (Dir, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return Dir(filepath.Join(d, "hdo")), nil
	}
	if home := getenv("HOME"); home != "" {
		return Dir(filepath.Join(home, ".cache", "hdo")), nil
	}
	return "", errors.New("no cache directory: set XDG_CACHE_HOME or HOME")
}

// Sources holds verified sources, named by their sha256.
func (d Dir) Sources() string { return d.join("sources") }

// Store holds unpacked packages, named by their pkghash.
func (d Dir) Store() string { return d.join("store") }

// Downloads holds package tarballs from binary caches, PKGHASH.tar.gz.
func (d Dir) Downloads() string { return d.join("downloads") }

// Seeds holds the seeds built from their locks.
func (d Dir) Seeds() string { return d.join("bootstrap") }

// Builds holds the work dirs of package builds.
func (d Dir) Builds() string { return d.join("build") }

// Checks holds hdo check's rebuilds: removed when they match, kept for
// the user to compare when they do not, until hdo gc.
func (d Dir) Checks() string { return d.join("check") }

// OldChecks matches where hdo check kept its rebuilds before Checks,
// directly in the cache directory: gc still removes them.
func (d Dir) OldChecks() string { return d.join("check-*") }

func (d Dir) join(name string) string { return filepath.Join(string(d), name) }
