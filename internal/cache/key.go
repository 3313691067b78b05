package cache

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	sigSize = ed25519.SignatureSize
	// maxKeyFile bounds what is read of a key file: one short line.
	maxKeyFile = 4 << 10
	// signDomain starts the signed text; the number is its version.
	signDomain = "hdo binary cache signature 1"
)

// ErrUnsigned means an .info carries no signature by a trusted key.
var ErrUnsigned = errors.New("not signed by a trusted key")

// ErrBadSignature means a signature by a trusted key does not verify.
var ErrBadSignature = errors.New("bad signature")

// PublicKey is a named ed25519 public key; its text form is
// "name:base64(key)".
type PublicKey struct {
	Name string            // e.g. builder-1
	Key  ed25519.PublicKey // 32 bytes
}

// SecretKey is a named ed25519 signing key; its text form is
// "name:base64(seed)" with the 32-byte RFC 8032 seed.
type SecretKey struct {
	Name string
	Key  ed25519.PrivateKey
}

// KeySet maps key names to trusted public keys.
type KeySet map[string]ed25519.PublicKey

// GenerateKey makes a new signing key called name, reading randomness from
// rand (crypto/rand when nil).
func GenerateKey(name string, random io.Reader) (*SecretKey, error) {
	if err := checkKeyName(name); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(random)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", name, err)
	}
	return &SecretKey{Name: name, Key: priv}, nil
}

// Public returns the public half of k.
func (k *SecretKey) Public() PublicKey {
	return PublicKey{Name: k.Name, Key: k.Key.Public().(ed25519.PublicKey)}
}

// MarshalText returns the secret key file contents: "name:base64(seed)\n".
func (k *SecretKey) MarshalText() ([]byte, error) {
	return []byte(formatKey(k.Name, k.Key.Seed()) + "\n"), nil
}

// String returns the public key file contents without the newline:
// "name:base64(key)".
func (k PublicKey) String() string { return formatKey(k.Name, k.Key) }

// Sign adds k's signature to in, replacing an earlier one by a key of the
// same name.
func (k *SecretKey) Sign(in *Info) {
	sig := ed25519.Sign(k.Key, signedText(in))
	in.Sigs = slices.DeleteFunc(slices.Clone(in.Sigs), func(s Sig) bool { return s.Key == k.Name })
	in.Sigs = append(in.Sigs, Sig{Key: k.Name, Sig: sig})
	slices.SortFunc(in.Sigs, func(a, b Sig) int { return strings.Compare(a.Key, b.Key) })
}

// SignedBy reports whether in carries a valid signature by k.
func (k PublicKey) SignedBy(in *Info) bool {
	for _, s := range in.Sigs {
		if s.Key == k.Name {
			return ed25519.Verify(k.Key, signedText(in), s.Sig)
		}
	}
	return false
}

// Verify checks that in carries a valid signature by a key in s and returns
// that key's name. Signatures by other keys are ignored. The error wraps
// ErrUnsigned or ErrBadSignature.
func (s KeySet) Verify(in *Info) (string, error) {
	var bad, others []string
	for _, sig := range in.Sigs {
		pub, ok := s[sig.Key]
		if !ok {
			others = append(others, sig.Key)
			continue
		}
		if ed25519.Verify(pub, signedText(in), sig.Sig) {
			return sig.Key, nil
		}
		bad = append(bad, sig.Key)
	}
	switch {
	case len(bad) > 0:
		return "", fmt.Errorf("%w by key %s", ErrBadSignature, strings.Join(bad, ", "))
	case len(others) > 0:
		return "", fmt.Errorf("%w (signed only by %s)", ErrUnsigned, strings.Join(others, ", "))
	}
	return "", fmt.Errorf("%w (no signature)", ErrUnsigned)
}

// signedText is what a signature covers: a versioned domain string, the
// pkghash, the content hash and the sorted closure. The tarball's size and
// sha256 are left out so that a mirror may recompress without re-signing;
// the content hash still pins every byte of the package.
func signedText(in *Info) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\npkghash %s\ncontent %s\n", signDomain, in.PkgHash, in.Content)
	for _, h := range slices.Sorted(slices.Values(in.Closure)) {
		fmt.Fprintf(&b, "closure %s\n", h)
	}
	return b.Bytes()
}

// ParsePublicKey parses "name:base64(key)".
func ParsePublicKey(text string) (PublicKey, error) {
	name, raw, err := parseKeyText(text, ed25519.PublicKeySize)
	if err != nil {
		return PublicKey{}, fmt.Errorf("public key: %w", err)
	}
	return PublicKey{Name: name, Key: ed25519.PublicKey(raw)}, nil
}

