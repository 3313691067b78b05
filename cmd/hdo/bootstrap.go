package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/hdo-build/hdo/bootstrap"
)

// stringList is a repeatable flag that also splits on commas and spaces.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error {
	*s = append(*s, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })...)
	return nil
}

func bootstrapVerb(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args = append([]string{"lock"}, args...)
	}
	if len(args) == 0 || args[0] != "lock" {
		return usagef("bootstrap needs the word lock (the only thing it does today)")
	}
	flags := newFlags(e, "bootstrap")
	var pkgs stringList
	flags.Var(&pkgs, "debian", "a Debian package to pin with its dependency closure (repeatable; default: the lock's packages line)")
	lists := flags.String("lists", bootstrap.DefaultListsDir, "apt's package lists `dir` (run apt-get update first for the newest versions)")
	if err := parse(flags, args[1:]); err != nil {
		return err
	}
	if flags.NArg() != 1 {
		return usagef("bootstrap lock needs one seed directory, not %d arguments", flags.NArg())
	}
	dir := absFrom(e.cwd, flags.Arg(0))
	name := filepath.Join(flags.Arg(0), "seed.lock")
	path := filepath.Join(dir, "seed.lock")
	var old *bootstrap.Lock
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if old, err = bootstrap.ParseLock(name, data); err != nil {
			return err
		}
	case errors.Is(err, fs.ErrNotExist):
		if len(pkgs) == 0 {
			return fmt.Errorf("%s does not exist: name the Debian packages to pin with --debian", name)
		}
	default:
		return err
	}
	text, err := bootstrap.GenerateLock(ctx, bootstrap.LockOptions{Old: old, Packages: pkgs, ListsDir: *lists, Name: name})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := renameio.WriteFile(path, text, 0o644); err != nil {
		return err
	}
	lock, err := bootstrap.ParseLock(name, text)
	if err != nil {
		return err
	}
	var size int64
	for _, d := range lock.Debs {
		size += d.Size
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d Debian packages, %.1f MB to download\n", name, len(lock.Debs), float64(size)/1e6)
	return nil
}
