package main

import (
	"context"
	"fmt"

	"github.com/hdo-build/hdo/internal/cache"
)

func keyVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "key")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "generate" {
		return usagef("key needs the word generate and a NAME for the key files")
	}
	name := fs.Arg(1)
	k, err := cache.GenerateKey(baseName(name), nil)
	if err != nil {
		return err
	}
	if err := cache.WriteKeyFiles(absFrom(e.cwd, name), k); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s.sec (keep it secret) and %s.pub (give it to users: HDO_TRUSTED_KEYS=%s.pub)\n", name, name, name)
	return nil
}
