package main

// The verb table: every subcommand, in the order and groups hdo help lists
// them. Each verb's code lives in a file of its own; its flags are its
// own, and buildFlags.register takes the set of build flags it uses.

import "context"

// A verb is one subcommand: hdo VERB ARGS...
type verb struct {
	name  string
	usage string // after "hdo ", e.g. "log TARGET"
	help  string // one line, for the verb list
	long  string // hdo help VERB: how it behaves, and an example
	run   func(ctx context.Context, env *env, args []string) error
	// build is the set of build flags (-j, -k, ...) the verb takes.
	build buildFlagSet
}

// verbGroup is one heading of the verb list and its verbs, in order.
type verbGroup struct {
	title string
	verbs []*verb
}

// verbGroups is the table; buildVerb (hdo TARGET...) comes first, under
// the name "build", which is no verb of its own on the command line: hdo
// build builds the target "build".
var verbGroups []verbGroup

// verbs maps names to the table's entries, build excluded.
var verbs = map[string]*verb{}

// buildVerbEntry is the table's entry for hdo TARGET...
var buildVerbEntry *verb

func init() {
	verbGroups = []verbGroup{
		{"Building", []*verb{
			{
				name:  "build",
				usage: "[-j N] [-k] [-x] [-f] [-q] TARGET...",
				help:  "build targets, as redo-ifchange does (-f: as redo); a package dir stands for its .pkg.tar.gz",
				build: fBuild,
				run:   buildVerb,
				long: `Brings each TARGET up to date, as redo-ifchange does: a target is rebuilt
when it was never built, its last build failed, its rule changed, or the
content of something it depends on changed. -f rebuilds the targets even
if they are up to date, as redo does. A package directory as TARGET stands
for its .pkg.tar.gz. Package targets are fetched from a binary cache by
their pkghash (HDO_CACHE_URL) before a build is tried.

Example:
  hdo ./pkg/make/.pkg.tar.gz    build make and its closure
  hdo -j4 -k all                build all with 4 jobs, past failures`,
			},
			{
				name:  "watch",
				usage: "watch [-j N] [-k] [-x] [-f] [-q] TARGET...",
				help:  "build the targets, then rebuild them whenever an input changes, until Ctrl-C",
				build: fBuild &^ fProfile,
				run:   watchVerb,
				long: `Builds the targets, then rebuilds them whenever a file they were built
from changes (bursts grouped into one rebuild after 100 ms), until Ctrl-C.

Example:
  hdo watch -j4 all`,
			},
			{
				name:  "fetch",
				usage: "fetch [--print-sums] PKGDIR...",
				help:  "download and verify packages' sources into the source cache; --print-sums prints the sums sha256sums lacks",
				run:   fetchVerb,
				long: `Downloads each package's sources (its fetch file) through the configured
mirrors into the source cache and checks them against sha256sums.

--print-sums is for writing sha256sums, as nix-prefetch-url and guix
download are: it downloads the files fetch lists that sha256sums has no
line for (every file, when there is no sha256sums) and prints a line
for each as sha256sum would. Check the files first: the sums are only
those of what the mirrors served.

Example:
  hdo fetch pkg/make
  hdo fetch --print-sums pkg/hello >> pkg/hello/sha256sums`,
			},
			{
				name:  "shell",
				usage: "shell [-q] [--binary-only] [--keep] PKGDIR",
				help:  "open a shell in the sandbox a build of PKGDIR gets (sources unpacked, env set)",
				build: fQuiet | fBinaryOnly,
				run:   shellVerb,
				long: `Opens an interactive shell in the sandbox a build of PKGDIR would get:
the build closure as /, the sources unpacked, the build's environment set,
on a terminal of its own. Its work dir is removed when it exits; --keep
keeps it (under ~/.cache/hdo/build/, until hdo gc).

Example:
  hdo shell pkg/make`,
			},
			{
				name:  "lint",
				usage: "lint [-j N] [-q] [--binary-only] [PKGDIR...]",
				help:  "check that packages' run closures give their files what they need at run time",
				build: fPackages,
				run:   lintVerb,
				long: `Builds (or fetches) the packages (default: every package of the tree) and
scans their files: each ELF file's interpreter and shared libraries, looked
up as the dynamic loader would in the package over its run closure, and
each script's #! interpreter; and the package's files: a build that never
names $DESTDIR, an entry of files/ the build never names. Prints one line
per finding (a missing need names the built package that provides it) and
exits 1 if there is one.

Example:
  hdo lint pkg/make
  pkg/hello: usr/bin/hello needs libc.so.6: add ../libc to pkg/hello/run-deps`,
			},
			{
				name:  "check",
				usage: "check [-j N] [-k] [-q] PKGDIR...",
				help:  "rebuild packages in a fresh sandbox and compare with their tarballs",
				build: fJobs | fKeepGoing | fQuiet,
				run:   checkVerb,
				long: `Rebuilds each package in a fresh sandbox from its build closure and
compares the content hash with its tarball's. A rebuild that differs is
kept in ~/.cache/hdo/check/ (until hdo gc) and the differing files listed.

Example:
  hdo check pkg/make pkg/libc`,
			},
		}},
		{"Querying the last builds", []*verb{
			{
				name:  "log",
				usage: "log TARGET",
				help:  "print the stderr of TARGET's last build",
				run:   logVerb,
				long: `Prints what TARGET's last build wrote to stderr.

Example:
  hdo log pkg/make/.pkg.tar.gz`,
			},
			{
				name:  "why",
				usage: "why TARGET...",
				help:  "say why each TARGET is out of date: the input that changed, and through which targets",
				run:   whyVerb,
				long: `Says why each TARGET is out of date: the input that changed and the
targets it changed through, "always", "never built", or "up to date".

Example:
  hdo why pkg/make/.pkg.tar.gz`,
			},
			{
				name:  "ood",
				usage: "ood",
				help:  "list the targets that are out of date",
				run:   listVerb("ood"),
				long: `Lists the targets that are out of date, as redo-ood does; it builds
nothing and creates no state.

Example:
  hdo ood`,
			},
			{
				name:  "targets",
				usage: "targets",
				help:  "list every target hdo has built that exists",
				run:   listVerb("targets"),
				long: `Lists every target hdo has built that exists, as redo-targets does.

Example:
  hdo targets`,
			},
			{
				name:  "sources",
				usage: "sources",
				help:  "list every source file hdo has seen",
				run:   listVerb("sources"),
				long: `Lists every source file hdo has seen in this tree, as redo-sources does.

Example:
  hdo sources`,
			},
			{
				name:  "whichdo",
				usage: "whichdo TARGET",
				help:  "list the .do files tried for TARGET, the one used last",
				run:   whichdoVerb,
				long: `Lists the .do files hdo tries for TARGET, in order, ending with the one
it uses, as redo-whichdo does.

Example:
  hdo whichdo src/x.o`,
			},
			{
				name:  "graph",
				usage: "graph [-all] [--svg FILE] TARGET...",
				help:  "print the recorded dependency graph in DOT, or render it to SVG",
				run:   graphVerb,
				long: `Prints the dependency graph hdo recorded for the targets, in Graphviz's
DOT; --svg renders it with Graphviz's dot. Package targets are labelled
by package name, run-deps drawn bold and build-deps dashed blue; -all
also shows a package's own files and redo-ifcreate edges.

Example:
  hdo graph --svg make.svg pkg/make/.pkg.tar.gz`,
			},
			{
				name:  "hash-inputs",
				usage: "hash-inputs PKGDIR",
				help:  "print every line hashed into PKGDIR's .pkghash, and the hash",
				run:   hashInputsVerb,
				long: `Prints every line hashed into PKGDIR's .pkghash, in order, then the hash:
what to compare when two trees disagree on a package's identity.

Example:
  hdo hash-inputs pkg/make`,
			},
		}},
		{"Using packages", []*verb{
			{
				name:  "run",
				usage: "run [-j N] [-q] [--binary-only] PKGDIR... -- CMD [ARGS...]",
				help:  "build (or fetch) packages and run CMD with their closures' top-level dirs in place of the host's",
				build: fPackages,
				run:   runVerb,
				long: `Builds (or fetches) the packages and runs CMD with the packages' and their
closures' top-level directories (bin, lib, usr, ...) in place of the
host's, straight from the store.

Example:
  hdo run pkg/make -- make --version`,
			},
			{
				name:  "venv",
				usage: "venv -o DIR [-j N] [-q] [--binary-only] PKGDIR...",
				help:  "unpack packages and their closures into DIR, with DIR/bin/venv-run to run commands in it",
				build: fPackages,
				run:   venvVerb,
				long: `Builds (or fetches) the packages and unpacks them and their closures into
DIR. DIR/bin/venv-run CMD runs CMD with DIR's top-level directories in
place of the host's.

Example:
  hdo venv -o v pkg/make && v/bin/venv-run make --version`,
			},
			{
				name:  "publish",
				usage: "publish -o DIR [--key FILE] [-j N] [-k] [-q] [--binary-only] PKGDIR...",
				help:  "copy packages and their closures into a static binary cache",
				build: fPackages | fKeepGoing,
				run:   publishVerb,
				long: `Builds (or fetches) the packages and copies them and their closures into
DIR, a static binary cache any web server can serve: PKGHASH.tar.gz and
PKGHASH.info, signed with --key. Publishing twice is harmless.

Example:
  hdo publish -o /srv/cache --key mycache.sec pkg/make`,
			},
			{
				name:  "key",
				usage: "key generate NAME",
				help:  "write a signing key pair NAME.sec and NAME.pub for publish --key",
				run:   keyVerb,
				long: `Writes NAME.sec (mode 0600) and NAME.pub: an ed25519 key pair for hdo
publish --key and HDO_TRUSTED_KEYS.

Example:
  hdo key generate mycache`,
			},
		}},
		{"Maintaining a tree", []*verb{
			{
				name:  "new",
				usage: "new PKGDIR [--fetch URL...]",
				help:  "create a package directory: a skeleton, or one that fits the sources at URL",
				run:   newVerb,
				long: `Creates PKGDIR with a build script to fill in, a commented fetch file,
and empty build-deps and run-deps.

With --fetch, it downloads each URL through the configured mirrors (as
hdo fetch --print-sums does) and writes fetch and sha256sums for them.
The first tarball's listing picks the build script: configure, meson.build,
CMakeLists.txt or a Makefile at its top. build-deps gets ../seed and the
build tools the tree has packages of (../make, ...), run-deps ../libc when
the sources are C. Nothing is written if a download fails.

Example:
  hdo new pkg/hello
  hdo new pkg/hello --fetch mirror://debian/pool/main/h/hello/hello_2.10.orig.tar.gz`,
			},
			{
				name:  "bootstrap",
				usage: "bootstrap lock [--debian PKG...] [--lists DIR] SEEDDIR",
				help:  "re-pin a seed's Debian packages from the host's apt metadata",
				run:   bootstrapVerb,
				long: `Reads the Debian packages a seed lock pins (or those --debian names, with
their dependency closure) from the host's apt lists and writes
SEEDDIR/seed.lock again with their current versions, sizes and sums.

Example:
  hdo bootstrap lock pkg/seed`,
			},
			{
				name:  "gc",
				usage: "gc [--dry-run] [-v] [--keep PATH]...",
				help:  "remove from the caches what no tree, venv or --keep PATH needs",
				run:   gcVerb,
				long: `Removes from ~/.cache/hdo what no registered tree, venv or --keep path
needs, and prints what it freed per kind. It waits for running builds.

Example:
  hdo gc --dry-run -v`,
			},
			{
				name:  "install-links",
				usage: "install-links DIR",
				help:  "write redo, redo-ifchange, ... symlinks to hdo into DIR",
				run:   installLinksVerb,
				long: `Writes redo, redo-ifchange and the other redo* names into DIR as symlinks
to this hdo, for running .do scripts' commands outside hdo.

Example:
  hdo install-links ~/bin`,
			},
			{
				name:  "help",
				usage: "help [VERB]",
				help:  "list the verbs, or describe one with its flags and an example",
				run:   helpVerb,
				long: `Lists the verbs; hdo help VERB describes one, with its flags.

Example:
  hdo help gc`,
			},
		}},
	}
	for _, g := range verbGroups {
		for _, v := range g.verbs {
			if v.name == "build" {
				buildVerbEntry = v
				continue
			}
			verbs[v.name] = v
		}
	}
}
