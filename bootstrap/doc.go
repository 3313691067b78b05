// Package bootstrap turns a seed lock into a seed root, deterministically:
// the same lock gives the same tarball bytes on any machine (with the same
// hdo), needing only the Go module proxy and a Debian mirror.
//
// A seed package is a package directory with a seed.lock instead of a build
// script. Its .pkg.tar.gz comes from Build; its identity is Lock.Key, a
// blake3 of the canonical lock text, FormatVersion and the sources of the
// commands hdo embeds (Lock.KeyInputs prints them all).
//
// # The seed.lock format
//
// A seed.lock is UTF-8 text, one entry per line, fields separated by spaces
// or tabs. A '#' at the start of a line or after white space starts a
// comment, which runs to the end of the line; blank lines are ignored.
// Comment lines before the header are kept by Format (and `hdo bootstrap
// lock`); other comments are not. The first other line is the header:
//
//	hdo-seed-lock 1
//
// Then, in any order (Format writes them in this order):
//
//	arch ARCH
//	    Required, once. The Debian architecture of the seed: amd64 or
//	    arm64. Stage0 commands are built for it; deb lines are resolved
//	    for it (and "all").
//
//	go GOVERSION
//	    Once, required with cmd lines, e.g. "go go1.26.8". The Go release
//	    that compiles the stage0 commands. The go command on PATH (go1.21
//	    or later) runs it through GOTOOLCHAIN; when the local go is that
//	    release, nothing is downloaded.
//
//	stage0 MODULE VERSION H1SUM H1GOMODSUM
//	    Once, required with cmd lines. The Go module providing the stage0
//	    commands and its two go.sum hashes (module zip, then go.mod), e.g.
//	    "stage0 github.com/u-root/u-root v0.16.0 h1:wY40...= h1:yL/X...=".
//	    The module's own go.mod and go.sum pin everything else it uses,
//	    including gobusybox's makebb, which builds the multicall binary.
//
//	cmd IMPORTPATH PATH
//	    A command of the stage0 multicall binary, installed at PATH as a
//	    relative symlink to /bin/bb. IMPORTPATH is a main package inside the
//	    stage0 module, or hdo/sh or hdo/env, two commands whose sources hdo
//	    embeds (bootstrap/cmds). The last element of PATH must be the
//	    command's name (the last element of IMPORTPATH); the same package
//	    may be installed at several paths; two packages may not share a
//	    name.
//
//	gotoolchain GOVERSION SHA256
//	    Once, optional. The golang.org/toolchain module zip of that release
//	    for linux/ARCH, by the hex sha256 of the zip, unpacked at
//	    /usr/local/go the way the go command unpacks toolchains. It is
//	    fetched from the first proxy in GOPROXY:
//	    <proxy>/golang.org/toolchain/@v/v0.0.1-GOVERSION.linux-ARCH.zip.
//
//	packages NAME...
//	    Once, optional. The Debian packages the deb lines were resolved
//	    from; `hdo bootstrap lock SEEDDIR` resolves them again.
//
//	deb NAME VERSION mirror://MIRROR/POOLPATH SIZE SHA256
//	    A pinned Debian binary package: name, version (deb-version(7)),
//	    location (MIRROR is the archive name, the last element of its apt
//	    URI: debian, debian-security), size in bytes and hex sha256 of the
//	    .deb. Each name once.
//
//	prune PATH
//	    A path removed, with everything under it, after the debs are
//	    unpacked and before the links are made, e.g. "prune
//	    /usr/share/doc". Missing paths are fine; parents must not be
//	    symlinks. Each PATH once.
//
//	link PATH TARGET
//	    A fixup symlink PATH -> TARGET made last, e.g.
//	    "link /usr/bin/cc gcc-12". It replaces a file or symlink at PATH,
//	    never a directory. Each PATH once.
//
// Paths are absolute and clean. Any other line, a field count or value that
// does not fit, or a repeated entry is an error "FILE:LINE: what is wrong".
// Format writes the canonical text, which ParseLock reads back unchanged.
//
// # Building a seed root
//
// BuildRoot fills an empty directory in this order:
//
//  1. Each deb, in lock order: fetched through Options.Fetch, its size and
//     sha256 checked, its control file checked against the lock's name and
//     version, its data.tar (xz, zstd, gzip, bzip2, lzma or plain)
//     extracted. A later package replaces an earlier one's files and
//     symlinks. Extraction never follows a symlink: an entry whose parent
//     is a symlink, or that names "..", is an error. Device nodes and
//     fifos are left out (the sandbox makes /dev); setuid and setgid bits
//     are dropped; directory modes are applied at the end.
//  2. The Go toolchain, at /usr/local/go.
//  3. The stage0 commands (BuildStage0): one static multicall binary at
//     /bin/bb, built by makebb from the listed packages with CGO_ENABLED=0,
//     -trimpath, -ldflags "-s -w -buildid=" and GOAMD64=v1 (GOARM64=v8.0),
//     in a temporary module that requires exactly what the stage0 module
//     requires, with the host's GOPROXY and module cache but none of its
//     other Go settings (GOENV=off, GOFLAGS=-mod=readonly). Every cmd PATH
//     is a relative symlink to /bin/bb, and the skeleton /bin /dev /etc
//     /home /proc /tmp (1777) /usr/bin is made.
//  4. The prunes, then the links.
//
// Build writes the root as a deterministic tarball (internal/archive) into
// Options.CacheDir as KEY.tar.gz with its content hash in KEY.blake3, and
// returns it at once when it is already there.
//
// A pinned .deb that every mirror answers "not found" for is a
// *StaleDebError: "seed.lock:12: gcc-12 12.2.0-14 is no longer on the
// Debian mirror; run 'hdo bootstrap lock pkg/seed' to re-pin".
//
// # The stage0 seed
//
// Stage0Lock is the seed the test suites use: /bin/sh, env (/bin/env and
// /usr/bin/env) and the u-root v0.16.0 core commands base64 basename cat
// chmod cmp comm cp date dd dirname du echo false find grep gzip head
// hexdump id ln ls md5sum mkdir mkfifo mktemp mv printenv pwd readlink
// realpath rm seq shasum sleep sort strings sync tail tar tee timeout touch
// tr true truncate tsort uname uniq wc which xargs yes: about 4.5 MB
// unpacked, 2 MB as a tarball.
//
// /bin/sh is hdo's own front end to the mvdan.cc/sh interpreter (u-root's
// gosh takes no -e and drops script arguments): sh [-aefnux] [-o opt]
// [-c cmd [name [arg...]] | -s [arg...] | script [arg...]]. It runs
// typical build scripts: set -eu, functions, here-documents, $(...),
// $((...)), for/while/case/if, && and ||, pipes, subshells, trap, local,
// read, and executable files without a #! line. It does not support file
// descriptors above 2 (exec 3>&1 is an error), the options -v -h -m -C,
// and "exec" runs the command and exits instead of replacing the shell.
//
// Missing from stage0: sed, awk, cut, expr, install, diff, patch, make and
// sha256sum (use shasum -a 256). The u-root commands parse flags with Go's
// flag package, so combined short flags fail: use "ln -s -f", "head -n 1",
// "gzip -d -c"; cp has no -a or -p, chmod no -R, tar no -z (pipe through
// gzip), touch -d wants RFC 3339 times, date has no +FORMAT.
//
// # Locks from apt metadata
//
// GenerateLock (`hdo bootstrap lock [--debian PKG...] SEEDDIR`) resolves
// the closure of the requested packages from the Packages indexes in
// /var/lib/apt/lists (plain, .lz4, .gz or .xz) whose Release file has
// Origin: Debian: Pre-Depends and Depends (not Recommends or Suggests),
// the first alternative that exists at a fitting version, virtual
// packages through Provides (a provider already chosen first, then by
// Priority and name), from an empty system (Essential packages only when
// depended on), each package at the highest version any index offers
// (deb-version(7) order). The deb lines list dependencies before their
// dependents; ties, and the packages of a dependency cycle, go by name.
// The lock's other lines are kept.
package bootstrap
