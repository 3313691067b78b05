package archive

import "fmt"

// EntryError reports an archive entry that Extract refuses or failed to
// write. Reason says what is wrong with it; Err, if set, is the underlying
// error.
type EntryError struct {
	Entry  string // the name as stored in the archive, e.g. "../etc/passwd"
	Reason string // e.g. "path escapes the destination"
	Err    error
}

func (e *EntryError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("archive: entry %q: %s: %v", e.Entry, e.Reason, e.Err)
	}
	return fmt.Sprintf("archive: entry %q: %s", e.Entry, e.Reason)
}

func (e *EntryError) Unwrap() error { return e.Err }

// StreamError reports a gzip or tar stream that cannot be read to its end:
// corrupt, truncated, followed by garbage, or larger than the limits allow.
type StreamError struct {
	Offset int64  // uncompressed bytes read before the failure
	After  string // the last entry read, "" if none
	Err    error
}

func (e *StreamError) Error() string {
	if e.After == "" {
		return fmt.Sprintf("archive: bad stream at byte %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("archive: bad stream at byte %d, after entry %q: %v", e.Offset, e.After, e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }
