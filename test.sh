#!/bin/sh
# test.sh: the project's test command. Installs the tools the tests use
# (GNU make, bubblewrap for the sandbox comparison) from the host's Debian
# packages when missing and when run as root, runs the Go test suite, and
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
	go test ./...
	FUZZTIME=${FUZZTIME:-5s} .ci/fuzz
else
	exec go test "$@"
fi
