package main

import (
	"context"
	"fmt"
	"strings"
)

// longHelp is what hdo help TOPIC says about each verb (and about build,
// hdo's default) beyond its one line: how it behaves, and an example.

// helpVerb prints the verb list, or one verb's (or build's) long help and
// flags.
func helpVerb(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "help")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		printUsage(e.stdout)
		return nil
	case 1:
	default:
		return usagef("help takes one verb, not %d words", fs.NArg())
	}
	name := fs.Arg(0)
	v, ok := verbs[name]
	if name == "build" {
		v, ok = buildVerbEntry, true
	}
	if !ok {
		return usagef("help %s: no such verb (hdo help lists them)", name)
	}
	fmt.Fprintf(e.stdout, "usage: hdo %s\n\n%s.\n\n%s\n", v.usage, upperFirst(v.help), v.long)
	// The flags, as -h prints them, without its usage line.
	var flags strings.Builder
	sub := *e
	sub.stderr = &flags
	err := v.run(ctx, &sub, []string{"-h"})
	if ee, ok := err.(*exitError); !ok || ee.code != 0 {
		return fmt.Errorf("help %s: its -h failed: %v", name, err)
	}
	_, rest, _ := strings.Cut(flags.String(), "\n")
	if rest != "" {
		fmt.Fprintf(e.stdout, "\nflags:\n%s", rest)
	}
	return nil
}

// upperFirst capitalizes a verb's line for use as a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
