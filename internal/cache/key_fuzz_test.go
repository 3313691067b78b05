package cache

import (
	"strings"
	"testing"
)

// FuzzParseKeys feeds arbitrary text to the key parsers (HDO_TRUSTED_KEYS
// entries and key files): no panic, and a key they accept prints back to
// text that parses to the same key.
func FuzzParseKeys(f *testing.F) {
	k, err := GenerateKey("builder-1", strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		f.Fatal(err)
	}
	sec, _ := k.MarshalText()
	f.Add(k.Public().String())
	f.Add(string(sec))
	f.Add("name:")
	f.Add(":AAAA")
	f.Add("a/b:" + strings.Repeat("A", 44))
	f.Fuzz(func(t *testing.T, text string) {
		if pub, err := ParsePublicKey(text); err == nil {
			again, err := ParsePublicKey(pub.String())
			if err != nil || again.Name != pub.Name || !again.Key.Equal(pub.Key) {
				t.Fatalf("ParsePublicKey(%q) = %v, which prints as %q and parses to %v, %v", text, pub, pub.String(), again, err)
			}
		}
		if sk, err := ParseSecretKey(text); err == nil {
			b, err := sk.MarshalText()
			if err != nil {
				t.Fatalf("MarshalText of a parsed key: %v", err)
			}
			again, err := ParseSecretKey(string(b))
			if err != nil || again.Name != sk.Name || !again.Key.Equal(sk.Key) {
				t.Fatalf("ParseSecretKey(%q) does not round-trip: %v", text, err)
			}
		}
	})
}
