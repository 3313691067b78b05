package decompress

import (
	"bytes"
	"encoding/base64"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func TestReader(t *testing.T) {
	const text = "hello\n"
	compress := map[string]func(w io.Writer) io.WriteCloser{
		".gz":  func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		".tgz": func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		".xz": func(w io.Writer) io.WriteCloser {
			zw, _ := xz.NewWriter(w)
			return zw
		},
		".zst": func(w io.Writer) io.WriteCloser {
			zw, _ := zstd.NewWriter(w)
			return zw
		},
	}
	streams := map[string][]byte{".tar": []byte(text)}
	for ext, mk := range compress {
		var b bytes.Buffer
		w := mk(&b)
		io.WriteString(w, text)
		w.Close()
		streams[ext] = b.Bytes()
	}
	// bzip2 -9 of "hello\n"; the standard library has no bzip2 writer.
	bz, _ := base64.StdEncoding.DecodeString("QlpoOTFBWSZTWcHAgOIAAAFBAAAQAkSgADDNAMNGKZcXckU4UJDBwIDi")
	streams[".bz2"] = bz
	for ext, data := range streams {
		r, release, err := Reader("x"+ext, bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", ext, err)
			continue
		}
		got, err := io.ReadAll(r)
		release()
		if err != nil || string(got) != text {
			t.Errorf("%s: %q, %v; want %q", ext, got, err, text)
		}
	}
	if _, _, err := Reader("x.lz4", bytes.NewReader(nil)); err == nil || err.Error() != `compression ".lz4" is not supported` {
		t.Errorf("lz4: %v", err)
	}
}
