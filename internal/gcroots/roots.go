// Package gcroots records what hdo gc must keep, and keeps gc away from
// running builds.
//
// The records live in one sqlite database in the user's cache directory
// (<cache>/gc.db, e.g. ~/.cache/hdo/gc.db): the roots (every tree hdo
// built package targets in, every venv hdo made) and the names of store
// entries seen, so gc can say what it removes. The lock is <cache>/gc.lock:
// a package build holds it shared while it uses the store and the caches,
// and gc holds it exclusively while it removes anything.
package gcroots

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hdo-build/hdo/internal/flock"
	_ "github.com/mattn/go-sqlite3"
)

// File names in the cache directory.
const (
	DBName   = "gc.db"
	LockName = "gc.lock"
)

// schemaVersion is recorded in the database; another version is an error
// that says what to do.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, kind TEXT NOT NULL, added INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS store (pkghash TEXT PRIMARY KEY, name TEXT NOT NULL, tree TEXT NOT NULL, seen INTEGER NOT NULL);
`

// Kind is what a root is.
type Kind string

// The kinds of root.
const (
	Tree Kind = "tree" // a tree hdo built package targets in: its packages are kept
	Venv Kind = "venv" // a directory hdo venv made: its packages are kept
)

// Root is one recorded root.
type Root struct {
	Kind  Kind
	Path  string    // absolute, e.g. /src/tree or /home/me/venvs/dev
	Added time.Time // when it was first recorded
}

// StoreEntry names a store entry for people.
type StoreEntry struct {
	PkgHash string    // e.g. 3f9a...
	Name    string    // the package dir, e.g. pkg/make
	Tree    string    // the tree (or venv) it was seen in, e.g. /src/tree
	Seen    time.Time // when last seen needed
}

// DB is the open gc database of one cache directory.
type DB struct {
	db   *sql.DB
	Path string // e.g. /home/me/.cache/hdo/gc.db
}

// Open opens (creating if needed) the gc database in cacheDir.
func Open(cacheDir string) (*DB, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("gc roots: %w", err)
	}
	path := filepath.Join(cacheDir, DBName)
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=30000&_txlock=immediate"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("gc roots %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db, Path: path}
	// As for a tree's state (see engine/state): processes take turns at
	// the first open, when SQLite may refuse a second one at once.
	if err := flock.With(path+".init-lock", d.init); err != nil {
		db.Close()
		return nil, fmt.Errorf("gc roots %s: %w", path, err)
	}
	return d, nil
}

func (d *DB) init() error {
	if _, err := d.db.Exec(schema); err != nil {
		return err
	}
	var v string
	err := d.db.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = d.db.Exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)`, strconv.Itoa(schemaVersion))
		return err
	}
	if err != nil {
		return err
	}
	if v != strconv.Itoa(schemaVersion) {
		return fmt.Errorf("unknown schema version %s (want %d): remove the file; hdo records the roots again as it builds", v, schemaVersion)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Add records a root; recording one twice keeps the first time.
func (d *DB) Add(kind Kind, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("gc roots: %s root %q is not absolute", kind, path)
	}
	_, err := d.db.Exec(`INSERT INTO roots (path, kind, added) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET kind = excluded.kind`,
		filepath.Clean(path), string(kind), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("gc roots %s: add %s: %w", d.Path, path, err)
	}
	return nil
}

// Roots lists the recorded roots, sorted by path.
func (d *DB) Roots() ([]Root, error) {
	rows, err := d.db.Query(`SELECT path, kind, added FROM roots ORDER BY path`)
	if err != nil {
		return nil, fmt.Errorf("gc roots %s: %w", d.Path, err)
	}
	defer rows.Close()
	var out []Root
	for rows.Next() {
		var r Root
		var kind string
		var added int64
		if err := rows.Scan(&r.Path, &kind, &added); err != nil {
			return nil, fmt.Errorf("gc roots %s: %w", d.Path, err)
		}
		r.Kind, r.Added = Kind(kind), time.Unix(0, added)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Drop forgets a root.
func (d *DB) Drop(path string) error {
	if _, err := d.db.Exec(`DELETE FROM roots WHERE path = ?`, path); err != nil {
		return fmt.Errorf("gc roots %s: drop %s: %w", d.Path, path, err)
	}
	return nil
}

// NoteStore records the names of store entries.
func (d *DB) NoteStore(entries ...StoreEntry) error {
	tx, err := d.db.Begin()
	if err != nil {
		return fmt.Errorf("gc roots %s: %w", d.Path, err)
	}
	defer tx.Rollback()
	for _, e := range entries {
		if _, err := tx.Exec(`INSERT OR REPLACE INTO store (pkghash, name, tree, seen) VALUES (?, ?, ?, ?)`,
			e.PkgHash, e.Name, e.Tree, e.Seen.UnixNano()); err != nil {
			return fmt.Errorf("gc roots %s: %w", d.Path, err)
		}
	}
	return tx.Commit()
}

// StoreEntries returns every recorded store entry by pkghash.
func (d *DB) StoreEntries() (map[string]StoreEntry, error) {
	rows, err := d.db.Query(`SELECT pkghash, name, tree, seen FROM store`)
	if err != nil {
		return nil, fmt.Errorf("gc roots %s: %w", d.Path, err)
	}
	defer rows.Close()
	out := map[string]StoreEntry{}
	for rows.Next() {
		var e StoreEntry
		var seen int64
		if err := rows.Scan(&e.PkgHash, &e.Name, &e.Tree, &seen); err != nil {
			return nil, fmt.Errorf("gc roots %s: %w", d.Path, err)
		}
		e.Seen = time.Unix(0, seen)
		out[e.PkgHash] = e
	}
	return out, rows.Err()
}

// ForgetStore drops the records of store entries.
func (d *DB) ForgetStore(pkghashes ...string) error {
	tx, err := d.db.Begin()
	if err != nil {
		return fmt.Errorf("gc roots %s: %w", d.Path, err)
	}
	defer tx.Rollback()
	for _, h := range pkghashes {
		if _, err := tx.Exec(`DELETE FROM store WHERE pkghash = ?`, h); err != nil {
			return fmt.Errorf("gc roots %s: %w", d.Path, err)
		}
	}
	return tx.Commit()
}
