#!/bin/sh
# test.sh: the project's test command. Installs the tools the tests use
# (GNU make, bubblewrap for the sandbox comparison) from the host's Debian
# packages when missing and when run as root, checks gofmt, go vet,
# go mod tidy and staticcheck, runs the Go test suite, and
# then (for the whole suite) each fuzz target for $FUZZTIME (default 5s)
# through .ci/fuzz. Extra arguments go to go test instead, e.g.
# ./test.sh -run TestScript ./cmd/hdo
set -eu
cd "$(dirname "$0")"
need=
command -v make >/dev/null 2>&1 || need="$need make"
command -v bwrap >/dev/null 2>&1 || need="$need bubblewrap"
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: installing$need" >&2
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
	else
		echo "test.sh: missing$need; tests that need them will be skipped" >&2
	fi
fi
if [ $# -eq 0 ]; then
	# The gates every commit keeps: formatted, vetted, tidy.
	unformatted=$(gofmt -l cmd engine internal sandbox bootstrap 2>/dev/null)
	if [ -n "$unformatted" ]; then
		echo "test.sh: not gofmt-ed (run gofmt -w on them):" $unformatted >&2
		exit 1
	fi
	go vet ./...
	go mod tidy -diff
	# staticcheck, pinned, built through the Go module proxy on first use.
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	go test ./...
	FUZZTIME=${FUZZTIME:-5s} .ci/fuzz
else
	exec go test "$@"
fi
