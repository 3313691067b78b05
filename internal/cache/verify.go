package cache

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/zeebo/blake3"
)

// sums is what one pass over a .tar.gz yields.
type sums struct {
	Size    int64  // bytes of the .tar.gz
	SHA256  string // hex sha256 of the .tar.gz
	Content string // hex blake3-256 of the uncompressed tar; empty if gzipErr
	GzipErr error  // why the stream is not one valid gzip file
}

// hasher is an io.Writer that computes sums while the bytes stream by: the
// sha256 in the writer's goroutine, gunzip and blake3 in a second one, so a
// download is verified in the same pass that writes it to disk.
type hasher struct {
	size int64
	sha  hash.Hash
	pw   *io.PipeWriter
	done chan struct{}

	// Set by the decompressing goroutine before done is closed.
	content string
	gzipErr error
}

var errAborted = errors.New("aborted")

func newHasher() *hasher {
	pr, pw := io.Pipe()
	h := &hasher{sha: sha256.New(), pw: pw, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		// A large buffer lets each pipe write be taken in one read.
		br := bufio.NewReaderSize(pr, 256<<10)
		zr, err := gzip.NewReader(br)
		if err == nil {
			b := blake3.New()
			if _, err = io.Copy(b, zr); err == nil {
				h.content = hex.EncodeToString(b.Sum(nil))
			}
		}
		if err != nil {
			h.gzipErr = fmt.Errorf("bad gzip stream: %w", err)
		}
		// Keep reading so the writer never blocks on a stream gzip gave up on.
		io.Copy(io.Discard, br)
	}()
	return h
}

func (h *hasher) Write(p []byte) (int, error) {
	h.size += int64(len(p))
	h.sha.Write(p)
	return h.pw.Write(p)
}

// finish ends the stream and returns the sums.
func (h *hasher) finish() sums {
	h.pw.Close()
	<-h.done
	return sums{Size: h.size, SHA256: hex.EncodeToString(h.sha.Sum(nil)), Content: h.content, GzipErr: h.gzipErr}
}

// abort stops the decompressing goroutine; the sums are lost.
func (h *hasher) abort() {
	h.pw.CloseWithError(errAborted)
	<-h.done
}

// check compares s with the .info it claims to match.
func (s sums) check(in *Info) error {
	switch {
	case s.Size != in.Size:
		return fmt.Errorf("size mismatch: got %d bytes, want %d", s.Size, in.Size)
	case s.SHA256 != in.SHA256:
		return fmt.Errorf("sha256 mismatch: got %s, want %s", s.SHA256, in.SHA256)
	case s.GzipErr != nil:
		return s.GzipErr
	case s.Content != in.Content:
		return fmt.Errorf("content hash mismatch: got %s, want %s", s.Content, in.Content)
	}
	return nil
}
