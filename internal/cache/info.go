package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hdo-build/hdo/internal/pkgtree"
)

// InfoFormat is the .info format version this package writes and the newest
// it reads.
const InfoFormat = 1

// MaxInfoSize is the largest .info accepted, in bytes. It holds a closure of
// about 3,000 packages; anything larger is refused without being read whole.
const MaxInfoSize = 256 << 10

// maxTextField bounds the informative name and version fields.
const maxTextField = 256

// ErrUnsupportedFormat is returned (wrapped) by ParseInfo for an .info whose
// format is newer than InfoFormat: the entry was written by a newer hdo.
var ErrUnsupportedFormat = errors.New("unsupported .info format")

// Info is the parsed .info file that describes one cache entry.
type Info struct {
	Name    string   // e.g. make; informative, not signed
	Version string   // e.g. 4.4.1; informative, may be empty
	PkgHash string   // e.g. 3f9a… (64 lowercase hex digits)
	Size    int64    // bytes of <pkghash>.tar.gz, e.g. 1234567
	SHA256  string   // sha256 hex of <pkghash>.tar.gz
	Content string   // blake3-256 hex of the uncompressed tar stream
	Closure []string // pkghashes of the run-time closure, sorted, without PkgHash
	Sigs    []Sig    // signatures, sorted by key name
}

// Sig is one signature of an Info by a named key.
type Sig struct {
	Key string // key name, e.g. builder-1
	Sig []byte // 64-byte ed25519 signature of the Info's signed text
}

// ReadInfo reads and parses an .info from r, refusing one larger than
// MaxInfoSize after reading at most MaxInfoSize+1 bytes.
func ReadInfo(r io.Reader) (*Info, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInfoSize+1))
	if err != nil {
		return nil, err
	}
	return ParseInfo(data)
}

// ParseInfo parses an .info. Every line is "key: value"; unknown keys are
// ignored so that later versions can add fields, but a format newer than
// InfoFormat is an error wrapping ErrUnsupportedFormat.
func ParseInfo(data []byte) (*Info, error) {
	if len(data) > MaxInfoSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxInfoSize)
	}
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	type field struct {
		key, value string
		line       int
	}
	var fields []field
	format := ""
	text := strings.TrimSuffix(string(data), "\n")
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		key, value, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not a %q line", n, clip(line), "key: value")
		}
		if !validFieldKey(key) {
			return nil, fmt.Errorf("line %d: key %q: want lowercase letters, digits and dashes", n, clip(key))
		}
		if err := checkText(value); err != nil {
			return nil, fmt.Errorf("line %d: %s: %v", n, key, err)
		}
		if key == "format" {
			if format != "" {
				return nil, fmt.Errorf("line %d: second format line", n)
			}
			format = value
			continue
		}
		fields = append(fields, field{key, value, n})
	}
	switch v, err := strconv.Atoi(format); {
	case format == "":
		return nil, errors.New("no format line")
	case err != nil || v < 1 || strconv.Itoa(v) != format:
		return nil, fmt.Errorf("format %q: want a positive integer", clip(format))
	case v > InfoFormat:
		return nil, fmt.Errorf("%w %d: this hdo reads format %d; upgrade hdo", ErrUnsupportedFormat, v, InfoFormat)
	}

	in := new(Info)
	seen := make(map[string]bool)
	for _, f := range fields {
		var err error
		switch f.key {
		case "name", "version", "pkghash", "size", "sha256", "content":
			if seen[f.key] {
				return nil, fmt.Errorf("line %d: second %s line", f.line, f.key)
			}
			seen[f.key] = true
		}
		switch f.key {
		case "name":
			in.Name, err = f.value, checkLabel(f.value)
		case "version":
			in.Version, err = f.value, checkLabel(f.value)
		case "pkghash":
			in.PkgHash, err = f.value, checkHash(f.value)
		case "size":
			in.Size, err = parseSize(f.value)
		case "sha256":
			in.SHA256, err = f.value, checkHash(f.value)
		case "content":
			in.Content, err = f.value, checkHash(f.value)
		case "closure":
			err = checkHash(f.value)
			in.Closure = append(in.Closure, f.value)
		case "sig":
			var s Sig
			s, err = parseSig(f.value)
			in.Sigs = append(in.Sigs, s)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %v", f.line, f.key, err)
		}
	}
	for _, key := range []string{"pkghash", "size", "sha256", "content"} {
		if !seen[key] {
			return nil, fmt.Errorf("no %s line", key)
		}
	}
	slices.Sort(in.Closure)
	slices.SortFunc(in.Sigs, func(a, b Sig) int { return strings.Compare(a.Key, b.Key) })
	if err := in.checkLists(); err != nil {
		return nil, err
	}
	return in, nil
}

