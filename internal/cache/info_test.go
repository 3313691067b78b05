package cache

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	hashA = strings.Repeat("a", 64)
	hashB = strings.Repeat("b", 64)
	hashC = strings.Repeat("c", 64)
	hashD = strings.Repeat("d", 64)
)

func sampleInfo() *Info {
	return &Info{
		Name:    "make",
		Version: "4.4.1",
		PkgHash: hashA,
		Size:    1234567,
		SHA256:  hashB,
		Content: hashC,
		Closure: []string{hashB, hashD},
		Sigs:    []Sig{{Key: "builder-1", Sig: bytes.Repeat([]byte{7}, 64)}},
	}
}

const sampleText = `format: 1
name: make
version: 4.4.1
pkghash: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
size: 1234567
sha256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
content: cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
closure: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
closure: dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
sig: builder-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBw==
`

func TestInfoMarshalCanonical(t *testing.T) {
	got, err := sampleInfo().MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleText, string(got)); diff != "" {
		t.Errorf("MarshalText diff (-want +got):\n%s", diff)
	}
	// Order of the lists does not matter to the output.
	in := sampleInfo()
	in.Closure = []string{hashD, hashB}
	again, err := in.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, again) {
		t.Errorf("closure order changed the output:\n%s", again)
	}
	parsed, err := ParseInfo(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleInfo(), parsed); diff != "" {
		t.Errorf("ParseInfo(MarshalText) diff (-want +got):\n%s", diff)
	}
}

func TestParseInfo(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(sampleText, old, new, 1) }
	minimal := "format: 1\npkghash: " + hashA + "\nsize: 1\nsha256: " + hashB + "\ncontent: " + hashC
	tests := []struct {
		name    string
		text    string
		want    *Info // nil: an error containing wantErr
		wantErr string
	}{
		{name: "sample", text: sampleText, want: sampleInfo()},
		{name: "minimal without final newline", text: minimal, want: &Info{PkgHash: hashA, Size: 1, SHA256: hashB, Content: hashC}},
		{name: "keys in any order, unknown keys ignored", text: "content: " + hashC + "\nbuilt-on: x86_64 host\nsize: 1\nformat: 1\nsha256: " + hashB + "\npkghash: " + hashA + "\n",
			want: &Info{PkgHash: hashA, Size: 1, SHA256: hashB, Content: hashC}},
		{name: "closure sorted on read", text: minimal + "\nclosure: " + hashD + "\nclosure: " + hashB,
			want: &Info{PkgHash: hashA, Size: 1, SHA256: hashB, Content: hashC, Closure: []string{hashB, hashD}}},
		{name: "empty", text: "", wantErr: "empty file"},
		{name: "no format", text: strings.TrimPrefix(sampleText, "format: 1\n"), wantErr: "no format line"},
		{name: "newer format", text: replace("format: 1", "format: 2\nnew-thing: x"), wantErr: "unsupported .info format 2"},
		{name: "format zero", text: replace("format: 1", "format: 0"), wantErr: `format "0": want a positive integer`},
		{name: "format with leading zero", text: replace("format: 1", "format: 01"), wantErr: `format "01"`},
		{name: "two formats", text: replace("format: 1", "format: 1\nformat: 1"), wantErr: "line 2: second format line"},
		{name: "missing sha256", text: replace("sha256: "+hashB+"\n", ""), wantErr: "no sha256 line"},
		{name: "missing pkghash", text: replace("pkghash: "+hashA+"\n", ""), wantErr: "no pkghash line"},
		{name: "duplicate name", text: replace("name: make", "name: make\nname: gmake"), wantErr: "line 3: second name line"},
		{name: "no space after colon", text: replace("name: make", "name:make"), wantErr: `line 2: "name:make" is not a "key: value" line`},
		{name: "blank line", text: replace("name: make\n", "name: make\n\n"), wantErr: `line 3: "" is not`},
		{name: "uppercase key", text: replace("name:", "Name:"), wantErr: `line 2: key "Name"`},
		{name: "CRLF", text: strings.ReplaceAll(sampleText, "\n", "\r\n"), wantErr: "line 1: format: carriage return in value (CRLF line endings?)"},
		{name: "trailing blank in value", text: replace("make\n", "make \n"), wantErr: "line 2: name: value has leading or trailing white space"},
		{name: "control character", text: replace("make", "ma\x01ke"), wantErr: "control character U+0001"},
		{name: "not UTF-8", text: replace("make", "ma\xffke"), wantErr: "not valid UTF-8"},
		{name: "uppercase hash", text: replace("pkghash: aaaa", "pkghash: AAAA"), wantErr: "line 4: pkghash: \"AAAA"},
		{name: "short hash", text: replace("sha256: "+hashB, "sha256: abc"), wantErr: `line 6: sha256: "abc" is not 64 lowercase hex digits`},
		{name: "negative size", text: replace("size: 1234567", "size: -5"), wantErr: `line 5: size: "-5": want a positive decimal number of bytes`},
		{name: "size with plus", text: replace("size: 1234567", "size: +5"), wantErr: `size: "+5"`},
		{name: "zero size", text: replace("size: 1234567", "size: 0"), wantErr: `size: "0"`},
		{name: "size overflow", text: replace("size: 1234567", "size: 99999999999999999999"), wantErr: `size: "99999999999999999999"`},
		{name: "closure repeats", text: replace("closure: "+hashD, "closure: "+hashB), wantErr: "closure: " + hashB + " listed twice"},
		{name: "closure holds the package", text: replace("closure: "+hashD, "closure: "+hashA), wantErr: "lists the package itself"},
		{name: "bad closure hash", text: replace("closure: "+hashD, "closure: ../x"), wantErr: `line 9: closure: "../x"`},
		{name: "sig without name", text: replace("sig: builder-1:", "sig: "), wantErr: "line 10: sig: \"BwcH"},
		{name: "sig bad key name", text: replace("sig: builder-1:", "sig: ../k:"), wantErr: `line 10: sig: key name "../k"`},
		{name: "sig bad base64", text: replace("sig: builder-1:Bwc", "sig: builder-1:!wc"), wantErr: "line 10: sig: key builder-1: bad base64"},
		{name: "sig short", text: minimal + "\nsig: k:AAAA", wantErr: "line 6: sig: key k: 3 bytes, want 64"},
		{name: "two sigs by one key", text: sampleText + sampleText[strings.Index(sampleText, "sig: "):], wantErr: "two signatures by key builder-1"},
		{name: "long name", text: replace("name: make", "name: "+strings.Repeat("m", 300)), wantErr: "line 2: name: 300 bytes, want at most 256"},
		{name: "too large", text: sampleText + strings.Repeat("x-pad: y\n", MaxInfoSize/9), wantErr: "larger than 262144 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo([]byte(tt.text))
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseInfo error = %v, want %q", err, tt.wantErr)
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

func TestParseInfoUnsupportedFormatIs(t *testing.T) {
	_, err := ParseInfo([]byte("format: 7\nwhatever: x\n"))
	if !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("ParseInfo error = %v, want ErrUnsupportedFormat", err)
	}
}

func TestReadInfoStopsAtLimit(t *testing.T) {
	r := &countingReader{}
	if _, err := ReadInfo(r); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("ReadInfo error = %v, want too large", err)
	}
	if r.n > MaxInfoSize+64<<10 {
		t.Errorf("ReadInfo read %d bytes of an endless stream, want about %d", r.n, MaxInfoSize)
	}
}

