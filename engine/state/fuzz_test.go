package state

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hdo-build/hdo/engine/fingerprint"
)

// FuzzDecode feeds arbitrary blobs to the record decoder, as a damaged or
// hostile state.db would: it must return an error or a record, never
// panic or allocate without bound, and a record it returns must encode to
// a blob that decodes to the same record.
func FuzzDecode(f *testing.F) {
	for _, r := range []*Record{
		{Path: "src/a.in", Stat: fingerprint.Stat{Exists: true, Size: 3, Mtime: 1, Ctime: 2, Ino: 3, Mode: 0o100644}, Hash: fingerprint.HashBytes([]byte("abc")), Recorded: 9},
		{Path: "a.out", Target: true, Rule: "t.do", Always: true, Building: true, Stamp: fingerprint.Stamp([]byte("s")), BuildID: -5, Built: 7,
			Deps: []Dep{{Path: "src/a.in", Kind: IfChange}, {Path: "cfg", Kind: IfCreate}}},
		{Path: "src/", Stat: fingerprint.Stat{Exists: true, Mode: 0o40755}, Listing: []Entry{{Name: "a.in", Type: 8}, {Name: "default.do", Type: 10}}},
	} {
		f.Add(encode(r))
	}
	f.Add([]byte{blobVersion, flagListing, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if err := decode(&r, b); err != nil {
			return
		}
		again := encode(&r)
		var r2 Record
		if err := decode(&r2, again); err != nil {
			t.Fatalf("decode(encode(%+v)): %v", r, err)
		}
		if diff := cmp.Diff(r, r2); diff != "" {
			t.Fatalf("round trip changed the record (-first +second):\n%s", diff)
		}
		if !bytes.Equal(encode(&r2), again) {
			t.Fatalf("encoding is not stable")
		}
	})
}
