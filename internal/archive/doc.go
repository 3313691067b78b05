// Package archive writes deterministic package tarballs and extracts
// untrusted ones safely.
//
// A package's identity is the blake3-256 of its uncompressed tar stream
// (its content hash), so recompressing a tarball never changes what the
// package is.
package archive