// countingReader is an endless stream of 'x' that counts what was read.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

func TestMarshalTextRejectsInvalid(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Info)
		wantErr string
	}{
		{"bad pkghash", func(in *Info) { in.PkgHash = "x" }, `pkghash: "x" is not`},
		{"zero size", func(in *Info) { in.Size = 0 }, "size 0"},
		{"newline in name", func(in *Info) { in.Name = "a\nformat: 9" }, "name: control character U+000A"},
		{"self in closure", func(in *Info) { in.Closure = append(in.Closure, in.PkgHash) }, "lists the package itself"},
		{"short sig", func(in *Info) { in.Sigs[0].Sig = []byte{1} }, "sig builder-1: 1 bytes, want 64"},
		{"bad key name", func(in *Info) { in.Sigs[0].Key = "a b" }, `key name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInfo()
			tt.edit(in)
			if _, err := in.MarshalText(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("MarshalText error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzParseInfo checks that ParseInfo never panics, and that whatever it
// accepts survives a canonical round trip unchanged.
func FuzzParseInfo(f *testing.F) {
	f.Add([]byte(sampleText))
	f.Add([]byte("format: 1\npkghash: " + hashA + "\nsize: 1\nsha256: " + hashB + "\ncontent: " + hashC))
	f.Add([]byte("format: 2\n"))
	f.Add([]byte("format: 1\nname: a: b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseInfo(data)
		if err != nil {
			return
		}
		text, err := in.MarshalText()
		if err != nil {
			t.Fatalf("accepted %q but cannot write it back: %v", data, err)
		}
		again, err := ParseInfo(text)
		if err != nil {
			t.Fatalf("cannot parse canonical text %q: %v", text, err)
		}
		if diff := cmp.Diff(in, again); diff != "" {
			t.Fatalf("round trip diff (-first +second):\n%s", diff)
		}
		text2, err := again.MarshalText()
		if err != nil || !bytes.Equal(text, text2) {
			t.Fatalf("canonical text not stable: %q vs %q (%v)", text, text2, err)
		}
	})
}