// ParseSecretKey parses "name:base64(seed)". A 64-byte ed25519 private key
// is accepted in place of the seed.
func ParseSecretKey(text string) (*SecretKey, error) {
	name, b64, ok := strings.Cut(strings.TrimSpace(text), ":")
	if !ok {
		return nil, errors.New("secret key: want name:base64")
	}
	if err := checkKeyName(name); err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("secret key %s: bad base64", name)
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return &SecretKey{Name: name, Key: ed25519.NewKeyFromSeed(raw)}, nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(k, raw) {
			return nil, fmt.Errorf("secret key %s: public half does not match the seed", name)
		}
		return &SecretKey{Name: name, Key: k}, nil
	}
	return nil, fmt.Errorf("secret key %s: %d bytes, want %d", name, len(raw), ed25519.SeedSize)
}

// ReadSecretKey reads a secret key file written by WriteKeyFiles.
func ReadSecretKey(path string) (*SecretKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseSecretKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadPublicKey reads a public key file: one "name:base64(key)" line.
func ReadPublicKey(path string) (PublicKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return PublicKey{}, err
	}
	k, err := ParsePublicKey(strings.TrimSpace(string(data)))
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("read key %s: larger than %d bytes; not a key file", path, maxKeyFile)
	}
	return data, nil
}

// LoadTrustedKeys parses HDO_TRUSTED_KEYS: space-separated entries, each an
// inline "name:base64(key)" or the path of a public key file. Two different
// keys with one name are an error.
func LoadTrustedKeys(spec string) (KeySet, error) {
	set := make(KeySet)
	for _, entry := range strings.Fields(spec) {
		k, err := ParsePublicKey(entry)
		if err != nil {
			// Key names cannot hold '/', so an entry with a directory part is
			// never mistaken for an inline key; a bare file name is tried as
			// a file when it does not parse as a key.
			var ferr error
			k, ferr = ReadPublicKey(entry)
			if ferr != nil {
				return nil, fmt.Errorf("HDO_TRUSTED_KEYS: %q is neither a name:base64 public key nor a readable key file (%v)", clip(entry), ferr)
			}
		}
		if old, ok := set[k.Name]; ok && !bytes.Equal(old, k.Key) {
			return nil, fmt.Errorf("HDO_TRUSTED_KEYS: two different keys named %s; give each key its own name", k.Name)
		}
		set[k.Name] = k.Key
	}
	return set, nil
}

// WriteKeyFiles writes k to prefix+".sec" (mode 0600) and its public half
// to prefix+".pub" (mode 0644). Each file appears whole or not at all, and
// neither overwrites an existing file: a secret key is never lost by
// accident.
func WriteKeyFiles(prefix string, k *SecretKey) error {
	sec, pub := prefix+".sec", prefix+".pub"
	for _, p := range []string{sec, pub} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("write key: %s exists; remove it or choose another name", p)
		}
	}
	secText, _ := k.MarshalText()
	if err := writeNew(sec, secText, 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, []byte(k.Public().String()+"\n"), 0o644); err != nil {
		os.Remove(sec)
		return err
	}
	return nil
}

// writeNew writes a new file atomically: temp file, fsync, then link(2),
// which unlike rename fails when the destination exists.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

// parseKeyText parses "name:base64" whose decoded value is size bytes.
func parseKeyText(s string, size int) (string, []byte, error) {
	name, b64, ok := strings.Cut(s, ":")
	if !ok {
		return "", nil, fmt.Errorf("%q: want name:base64", clip(s))
	}
	if err := checkKeyName(name); err != nil {
		return "", nil, err
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("key %s: bad base64", name)
	}
	if len(raw) != size {
		return "", nil, fmt.Errorf("key %s: %d bytes, want %d", name, len(raw), size)
	}
	return name, raw, nil
}

func formatKey(name string, raw []byte) string {
	return name + ":" + base64.StdEncoding.EncodeToString(raw)
}

// checkKeyName accepts 1 to 64 letters, digits, dots, dashes and
// underscores, not starting with a dot or dash: a key name is also a file
// name.
func checkKeyName(name string) error {
	ok := name != "" && len(name) <= 64 && name[0] != '.' && name[0] != '-'
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("key name %q: want 1 to 64 letters, digits, '.', '-' or '_', not starting with '.' or '-'", clip(name))
	}
	return nil
}
