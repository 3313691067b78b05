// Package pkgspec reads the files of a package directory (build, build-deps,
// run-deps, fetch, sha256sums, files/) and checks them, reporting every
// problem as "file:line: what is wrong".
//
// It only parses and validates; hashing, fetching and building are other
// packages' business.
package pkgspec
