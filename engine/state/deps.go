package state

import (
	"encoding/binary"
	"errors"

	"github.com/hdo-build/hdo/engine/fingerprint"
)

// A record's blob: version byte 2, flags byte (1 exists, 2 always,
// 4 building, 8 has stamp, 16 target, 32 listing, 64 failed), uvarint-length-prefixed
// path and rule, varints size, mtime, ctime, ino, mode, recorded, build id,
// built; 32 hash bytes; 32 stamp bytes if flagged; a listing if flagged
// (uvarint count, then per entry: type byte, uvarint name length, name);
// then each dependency: kind byte, uvarint path length, path bytes, 32
// hash bytes.

var errCorrupt = errors.New("corrupt record")

const (
	flagExists = 1 << iota
	flagAlways
	flagBuilding
	flagStamp
	flagTarget
	flagListing
	flagFailed
)

const blobVersion = 2

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encode(r *Record) []byte {
	n := 2 + 2*binary.MaxVarintLen64 + len(r.Path) + len(r.Rule) + 8*binary.MaxVarintLen64 + 64
	for _, d := range r.Deps {
		n += 1 + binary.MaxVarintLen64 + len(d.Path) + 32
	}
	b := make([]byte, 0, n)
	var flags byte
	for _, f := range []struct {
		on   bool
		flag byte
	}{
		{r.Stat.Exists, flagExists}, {r.Always, flagAlways}, {r.Building, flagBuilding},
		{r.Stamp != (fingerprint.Hash{}), flagStamp}, {r.Target, flagTarget}, {r.Listing != nil, flagListing}, {r.Failed, flagFailed},
	} {
		if f.on {
			flags |= f.flag
		}
	}
	b = append(b, blobVersion, flags)
	b = appendString(b, r.Path)
	b = appendString(b, r.Rule)
	for _, v := range []int64{r.Stat.Size, r.Stat.Mtime, r.Stat.Ctime, int64(r.Stat.Ino), int64(r.Stat.Mode), r.Recorded, r.BuildID, r.Built} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, r.Hash[:]...)
	if flags&flagStamp != 0 {
		b = append(b, r.Stamp[:]...)
	}
	if flags&flagListing != 0 {
		b = binary.AppendUvarint(b, uint64(len(r.Listing)))
		for _, e := range r.Listing {
			b = append(b, e.Type)
			b = appendString(b, e.Name)
		}
	}
	for _, d := range r.Deps {
		b = append(b, byte(d.Kind))
		b = appendString(b, d.Path)
		b = append(b, d.Hash[:]...)
	}
	return b
}

// decoder reads a record blob; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		d.b = nil
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

func decode(r *Record, b []byte) error {
	if len(b) < 2 || b[0] != blobVersion {
		return errCorrupt
	}
	flags := b[1]
	d := &decoder{b: b[2:]}
	r.Path = d.string()
	r.Rule = d.string()
	r.Stat.Exists = flags&flagExists != 0
	r.Always = flags&flagAlways != 0
	r.Building = flags&flagBuilding != 0
	r.Target = flags&flagTarget != 0
	r.Failed = flags&flagFailed != 0
	r.Stat.Size, r.Stat.Mtime, r.Stat.Ctime = d.varint(), d.varint(), d.varint()
	r.Stat.Ino, r.Stat.Mode = uint64(d.varint()), uint32(d.varint())
	r.Recorded, r.BuildID, r.Built = d.varint(), d.varint(), d.varint()
	copy(r.Hash[:], d.bytes(32))
	if flags&flagStamp != 0 {
		copy(r.Stamp[:], d.bytes(32))
	}
	r.Listing = nil
	if flags&flagListing != 0 {
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			return errCorrupt
		}
		r.Listing = make([]Entry, 0, n)
		for i := uint64(0); i < n && d.err == nil; i++ {
			typ := d.bytes(1)
			if d.err != nil {
				break
			}
			r.Listing = append(r.Listing, Entry{Type: typ[0], Name: d.string()})
		}
	}
	r.Deps = nil
	for len(d.b) > 0 && d.err == nil {
		kind := d.bytes(1)
		if d.err != nil {
			break
		}
		dep := Dep{Kind: DepKind(kind[0]), Path: d.string()}
		copy(dep.Hash[:], d.bytes(32))
		r.Deps = append(r.Deps, dep)
	}
	return d.err
}
