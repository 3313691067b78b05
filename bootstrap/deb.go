package bootstrap

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/hdo-build/hdo/internal/decompress"
)

// arMagic starts every ar archive, and so every .deb.
const arMagic = "!<arch>\n"

// arReader reads the members of an ar archive (the container of a .deb) in
// order.
type arReader struct {
	r    *bufio.Reader
	left int64 // unread bytes of the current member
	pad  bool  // the current member has an odd size: one padding byte
}

func newArReader(r io.Reader) (*arReader, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return nil, errors.New("not an ar archive (a .deb starts with \"!<arch>\\n\")")
	}
	return &arReader{r: br}, nil
}

// next skips to the next member and returns its name and size; io.EOF at
// the end. The member's bytes are then read from ar itself.
func (ar *arReader) next() (string, int64, error) {
	if _, err := io.Copy(io.Discard, ar); err != nil {
		return "", 0, err
	}
	if ar.pad {
		if _, err := ar.r.ReadByte(); err != nil && err != io.EOF {
			return "", 0, err
		}
		ar.pad = false
	}
	var hdr [60]byte
	n, err := io.ReadFull(ar.r, hdr[:])
	if n == 0 && err == io.EOF {
		return "", 0, io.EOF
	}
	if err != nil {
		return "", 0, fmt.Errorf("ar member header: %w", io.ErrUnexpectedEOF)
	}
	if string(hdr[58:60]) != "`\n" {
		return "", 0, errors.New("ar member header: bad terminator")
	}
	name := strings.TrimRight(string(hdr[0:16]), " ")
	name = strings.TrimSuffix(name, "/") // GNU ar ends names with '/'
	sizeField := strings.TrimRight(string(hdr[48:58]), " ")
	size, err := strconv.ParseInt(sizeField, 10, 64)
	if err != nil || size < 0 {
		return "", 0, fmt.Errorf("ar member %q: bad size %q", name, sizeField)
	}
	ar.left = size
	ar.pad = size%2 == 1
	return name, size, nil
}

// Read reads the current member; a member cut short is io.ErrUnexpectedEOF.
func (ar *arReader) Read(p []byte) (int, error) {
	if ar.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > ar.left {
		p = p[:ar.left]
	}
	n, err := ar.r.Read(p)
	ar.left -= int64(n)
	if err == io.EOF && ar.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readDeb reads a .deb: it checks the format version, parses the control
// file and hands the data tarball to data. It returns the control fields.
func readDeb(r io.Reader, data func(*tar.Reader) error) (Paragraph, error) {
	ar, err := newArReader(r)
	if err != nil {
		return nil, err
	}
	var control Paragraph
	sawData := false
	for i := 0; ; i++ {
		name, _, err := ar.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch {
		case i == 0:
			if name != "debian-binary" {
				return nil, fmt.Errorf("first member is %q, want debian-binary", name)
			}
			v, err := io.ReadAll(io.LimitReader(ar, 64))
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(string(v), "2.") {
				return nil, fmt.Errorf("deb format %q is not supported; want 2.x", strings.TrimSpace(string(v)))
			}
		case strings.HasPrefix(name, "control.tar"):
			control, err = readControl(name, ar)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		case strings.HasPrefix(name, "data.tar"):
			if control == nil {
				return nil, fmt.Errorf("%s comes before the control member", name)
			}
			zr, release, err := decompress.Reader(name, ar)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			err = data(tar.NewReader(zr))
			if err == nil {
				// Read to the end so that the decompressor checks the
				// stream's trailer and checksum.
				_, err = io.Copy(io.Discard, zr)
			}
			release()
			if err != nil {
				return nil, err
			}
			sawData = true
		case strings.HasPrefix(name, "_"):
			// Members starting with '_' are reserved for extensions
			// (signatures); skip them.
		default:
			return nil, fmt.Errorf("unexpected member %q", name)
		}
	}
	if !sawData {
		return nil, errors.New("no data.tar member")
	}
	return control, nil
}

// readControl returns the fields of ./control in a control.tar member.
func readControl(name string, r io.Reader) (Paragraph, error) {
	zr, release, err := decompress.Reader(name, r)
	if err != nil {
		return nil, err
	}
	defer release()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("no control file")
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != "control" || h.Typeflag != tar.TypeReg {
			continue
		}
		var para Paragraph
		err = readParagraphs(io.LimitReader(tr, 1<<20), func(p Paragraph) error {
			if para != nil {
				return errors.New("control file has more than one paragraph")
			}
			para = p
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("control file: %w", err)
		}
		if para == nil {
			return nil, errors.New("control file is empty")
		}
		return para, nil
	}
}
