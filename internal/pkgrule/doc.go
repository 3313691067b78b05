// Package pkgrule holds hdo's built-in rules for the package targets of a
// package directory (one with a build or seed.lock file):
//
//	.pkghash   blake3 of a canonical encoding of the package and its deps
//	.closure   the run-time closure: ./pkg/<dep>/.pkg.tar.gz lines
//	.bclosure  the build closure: build-deps and their closures
//	.pkg.tar.gz  the package: from a binary cache by pkghash, else built
//	           in the sandbox from the build closure and packed
//	           deterministically
//
// The names and the closure line format are pkgtree's.
// They run in-process when no .do file applies, and take part in
// dependency tracking like any other target.
package pkgrule
