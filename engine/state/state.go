// Package state keeps what hdo knows about a tree between runs: for every
// file it has seen, its last stat and content hash; for every target, the
// rule that built it and the dependencies it recorded, each with the hash it
// had at build time. It lives in one sqlite database per tree,
// <root>/.hdo/state.db, in WAL mode so readers never wait for the writer.
package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/hdo-build/hdo/engine/fingerprint"
	"github.com/hdo-build/hdo/internal/flock"
	_ "github.com/mattn/go-sqlite3"
)

// SchemaVersion is recorded in the database; a database written by another
// schema version is an error that says what to do.
const SchemaVersion = 1

// Dir is the name of the state directory at the tree root.
const Dir = ".hdo"

// DepKind says how a target depends on a file.
type DepKind byte

const (
	// IfChange: rebuild when the file's identity differs from Hash.
	IfChange DepKind = 'c'
	// IfCreate: rebuild when the (absent) file appears.
	IfCreate DepKind = 'n'
)

// Dep is one recorded dependency of a target.
type Dep struct {
	Path string           // root-relative, e.g. src/a.in
	Kind DepKind          // IfChange or IfCreate
	Hash fingerprint.Hash // the dependency's identity when the target was built
}

// Record is the state of one file.
type Record struct {
	Path     string           // root-relative, slash-separated, e.g. pkg/make/.pkghash
	Stat     fingerprint.Stat // last observed stat
	Hash     fingerprint.Hash // content hash for that stat (Absent: no file)
	Recorded int64            // ns wall time the stat was taken, for racy checks

	Target   bool             // built by hdo (else a source)
	Rule     string           // rule that built it: e.g. default.out.do or builtin:pkghash/1
	Always   bool             // redo-always: out of date on every run
	Building bool             // a build started and did not finish: never fresh
	Failed   bool             // the last build failed; Stat is the file it left
	Stamp    fingerprint.Hash // redo-stamp identity, if the script called redo-stamp
	Deps     []Dep
	BuildID  int64 // changes on every completed build; tells one process another built it
	Built    int64 // ns wall time the last build finished

	// Listing is set on directory-listing records, whose Path ends in "/":
	// the directory's entries when it had Stat, so that a run finds an
	// unchanged directory's .do files and absent files with one stat.
	Listing []Entry
}

// Entry is one directory entry of a listing.
type Entry struct {
	Name string // e.g. default.do
	Type uint8  // d_type, e.g. DT_REG
}

// Ident is the identity dependents compare: the redo-stamp if one was
// recorded, else the content hash.
func (r *Record) Ident() fingerprint.Hash {
	if r.Target && r.Stamp != (fingerprint.Hash{}) {
		return r.Stamp
	}
	return r.Hash
}

// DB is an open state database.
type DB struct {
	db   *sql.DB
	Path string    // e.g. /src/tree/.hdo/state.db
	Dir  *StateDir // the state directory holding it, for logs and locks
	mu   sync.Mutex
}

// ErrSchema reports a database written by an unknown schema version.
var ErrSchema = errors.New("state database has an unknown schema version")

// Open opens (creating if needed) the state database of the tree at root,
// in its state directory (see OpenDir; note hears of a distrusted one
// moved aside).
func Open(root string, note func(format string, args ...any)) (*DB, error) {
	dir, err := OpenDir(root, note)
	if err != nil {
		return nil, err
	}
	s, err := openDB(dir)
	if err != nil {
		dir.Close()
		return nil, err
	}
	return s, nil
}

func openDB(dir *StateDir) (*DB, error) {
	path := filepath.Join(dir.Path, "state.db")
	// SQLite opens its files by name: they must not be symlinks.
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		if fi, err := os.Lstat(filepath.Join(dir.Path, name)); err == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("state: %s is not a regular file (%v); remove it", filepath.Join(dir.Path, name), fi.Mode().Type())
		}
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=30000&_txlock=immediate&cache=private"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &DB{db: db, Path: path, Dir: dir}
	// The first connection turns a new database to WAL and creates the
	// schema. SQLite can answer a second process doing the same at that
	// moment with "database is locked" without waiting for its busy
	// timeout, so processes take turns here (an flock held only while
	// the connection opens).
	lf, err := dir.OpenFile("state.lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state: %w", err)
	}
	err = flock.WithFile(lf, s.init)
	lf.Close()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return s, nil
}

