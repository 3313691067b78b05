package state

import (
	"encoding/binary"
	"errors"

	"github.com/hdo-build/hdo/engine/fingerprint"
)

// A record's blob: version byte 1, flags byte (1 exists, 2 always,
// 4 building, 8 has stamp), varints size, mtime, ctime, ino, mode,
// recorded, build id, built; 32 hash bytes; 32 stamp bytes if flagged;
// then each dependency: kind byte, uvarint path length, path bytes, 32 hash
// bytes.

var errCorrupt = errors.New("corrupt record")

const (
	flagExists = 1 << iota
	flagAlways
	flagBuilding
	flagStamp
)

func encode(r *Record) []byte {
	n := 2 + 8*binary.MaxVarintLen64 + 64
	for _, d := range r.Deps {
		n += 1 + binary.MaxVarintLen64 + len(d.Path) + 32
	}
	b := make([]byte, 0, n)
	var flags byte
	if r.Stat.Exists {
		flags |= flagExists
	}
	if r.Always {
		flags |= flagAlways
	}
	if r.Building {
		flags |= flagBuilding
	}
	if r.Stamp != (fingerprint.Hash{}) {
		flags |= flagStamp
	}
	b = append(b, 1, flags)
	for _, v := range []int64{r.Stat.Size, r.Stat.Mtime, r.Stat.Ctime, int64(r.Stat.Ino), int64(r.Stat.Mode), r.Recorded, r.BuildID, r.Built} {
		b = binary.AppendVarint(b, v)
	}
	b = append(b, r.Hash[:]...)
	if flags&flagStamp != 0 {
		b = append(b, r.Stamp[:]...)
	}
	for _, d := range r.Deps {
		b = append(b, byte(d.Kind))
		b = binary.AppendUvarint(b, uint64(len(d.Path)))
		b = append(b, d.Path...)
		b = append(b, d.Hash[:]...)
	}
	return b
}

func decode(r *Record, b []byte) error {
	if len(b) < 2 || b[0] != 1 {
		return errCorrupt
	}
	flags := b[1]
	b = b[2:]
	var vals [8]int64
	for i := range vals {
		v, n := binary.Varint(b)
		if n <= 0 {
			return errCorrupt
		}
		vals[i] = v
		b = b[n:]
	}
	r.Stat.Exists = flags&flagExists != 0
	r.Always = flags&flagAlways != 0
	r.Building = flags&flagBuilding != 0
	r.Stat.Size, r.Stat.Mtime, r.Stat.Ctime = vals[0], vals[1], vals[2]
	r.Stat.Ino, r.Stat.Mode = uint64(vals[3]), uint32(vals[4])
	r.Recorded, r.BuildID, r.Built = vals[5], vals[6], vals[7]
	if len(b) < 32 {
		return errCorrupt
	}
	copy(r.Hash[:], b)
	b = b[32:]
	if flags&flagStamp != 0 {
		if len(b) < 32 {
			return errCorrupt
		}
		copy(r.Stamp[:], b)
		b = b[32:]
	}
	r.Deps = nil
	for len(b) > 0 {
		kind := DepKind(b[0])
		b = b[1:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l+32 {
			return errCorrupt
		}
		b = b[n:]
		d := Dep{Kind: kind, Path: string(b[:l])}
		b = b[l:]
		copy(d.Hash[:], b[:32])
		b = b[32:]
		r.Deps = append(r.Deps, d)
	}
	return nil
}
