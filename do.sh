#!/bin/sh
# do.sh: run hdo from a checkout. Builds ./bin/hdo with go when it is
# missing or older than any Go source, go.mod or go.sum, then execs it with
# the arguments, e.g. ./do.sh ./pkg/make/.pkg.tar.gz
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/bin/hdo
stale=
if [ ! -x "$bin" ]; then
	stale=1
elif [ -n "$(find "$here/go.mod" "$here/go.sum" "$here/cmd" "$here/engine" "$here/internal" "$here/sandbox" "$here/bootstrap" \
	-name '*.go' -newer "$bin" -o -name 'go.*' -newer "$bin" 2>/dev/null | head -n 1)" ]; then
	stale=1
fi
if [ -n "$stale" ]; then
	echo "do.sh: building $bin" >&2
	# A static binary: hdo starts many short processes (redo-ifchange in
	# every .do script), and a venv's copy of it runs on any Linux.
	(cd "$here" && go build -tags 'netgo osusergo sqlite_omit_load_extension' \
		-ldflags '-linkmode=external -extldflags=-static -s -w' \
		-o "$bin.tmp" ./cmd/hdo && mv -f "$bin.tmp" "$bin")
fi
exec "$bin" "$@"
