package main

import (
	"context"
	"fmt"
	"strings"
)

// longHelp is what hdo help TOPIC says about each verb (and about build,
// hdo's default) beyond its one line: how it behaves, and an example.
var longHelp = map[string]string{
	"build": `Brings each TARGET up to date, as redo-ifchange does: a target is rebuilt
when it was never built, its last build failed, its rule changed, or the
content of something it depends on changed. -f rebuilds the targets even
if they are up to date, as redo does. A package directory as TARGET stands
for its .pkg.tar.gz. Package targets are fetched from a binary cache by
their pkghash (HDO_CACHE_URL) before a build is tried.

Example:
  hdo ./pkg/make/.pkg.tar.gz    build make and its closure
  hdo -j4 -k all                build all with 4 jobs, past failures`,
	"bootstrap": `Reads the Debian packages a seed lock pins (or those --debian names, with
their dependency closure) from the host's apt lists and writes
SEEDDIR/seed.lock again with their current versions, sizes and sums.

Example:
  hdo bootstrap lock pkg/seed`,
	"check": `Rebuilds each package in a fresh sandbox from its build closure and
compares the content hash with its tarball's. A rebuild that differs is
kept in ~/.cache/hdo/check/ (until hdo gc) and the differing files listed.

Example:
  hdo check pkg/make pkg/libc`,
	"fetch": `Downloads each package's sources (its fetch file) through the configured
mirrors into the source cache and checks them against sha256sums.

Example:
  hdo fetch pkg/make`,
	"gc": `Removes from ~/.cache/hdo what no registered tree, venv or --keep path
needs, and prints what it freed per kind. It waits for running builds.

Example:
  hdo gc --dry-run -v`,
	"graph": `Prints the dependency graph hdo recorded for the targets, in Graphviz's
DOT; --svg renders it with dot. -all also shows redo-ifcreate edges.

Example:
  hdo graph --svg make.svg pkg/make/.pkg.tar.gz`,
	"hash-inputs": `Prints every line hashed into PKGDIR's .pkghash, in order, then the hash:
what to compare when two trees disagree on a package's identity.

Example:
  hdo hash-inputs pkg/make`,
	"help": `Lists the verbs; hdo help VERB describes one, with its flags.

Example:
  hdo help gc`,
	"install-links": `Writes redo, redo-ifchange and the other redo* names into DIR as symlinks
to this hdo, for running .do scripts' commands outside hdo.

Example:
  hdo install-links ~/bin`,
	"key": `Writes NAME.sec (mode 0600) and NAME.pub: an ed25519 key pair for hdo
publish --key and HDO_TRUSTED_KEYS.

Example:
  hdo key generate mycache`,
	"log": `Prints what TARGET's last build wrote to stderr.

Example:
  hdo log pkg/make/.pkg.tar.gz`,
	"new": `Creates PKGDIR with a build script to fill in, a commented fetch file,
and empty build-deps and run-deps.

Example:
  hdo new pkg/hello`,
	"ood": `Lists the targets that are out of date, as redo-ood does; it builds
nothing and creates no state.

Example:
  hdo ood`,
	"publish": `Builds (or fetches) the packages and copies them and their closures into
DIR, a static binary cache any web server can serve: PKGHASH.tar.gz and
PKGHASH.info, signed with --key. Publishing twice is harmless.

Example:
  hdo publish -o /srv/cache --key mycache.sec pkg/make`,
	"run": `Builds (or fetches) the packages and runs CMD with the packages' and their
closures' top-level directories (bin, lib, usr, ...) in place of the
host's, straight from the store.

Example:
  hdo run pkg/make -- make --version`,
	"shell": `Opens an interactive shell in the sandbox a build of PKGDIR would get:
the build closure as /, the sources unpacked, the build's environment set,
on a terminal of its own.

Example:
  hdo shell pkg/make`,
	"sources": `Lists every source file hdo has seen in this tree, as redo-sources does.

Example:
  hdo sources`,
	"targets": `Lists every target hdo has built that exists, as redo-targets does.

Example:
  hdo targets`,
	"venv": `Builds (or fetches) the packages and unpacks them and their closures into
DIR. DIR/bin/venv-run CMD runs CMD with DIR's top-level directories in
place of the host's.

Example:
  hdo venv -o v pkg/make && v/bin/venv-run make --version`,
	"watch": `Builds the targets, then rebuilds them whenever a file they were built
from changes (bursts grouped into one rebuild after 100 ms), until Ctrl-C.

Example:
  hdo watch -j4 all`,
	"whichdo": `Lists the .do files hdo tries for TARGET, in order, ending with the one
it uses, as redo-whichdo does.

Example:
  hdo whichdo src/x.o`,
	"why": `Says why each TARGET is out of date: the input that changed and the
targets it changed through, "always", "never built", or "up to date".

Example:
  hdo why pkg/make/.pkg.tar.gz`,
}

func init() {
	register("help", verb{
		usage: "help [VERB]",
		help:  "list the verbs, or describe one",
		run:   helpVerb,
	})
}

// helpVerb prints the verb list, or one verb's (or build's) long help and
// flags.
func helpVerb(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stdout)
		return nil
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintf(e.stderr, "usage: hdo %s\n", verbs["help"].usage)
		return &exitError{0}
	}
	if len(args) > 1 {
		return usagef("help takes one verb, not %d words", len(args))
	}
	name := args[0]
	long, ok := longHelp[name]
	v, isVerb := verbs[name]
	if !ok || !isVerb && name != "build" {
		return usagef("help %s: no such verb (hdo help lists them)", name)
	}
	usage, one := "[-j N] [-k] [-x] [-f] [-q] TARGET...", "build targets"
	if isVerb {
		usage, one = v.usage, v.help
	}
	fmt.Fprintf(e.stdout, "usage: hdo %s\n\n%s.\n\n%s\n", usage, one, long)
	// The flags, as -h prints them, without its usage line.
	var flags strings.Builder
	sub := *e
	sub.stderr = &flags
	var err error
	if isVerb {
		err = v.run(ctx, &sub, []string{"-h"})
	} else {
		var bf buildFlags
		err = parse(bf.register(&sub, "hdo"), []string{"-h"})
	}
	if ee, ok := err.(*exitError); !ok || ee.code != 0 {
		return fmt.Errorf("help %s: its -h failed: %v", name, err)
	}
	_, rest, _ := strings.Cut(flags.String(), "\n")
	if rest != "" {
		fmt.Fprintf(e.stdout, "\nflags:\n%s", rest)
	}
	return nil
}
