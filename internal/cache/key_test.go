package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey("builder-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(dir, "builder-1")
	if err := WriteKeyFiles(prefix, k); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"builder-1.sec", 0o600}, {"builder-1.pub", 0o644}} {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s has mode %v, want %v", f.name, st.Mode().Perm(), f.mode)
		}
	}
	if diff := cmp.Diff([]string{"builder-1.pub", "builder-1.sec"}, listDir(t, dir)); diff != "" {
		t.Errorf("dir diff (-want +got):\n%s", diff)
	}
	sec, err := ReadSecretKey(prefix + ".sec")
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != k.Name || !bytes.Equal(sec.Key, k.Key) {
		t.Errorf("secret key read back differs")
	}
	pub, err := ReadPublicKey(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k.Public(), pub); diff != "" {
		t.Errorf("public key diff (-want +got):\n%s", diff)
	}

	// A second key with the same name must not replace the first.
	other, _ := GenerateKey("builder-1", nil)
	err = WriteKeyFiles(prefix, other)
	if err == nil || !strings.Contains(err.Error(), "builder-1.sec exists; remove it or choose another name") {
		t.Errorf("WriteKeyFiles over existing files: %v, want an error", err)
	}
	if again := readFile(t, prefix+".sec"); !bytes.Equal(again, mustText(t, k)) {
		t.Errorf("existing secret key was changed")
	}
	if diff := cmp.Diff([]string{"builder-1.pub", "builder-1.sec"}, listDir(t, dir)); diff != "" {
		t.Errorf("dir after refused write, diff (-want +got):\n%s", diff)
	}
}

func mustText(t *testing.T, k *SecretKey) []byte {
	t.Helper()
	b, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseSecretKey(t *testing.T) {
	k := testKey(t, "k1")
	seedText := strings.TrimSpace(string(mustText(t, k)))
	fullText := formatKey("k1", k.Key)
	for _, text := range []string{seedText, fullText, seedText + "\n"} {
		got, err := ParseSecretKey(text)
		if err != nil {
			t.Fatalf("ParseSecretKey(%q): %v", text, err)
		}
		if !bytes.Equal(got.Key, k.Key) {
			t.Errorf("ParseSecretKey(%q) gives another key", text)
		}
	}
	bad := append([]byte(nil), k.Key...)
	bad[63] ^= 1
	for text, wantErr := range map[string]string{
		"k1":                      "want name:base64",
		"k1:!!!":                  "bad base64",
		"k1:AAAA":                 "3 bytes, want 32",
		"../k:" + seedText[3:]:    `key name "../k"`,
		formatKey("k1", bad):      "public half does not match the seed",
		formatKey("", k.Key[:32]): `key name ""`,
	} {
		if _, err := ParseSecretKey(text); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseSecretKey(%q) error = %v, want %q", text, err, wantErr)
		}
	}
}

func TestLoadTrustedKeys(t *testing.T) {
	a, b := testKey(t, "a"), testKey(t, "b")
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a.pub")
	writeFile(t, aFile, []byte(a.Public().String()+"\n"))
	colonFile := filepath.Join(dir, "odd:name")
	writeFile(t, colonFile, []byte(b.Public().String()))
	garbage := filepath.Join(dir, "garbage.pub")
	writeFile(t, garbage, []byte("hello\n"))
	otherA := testKey(t, "x")
	otherA.Name = "a"

	tests := []struct {
		name    string
		spec    string
		want    KeySet
		wantErr string
	}{
		{name: "empty", spec: "  ", want: KeySet{}},
		{name: "inline", spec: b.Public().String(), want: keySet(b)},
		{name: "file and inline", spec: "\t" + aFile + "  " + b.Public().String() + "\n", want: keySet(a, b)},
		{name: "file name with a colon", spec: colonFile, want: keySet(b)},
		{name: "same key twice", spec: aFile + " " + a.Public().String(), want: keySet(a)},
		{name: "two keys named a", spec: aFile + " " + otherA.Public().String(), wantErr: "two different keys named a"},
		{name: "missing file", spec: filepath.Join(dir, "nope.pub"), wantErr: "is neither a name:base64 public key nor a readable key file"},
		{name: "garbage file", spec: garbage, wantErr: `garbage.pub: public key: "hello": want name:base64`},
		{name: "secret key by mistake", spec: strings.TrimSpace(string(mustText(t, a))) + "AAAA", wantErr: "is neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadTrustedKeys(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadTrustedKeys error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	a, b := testKey(t, "a"), testKey(t, "b")
	signed := func() *Info {
		in := sampleInfo()
		in.Sigs = nil
		a.Sign(in)
		return in
	}
	first, second := signed(), signed()
	if !bytes.Equal(first.Sigs[0].Sig, second.Sigs[0].Sig) {
		t.Errorf("signing twice gave different signatures")
	}
	tests := []struct {
		name    string
		trusted KeySet
		edit    func(*Info)
		want    string // signer, or the error
	}{
		{name: "valid", trusted: keySet(a), edit: func(*Info) {}, want: "a"},
		{name: "two signers, one trusted", trusted: keySet(a), edit: func(in *Info) { b.Sign(in) }, want: "a"},
		{name: "resigned by the same key", trusted: keySet(a), edit: func(in *Info) { a.Sign(in); a.Sign(in) }, want: "a"},
		{name: "name, version, size and sha256 are not signed", trusted: keySet(a), edit: func(in *Info) {
			in.Name, in.Version, in.Size, in.SHA256 = "gmake", "9", 1, hashD
		}, want: "a"},
		{name: "closure order is not signed", trusted: keySet(a), edit: func(in *Info) { in.Closure = []string{hashD, hashB} }, want: "a"},
		{name: "content changed", trusted: keySet(a), edit: func(in *Info) { in.Content = hashD }, want: "bad signature by key a"},
		{name: "pkghash changed", trusted: keySet(a), edit: func(in *Info) { in.PkgHash = hashD; in.Closure = []string{hashB} }, want: "bad signature by key a"},
		{name: "closure member dropped", trusted: keySet(a), edit: func(in *Info) { in.Closure = in.Closure[:1] }, want: "bad signature by key a"},
		{name: "signature moved to another key name", trusted: keySet(a, b), edit: func(in *Info) { in.Sigs[0].Key = "b" }, want: "bad signature by key b"},
		{name: "untrusted signer only", trusted: keySet(b), edit: func(*Info) {}, want: "not signed by a trusted key (signed only by a)"},
		{name: "unsigned", trusted: keySet(a), edit: func(in *Info) { in.Sigs = nil }, want: "not signed by a trusted key (no signature)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := signed()
			tt.edit(in)
			got, err := tt.trusted.Verify(in)
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrUnsigned) && !errors.Is(err, ErrBadSignature) {
					t.Errorf("error %v wraps neither ErrUnsigned nor ErrBadSignature", err)
				}
			}
			if got != tt.want {
				t.Errorf("Verify = %q, want %q", got, tt.want)
			}
		})
	}
	// A signature survives the .info text round trip.
	text, err := first.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseInfo(text)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Public().SignedBy(back) || b.Public().SignedBy(back) {
		t.Errorf("SignedBy after round trip: a %v, b %v; want true, false", a.Public().SignedBy(back), b.Public().SignedBy(back))
	}
}

func TestGenerateKeyRejectsBadName(t *testing.T) {
	for _, name := range []string{"", ".hidden", "-x", "a/b", "a b", strings.Repeat("k", 65)} {
		if _, err := GenerateKey(name, nil); err == nil {
			t.Errorf("GenerateKey(%q) succeeded, want an error", name)
		}
	}
}