// MarshalText returns the canonical .info text of in: fixed key order,
// closure and signatures sorted, empty name and version left out. Parsing
// the result gives back an equal Info.
func (in *Info) MarshalText() ([]byte, error) {
	if err := in.check(); err != nil {
		return nil, fmt.Errorf("info %s: %w", in.PkgHash, err)
	}
	closure := slices.Sorted(slices.Values(in.Closure))
	sigs := slices.SortedFunc(slices.Values(in.Sigs), func(a, b Sig) int { return strings.Compare(a.Key, b.Key) })
	var b bytes.Buffer
	fmt.Fprintf(&b, "format: %d\n", InfoFormat)
	if in.Name != "" {
		fmt.Fprintf(&b, "name: %s\n", in.Name)
	}
	if in.Version != "" {
		fmt.Fprintf(&b, "version: %s\n", in.Version)
	}
	fmt.Fprintf(&b, "pkghash: %s\nsize: %d\nsha256: %s\ncontent: %s\n", in.PkgHash, in.Size, in.SHA256, in.Content)
	for _, h := range closure {
		fmt.Fprintf(&b, "closure: %s\n", h)
	}
	for _, s := range sigs {
		fmt.Fprintf(&b, "sig: %s\n", formatKey(s.Key, s.Sig))
	}
	if b.Len() > MaxInfoSize {
		return nil, fmt.Errorf("info %s: %d bytes, more than the %d a reader accepts", in.PkgHash, b.Len(), MaxInfoSize)
	}
	return b.Bytes(), nil
}

// check validates every field of in the way ParseInfo does.
func (in *Info) check() error {
	if in.Name != "" {
		if err := checkLabel(in.Name); err != nil {
			return fmt.Errorf("name: %v", err)
		}
	}
	if in.Version != "" {
		if err := checkLabel(in.Version); err != nil {
			return fmt.Errorf("version: %v", err)
		}
	}
	for _, f := range []struct{ key, value string }{{"pkghash", in.PkgHash}, {"sha256", in.SHA256}, {"content", in.Content}} {
		if err := checkHash(f.value); err != nil {
			return fmt.Errorf("%s: %v", f.key, err)
		}
	}
	if in.Size < 1 {
		return fmt.Errorf("size %d: want a positive number of bytes", in.Size)
	}
	for _, h := range in.Closure {
		if err := checkHash(h); err != nil {
			return fmt.Errorf("closure: %v", err)
		}
	}
	for _, s := range in.Sigs {
		if err := checkKeyName(s.Key); err != nil {
			return fmt.Errorf("sig: %v", err)
		}
		if len(s.Sig) != sigSize {
			return fmt.Errorf("sig %s: %d bytes, want %d", s.Key, len(s.Sig), sigSize)
		}
	}
	return in.checkLists()
}

// checkLists rejects repeated closure members or signers, and a package in
// its own closure. It sees the lists in any order.
func (in *Info) checkLists() error {
	closure := slices.Sorted(slices.Values(in.Closure))
	for i, h := range closure {
		if h == in.PkgHash {
			return fmt.Errorf("closure: lists the package itself (%s)", h)
		}
		if i > 0 && closure[i-1] == h {
			return fmt.Errorf("closure: %s listed twice", h)
		}
	}
	keys := make(map[string]bool, len(in.Sigs))
	for _, s := range in.Sigs {
		if keys[s.Key] {
			return fmt.Errorf("sig: two signatures by key %s", s.Key)
		}
		keys[s.Key] = true
	}
	return nil
}

func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q: want a positive decimal number of bytes", clip(s))
	}
	return n, nil
}

func parseSig(s string) (Sig, error) {
	name, raw, err := parseKeyText(s, sigSize)
	if err != nil {
		return Sig{}, err
	}
	return Sig{Key: name, Sig: raw}, nil
}

// validFieldKey reports whether k is a well-formed .info key.
func validFieldKey(k string) bool {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for _, c := range []byte(k) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkText rejects values a line-based format cannot carry back unchanged.
func checkText(v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	if strings.HasSuffix(v, "\r") {
		return errors.New("carriage return in value (CRLF line endings?)")
	}
	if strings.TrimSpace(v) != v {
		return errors.New("value has leading or trailing white space")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U in value", r)
		}
	}
	return nil
}

// checkLabel validates an informative text field (name, version).
func checkLabel(v string) error {
	if len(v) > maxTextField {
		return fmt.Errorf("%d bytes, want at most %d", len(v), maxTextField)
	}
	if !utf8.ValidString(v) {
		return errors.New("not valid UTF-8")
	}
	return checkText(v)
}

// checkHash validates a 64-digit lowercase hex hash.
func checkHash(h string) error {
	if !ValidHash(h) {
		return fmt.Errorf("%q is not 64 lowercase hex digits", clip(h))
	}
	return nil
}

// ValidHash reports whether h is 64 lowercase hex digits, the form of a
// pkghash and of every hash in an .info (see pkgtree.IsHex64).
func ValidHash(h string) bool { return pkgtree.IsHex64(h) }

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