// The files table keeps the path, the target flag and the rule as columns
// (for people reading the database with sqlite3) and the whole record,
// those included, packed in one blob: loading a tree's state is one query
// reading one column per file (see deps.go).
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
	path   TEXT PRIMARY KEY,
	target INTEGER NOT NULL,
	rule   TEXT NOT NULL,
	rec    BLOB NOT NULL
) WITHOUT ROWID;
`

func (s *DB) init() error {
	var v string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&v)
	if err == nil {
		if v != fmt.Sprint(SchemaVersion) {
			return fmt.Errorf("%w (got %s, want %d): remove %s to start afresh", ErrSchema, v, SchemaVersion, filepath.Dir(s.Path))
		}
		return nil
	}
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)`, fmt.Sprint(SchemaVersion)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'schema'`).Scan(&v); err != nil {
		return err
	}
	if v != fmt.Sprint(SchemaVersion) {
		return fmt.Errorf("%w (got %s, want %d)", ErrSchema, v, SchemaVersion)
	}
	return nil
}

// Close closes the database and its state directory.
func (s *DB) Close() error {
	err := s.db.Close()
	if s.Dir != nil {
		s.Dir.Close()
	}
	return err
}

const columns = `path, target, rule, rec`

type scanner interface{ Scan(...any) error }

func scan(row scanner) (*Record, error) {
	r := &Record{}
	var blob []byte
	if err := row.Scan(&blob); err != nil {
		return nil, err
	}
	if err := decode(r, blob); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadAll reads every record. A no-op run reads the state once this way
// instead of one query per file; it talks to the sqlite driver directly,
// since database/sql's per-row conversions cost more than the decoding.
func (s *DB) LoadAll() (map[string]*Record, error) {
	conn, err := s.db.Conn(context.Background())
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.Path, err)
	}
	defer conn.Close()
	m := make(map[string]*Record)
	err = conn.Raw(func(dc any) error {
		q, ok := dc.(driver.QueryerContext)
		if !ok {
			return errors.New("sqlite driver cannot query")
		}
		rows, err := q.QueryContext(context.Background(), `SELECT rec FROM files`, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, 1)
		for {
			if err := rows.Next(dest); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			blob, _ := dest[0].([]byte)
			r := &Record{}
			if err := decode(r, blob); err != nil {
				return err
			}
			m[r.Path] = r
		}
	})
	if err != nil {
		return nil, fmt.Errorf("state %s: %w", s.Path, err)
	}
	return m, nil
}

// Get reads one record; it returns nil, nil if there is none.
func (s *DB) Get(path string) (*Record, error) {
	r, err := scan(s.db.QueryRow(`SELECT rec FROM files WHERE path = ?`, path))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state %s: %s: %w", s.Path, path, err)
	}
	return r, nil
}

// Put writes records in one transaction.
func (s *DB) Put(recs ...*Record) error { return s.PutObserved(recs, nil) }

// PutObserved writes recs, and the observed records (what a run saw of a
// file, not a build of it: a source's stat and hash, a target's refreshed
// stat) unless they would undo another process's build, all in one
// transaction. An observed target record is written only while the
// stored one is of the same finished build (same BuildID); an observed
// source record only where no target record is stored.
func (s *DB) PutObserved(recs, observed []*Record) error {
	if len(recs) == 0 && len(observed) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return fmt.Errorf("state %s: %w", s.Path, err)
	}
	defer tx.Rollback()
	st, err := tx.Prepare(`INSERT OR REPLACE INTO files (` + columns + `) VALUES (?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("state %s: %w", s.Path, err)
	}
	defer st.Close()
	for _, r := range recs {
		_, err := st.Exec(r.Path, r.Target, r.Rule, encode(r))
		if err != nil {
			return fmt.Errorf("state %s: %s: %w", s.Path, r.Path, err)
		}
	}
	for _, r := range observed {
		var blob []byte
		err := tx.QueryRow(`SELECT rec FROM files WHERE path = ?`, r.Path).Scan(&blob)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state %s: %s: %w", s.Path, r.Path, err)
		}
		if err == nil {
			var cur Record
			if decode(&cur, blob) == nil && cur.Target && (!r.Target || cur.Building || cur.BuildID != r.BuildID) {
				continue // built by someone else since r's run loaded it
			}
		}
		if _, err := st.Exec(r.Path, r.Target, r.Rule, encode(r)); err != nil {
			return fmt.Errorf("state %s: %s: %w", s.Path, r.Path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("state %s: %w", s.Path, err)
	}
	return nil
}

// Delete removes the records of paths.
func (s *DB) Delete(paths ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, p := range paths {
		if _, err := tx.Exec(`DELETE FROM files WHERE path = ?`, p); err != nil {
			return err
		}
	}
	return tx.Commit()
}
