package main

import (
	"context"
	"fmt"

	"github.com/hdo-build/hdo/internal/cache"
)

func init() {
	register("key", verb{
		usage: "key generate NAME",
		help:  "write a signing key pair NAME.sec and NAME.pub for hdo publish --key",
		run:   keyVerb,
	})
}

func keyVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "key", "key generate NAME")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "generate" {
		return usagef("usage: hdo key generate NAME")
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
