package archive

import (
	"io"
	"sync"
)

// readahead reads r in a goroutine of its own, so that decompressing the
// next chunk overlaps hashing and writing the current one.
type readahead struct {
	full   chan chunk
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	cur    chunk
	off    int
}

type chunk struct {
	buf []byte
	n   int
	err error
}

// newReadahead starts reading r in chunks of size bytes, at most count
// chunks ahead. Close must be called to stop it.
func newReadahead(r io.Reader, size, count int) *readahead {
	a := &readahead{
		full:   make(chan chunk, count),
		free:   make(chan []byte, count),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range count {
		a.free <- getChunk(size)
	}
	go a.fill(r)
	return a
}

// chunkPool keeps readahead buffers between extractions: a store that
// unpacks a hundred small packages would otherwise allocate (and the
// kernel zero) 4 MB for each.
var chunkPool sync.Pool

func getChunk(size int) []byte {
	if b, ok := chunkPool.Get().(*[]byte); ok && len(*b) == size {
		return *b
	}
	return make([]byte, size)
}

func putChunk(b []byte) { chunkPool.Put(&b) }

func (a *readahead) fill(r io.Reader) {
	defer close(a.exited)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.done:
			return
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		select {
		case a.full <- chunk{buf, n, err}:
		case <-a.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *readahead) Read(p []byte) (int, error) {
	for a.off == a.cur.n {
		if a.cur.err != nil {
			return 0, a.cur.err
		}
		if a.cur.buf != nil {
			a.free <- a.cur.buf
		}
		a.cur, a.off = <-a.full, 0
	}
	n := copy(p, a.cur.buf[a.off:a.cur.n])
	a.off += n
	return n, nil
}

// Close stops the goroutine and waits for it, so that r is no longer in
// use when Close returns, and gives the buffers back.
func (a *readahead) Close() {
	close(a.done)
	<-a.exited
	if a.cur.buf != nil {
		putChunk(a.cur.buf)
		a.cur.buf = nil
	}
	for {
		select {
		case b := <-a.free:
			putChunk(b)
		case c := <-a.full:
			putChunk(c.buf)
		default:
			return
		}
	}
}
