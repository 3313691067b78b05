package pkgrule

// ShimDir is the directory first on a build's PATH. It holds makeShim as
// "make".
const ShimDir = "/.hdo/bin"

// makeShim is the make a build finds first on its PATH. GNU make given an
// explicit -j (-j, -jN, -j N, --jobs, --jobs=N) while MAKEFLAGS names a
// jobserver leaves the jobserver and runs that many jobs on its own
// ("-jN forced in submake"), so a build's `make -j` would not share hdo's
// -j slots. Under a jobserver the shim drops those arguments; then it runs
// the next make on PATH with the rest. It is POSIX sh, for any seed's
// /bin/sh.
const makeShim = `#!/bin/sh
# hdo: under hdo's jobserver, drop an explicit -j so that make shares
# hdo's job slots, then run the real make (the next one on PATH).
case " ${MAKEFLAGS-} " in
*" --jobserver-auth="*)
	n=$#
	num=
	while [ "$n" -gt 0 ]; do
		a=$1
		shift
		n=$((n - 1))
		if [ -n "$num" ]; then
			num=
			case $a in
			'' | *[!0-9]*) ;;
			*) continue ;;
			esac
		fi
		case $a in
		-j | --jobs) num=1; continue ;;
		-j[0-9]* | --jobs=*) continue ;;
		esac
		set -- "$@" "$a"
	done
	;;
esac
self=${0%/*}
IFS=:
for d in $PATH; do
	if [ "$d" != ` + ShimDir + ` ] && [ "$d" != "$self" ] && [ -x "$d/make" ]; then
		unset IFS
		exec "$d/make" "$@"
	fi
done
echo "make: not found on PATH" >&2
exit 127
`
