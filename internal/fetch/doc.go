// Package fetch downloads package sources into a content-addressed cache:
// <CacheDir>/<sha256>. Nothing enters the cache before its sha256 is
// checked, so a file named by a sum always has that sum.
//
// A download streams into <CacheDir>/.part-<sha256>, hashing as it goes,
// and is renamed to <sha256> only once verified. An interrupted download
// (Ctrl-C, a dropped connection) leaves the .part file behind; the next
// attempt resumes it with an HTTP Range request and still verifies the
// whole file. The .part file is also the lock that keeps two processes
// from downloading one file at once.
//
// A download stops as soon as it grows past the source's pinned size (the
// .debs of a seed lock) or, with no size pinned, past Fetcher.MaxSize
// (16 GiB by default), so a hostile server cannot fill the disk.
package fetch
