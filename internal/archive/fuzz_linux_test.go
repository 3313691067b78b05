package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzLimits keep fuzzing fast.
var fuzzLimits = Limits{MaxTotalBytes: 1 << 20, MaxFileSize: 256 << 10, MaxEntries: 200, MaxDepth: 16}

// fuzzSeeds are uncompressed tar streams: every hostile case (aimed at a
// sentinel beside the destination by a relative path) and valid archives.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, tc := range hostileCases() {
		ents := make([]tent, len(tc.ents))
		for i, e := range tc.ents {
			e.name = strings.ReplaceAll(e.name, "@S", "../sentinel")
			e.link = strings.ReplaceAll(e.link, "@S", "../sentinel")
			if e.size > fuzzLimits.MaxTotalBytes {
				e.size = fuzzLimits.MaxTotalBytes + 1
			}
			ents[i] = e
		}
		data := tarBytes(t, ents)
		if tc.raw && tc.mangle != nil {
			data = tc.mangle(data)
		}
		seeds = append(seeds, data)
	}
	seeds = append(seeds, paxTar("path", "a/b"), paxTar("linkpath", "x"))
	return append(seeds, tarBytes(t, []tent{
		{name: "./", typ: tar.TypeDir},
		{name: "bin/", typ: tar.TypeDir, mode: 0o555},
		{name: "bin/tool", mode: 0o4755, body: "#!/bin/sh\n"},
		{name: "bin/alias", typ: tar.TypeLink, link: "bin/tool"},
		{name: "lib/libz.so.1", body: "ELF"},
		{name: "lib/libz.so", typ: tar.TypeSymlink, link: "libz.so.1"},
		{name: "lib/abs", typ: tar.TypeSymlink, link: "/usr/lib"},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		{name: "lib/libz.so.1", mode: 0o600, body: "ELF2"},
	}))
}

// checkExtraction extracts data (gzipped when gz) into a fresh sandbox
// and checks the invariants that must hold for any input.
func checkExtraction(t *testing.T, data []byte, gz bool) {
	s := newSandbox(t)
	defer makeWritable(s.dest)
	var l *Listing
	var err error
	if gz {
		l, err = ExtractListing(context.Background(), bytes.NewReader(data), s.dest, Options{Limits: fuzzLimits})
	} else {
		l, err = unpack(context.Background(), bytes.NewReader(data), false, s.dest, Options{Limits: fuzzLimits}, true)
	}
	s.check(t)
	if err != nil {
		var ee *EntryError
		var se *StreamError
		if !errors.As(err, &ee) && !errors.As(err, &se) {
			t.Fatalf("error %q is %T, want *EntryError or *StreamError", err, err)
		}
		return
	}
	listed, lerr := unpack(context.Background(), bytes.NewReader(data), gz, "", Options{Limits: fuzzLimits}, true)
	if lerr != nil {
		t.Fatalf("Extract succeeded but List failed: %v", lerr)
	}
	if diff := cmp.Diff(l, listed); diff != "" {
		t.Fatalf("List differs from Extract (-extract +list):\n%s", diff)
	}
	// The tree on disk is exactly the listing.
	var onDisk []Entry
	filepath.WalkDir(s.dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if p == s.dest {
			return nil
		}
		rel, _ := filepath.Rel(s.dest, p)
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{Path: rel, Mode: info.Mode() & (fs.ModePerm | fs.ModeSticky)}
		switch {
		case info.IsDir():
			e.Type = TypeDir
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			e.Type, e.Size, e.Sum = TypeFile, int64(len(b)), blake3Hex(b)
		case info.Mode()&fs.ModeSymlink != 0:
			e.Type, e.Mode = TypeSymlink, 0o777
			e.Target, _ = os.Readlink(p)
		default:
			t.Fatalf("%s: extracted a %v", rel, info.Mode())
		}
		onDisk = append(onDisk, e)
		return nil
	})
	if diff := cmp.Diff(l.Entries, onDisk, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("tree on disk differs from the listing (-listing +disk):\n%s", diff)
	}
}

func FuzzExtractTar(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkExtraction(t, data, false) })
}

func FuzzExtract(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(gzBytes(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkExtraction(t, data, true) })
}
