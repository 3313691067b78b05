// Package beneath is the safe-path core of hdo's extractors: checking
// names from untrusted archives, and creating files, directories and links
// inside one directory without ever resolving a path through a symlink or
// outside that directory. The package extractor (internal/archive) and
// the seed root builder (bootstrap) both write through it.
package beneath
