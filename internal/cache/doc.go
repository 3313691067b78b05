// Package cache is the binary cache: a client that fetches package
// tarballs by pkghash before any build is tried, and a publisher that fills
// a cache directory.
//
// # Layout
//
// A cache is a directory of static files served by anything (a web server,
// an object store, file://):
//
//	<base>/<pkghash>.tar.gz   the package tarball, as hdo builds it
//	<base>/<pkghash>.info     what the tarball must be (below)
//	<base>/index.html         a listing for people; clients never read it
//
// A pkghash is 64 lowercase hex digits (blake3-256). An entry without an
// .info is a miss: nothing is installed unchecked.
//
// # The .info format
//
// UTF-8 text, at most MaxInfoSize (256 KiB) bytes, one "key: value" line
// each (key, colon, one space, value), "\n" line ends. Keys are lowercase
// letters, digits and dashes; values are non-empty, without control
// characters or surrounding blanks. Example:
//
//	format: 1
//	name: make
//	version: 4.4.1
//	pkghash: <64 hex>
//	size: 1234567
//	sha256: <64 hex>
//	content: <64 hex>
//	closure: <64 hex>
//	sig: builder-1:<base64 of a 64-byte ed25519 signature>
//
//	format   required, exactly once. A reader refuses a format newer than
//	         its own (the entry is a miss, with a warning to upgrade).
//	name     optional, informative: the package dir name. Not signed.
//	version  optional, informative. Not signed.
//	pkghash  required; must equal the name the .info was fetched by.
//	size     required: bytes of <pkghash>.tar.gz, decimal, positive.
//	sha256   required: sha256 of <pkghash>.tar.gz.
//	content  required: blake3-256 of the uncompressed tar stream, the
//	         package's identity independent of its compression.
//	closure  zero or more: pkghash of each member of the run-time closure,
//	         excluding the package itself, no repeats.
//	sig      zero or more: "keyname:base64(signature)", one per key.
//
// The singular keys may appear once. Unknown keys are ignored, so a later
// format 1 may add fields; a change that older readers must not accept
// raises the format. The canonical form, which hdo writes, has the keys in
// the order above, closure and sig lines sorted, and a final newline.
//
// # Signatures
//
// A signature is ed25519 over this text (each line ends in "\n"):
//
//	hdo binary cache signature 1
//	pkghash <pkghash>
//	content <content>
//	closure <pkghash>            one line per closure member, sorted
//
// The tarball's size and sha256 are not signed: a mirror may recompress a
// package and rewrite those two lines without the signer, and the content
// hash still pins every byte of the package. Name and version are not
// signed either; they only label the entry.
//
// # Keys
//
// A public key file holds one line "name:base64(32-byte ed25519 key)"; a
// secret key file holds "name:base64(32-byte ed25519 seed)" (a 64-byte
// ed25519 private key is also read) and has mode 0600. Key names are 1 to
// 64 of [A-Za-z0-9._-], not starting with '.' or '-'. HDO_TRUSTED_KEYS is a
// space-separated list whose entries are either inline "name:base64" public
// keys or paths of public key files.
//
// # Client behaviour
//
// HDO_CACHE_URL, then PKG_CACHE_URL, list base URLs (http, https, file),
// tried in order. For each package the .info and the .tar.gz are requested
// together; the tarball streams to a temp file next to its destination
// ("."+base name+random digits) while its size, sha256 and content hash are
// computed in the same pass, and it is renamed into place only when all
// three match the .info and, with HDO_TRUSTED_KEYS set, the .info carries a
// valid signature by a trusted key (unsigned or badly signed entries are
// misses). Without trusted keys entries are accepted on their .info alone,
// with a one-time note per cache (one that warns of forgery for plain
// http).
//
//   - 404 or 410 (or a missing file) is a miss: the next cache is tried.
//     Misses are never remembered, in the process or on disk.
//   - 5xx, 408, 429, network errors, a request with no data for Stall,
//     and truncated bodies are retried with doubling backoff; after Tries
//     attempts the cache is not used again by this process, with one
//     warning, and the package is a miss from it.
//   - Other statuses (403, ...), a redirect loop or a bad TLS certificate
//     stop using the cache at once, with one warning.
//   - A bad entry (oversized or malformed .info, wrong pkghash, newer format,
//     size, sha256, content or signature mismatch) is a miss with a warning;
//     the process remembers it, so asking again neither downloads it again
//     nor warns twice (other caches are still asked).
//
// Gets of one package into one file at the same time share one download.
//
// With HDO_BINARY_ONLY=1 a package no cache can supply is an error naming
// the package and every cache with its reason, instead of a miss.
package cache
