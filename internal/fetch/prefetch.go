package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Prefetch downloads a source whose sha256 is not known yet (src.SHA256
// is ignored), as nix-prefetch-url and guix download do: through the same
// mirrors, retries, stall detection and size limit as Fetch, trying the
// URLs in order, into the cache under the sha256 of what arrived. It
// returns that sha256 and the cache path. Source mirrors are skipped: they
// serve files by their sum.
func (f *Fetcher) Prefetch(ctx context.Context, src Source) (sum, path string, err error) {
	if f.CacheDir == "" {
		return "", "", errors.New("fetch: no source cache directory")
	}
	src.SHA256 = ""
	if err := f.checkMirrorNames([]Source{src}); err != nil {
		return "", "", err
	}
	cands := f.candidates(src)
	if len(cands) == 0 {
		return "", "", fmt.Errorf("fetch %s: no URL to fetch it from; add a url to fetch", src.Name)
	}
	if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
		return "", "", fmt.Errorf("fetch: %w", err)
	}
	// One part file per source, named by what it is fetched from.
	key := sha256.Sum256([]byte(src.Name + "\x00" + strings.Join(src.URLs, "\x00")))
	part, err := lockPart(ctx, f.CacheDir, "prefetch-"+hex.EncodeToString(key[:8]))
	if err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	defer part.release()
	// Bytes left by an earlier prefetch are of unknown content: start over.
	if err := part.truncate(); err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	prog := newProgress(f.Progress)
	defer prog.close()
	if err := f.tryAll(ctx, src, cands, part, prog); err != nil {
		return "", "", err
	}
	final := f.Path(part.sum)
	if _, err := os.Stat(final); err == nil {
		part.truncate() // the cache has it already; release removes the empty part
		return part.sum, final, nil
	}
	if err := part.commit(final); err != nil {
		return "", "", fmt.Errorf("fetch %s: %w", src.Name, err)
	}
	return part.sum, final, nil
}
