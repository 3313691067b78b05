// Package store keeps every package tarball extracted once, in a directory
// keyed by the package's hash, so a sandbox can assemble a root from the
// trees of its closure without unpacking anything. A tree keeps exactly the
// permissions its tarball gives, so builds see (and copy) packages as they
// are; the sandbox mounts trees read-only.
//
// Layout of a store directory (e.g. ~/.cache/hdo/store):
//
//	<pkghash>/            the package's tree; present only when complete
//	<pkghash>.manifest    the tree's manifest, written before the tree appears
//	.tmp-<pkghash>-<n>/   an extraction in progress, or left by a crash
//
// A tree appears by one atomic rename, so a reader never sees half of one.
package store
