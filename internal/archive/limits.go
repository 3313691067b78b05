package archive

// Limits bounds what an untrusted archive may make Extract do. A zero field
// means the DefaultLimits value for that field, so Limits{} is the default.
type Limits struct {
	MaxTotalBytes int64 // uncompressed tar stream, headers included, e.g. 16 GiB
	MaxFileSize   int64 // one regular file, e.g. 8 GiB
	MaxEntries    int   // tar headers, e.g. 1,000,000
	MaxNameLen    int   // one path component in bytes, e.g. 255
	MaxPathLen    int   // a whole name or symlink target in bytes, e.g. 4096
	MaxDepth      int   // path components in a name, e.g. 256
}

// DefaultLimits returns limits generous for any real package and small
// enough to stop a decompression bomb before it fills a disk: 16 GiB in
// all, 8 GiB per file, 1,000,000 entries, 255-byte names, 4096-byte paths,
// 256 levels.
func DefaultLimits() Limits {
	return Limits{
		MaxTotalBytes: 16 << 30,
		MaxFileSize:   8 << 30,
		MaxEntries:    1_000_000,
		MaxNameLen:    255,
		MaxPathLen:    4096,
		MaxDepth:      256,
	}
}

// orDefault fills zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxTotalBytes > 0 {
		d.MaxTotalBytes = l.MaxTotalBytes
	}
	if l.MaxFileSize > 0 {
		d.MaxFileSize = l.MaxFileSize
	}
	if l.MaxEntries > 0 {
		d.MaxEntries = l.MaxEntries
	}
	if l.MaxNameLen > 0 {
		d.MaxNameLen = l.MaxNameLen
	}
	if l.MaxPathLen > 0 {
		d.MaxPathLen = l.MaxPathLen
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	return d
}
