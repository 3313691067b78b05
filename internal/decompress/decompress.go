// Package decompress opens the compressed streams hdo reads by their file
// name's suffix: .deb members (data.tar.xz) and source tarballs
// (make-4.4.tar.gz).
package decompress

import (
	"compress/bzip2"
	"fmt"
	"io"
	"path"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// Reader returns a reader of the decompressed stream r, chosen by the
// suffix of name (.gz or .tgz, .xz or .txz, .lzma, .zst, .bz2 or .tbz2,
// and .tar for none), and a function releasing it.
func Reader(name string, r io.Reader) (io.Reader, func(), error) {
	noop := func() {}
	switch ext := path.Ext(name); ext {
	case ".tar":
		return r, noop, nil
	case ".gz", ".tgz":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case ".xz", ".txz":
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, noop, nil
	case ".lzma":
		zr, err := lzma.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, noop, nil
	case ".zst":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case ".bz2", ".tbz2":
		return bzip2.NewReader(r), noop, nil
	default:
		return nil, nil, fmt.Errorf("compression %q is not supported", ext)
	}
}
