package state

import (
	"encoding/binary"
	"errors"
)

// Dependencies are stored as one blob per target: a no-op run loads every
// target's dependencies in the same single query as its record.
//
// Encoding: version byte 1, then per dependency: kind byte, uvarint path
// length, path bytes, 32 hash bytes.

var errDeps = errors.New("corrupt dependency list")

func encodeDeps(deps []Dep) []byte {
	n := 1
	for _, d := range deps {
		n += 1 + binary.MaxVarintLen64 + len(d.Path) + 32
	}
	b := make([]byte, 1, n)
	b[0] = 1
	for _, d := range deps {
		b = append(b, byte(d.Kind))
		b = binary.AppendUvarint(b, uint64(len(d.Path)))
		b = append(b, d.Path...)
		b = append(b, d.Hash[:]...)
	}
	return b
}

func decodeDeps(b []byte) ([]Dep, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != 1 {
		return nil, errDeps
	}
	b = b[1:]
	var deps []Dep
	for len(b) > 0 {
		kind := DepKind(b[0])
		b = b[1:]
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l+32 {
			return nil, errDeps
		}
		b = b[n:]
		d := Dep{Kind: kind, Path: string(b[:l])}
		b = b[l:]
		copy(d.Hash[:], b[:32])
		b = b[32:]
		deps = append(deps, d)
	}
	return deps, nil
}
