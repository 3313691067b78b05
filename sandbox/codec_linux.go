package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The init decodes its config before anything else, and encoding/json
// costs it a tenth of its start-up: the messages between Run and the init
// use this small codec of varints and length-prefixed strings instead.

// encoder appends values to a message.
type encoder struct{ b []byte }

func (e *encoder) int(n int64) { e.b = binary.AppendVarint(e.b, n) }

func (e *encoder) bool(v bool) {
	if v {
		e.int(1)
	} else {
		e.int(0)
	}
}

func (e *encoder) string(s string) {
	e.int(int64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) strings(ss []string) {
	e.int(int64(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

// decoder reads values back in the order they were encoded; the first
// error sticks and the values after it are zero.
type decoder struct {
	b   []byte
	err error
}

var errShortMessage = errors.New("truncated message")

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.err = errShortMessage
		return 0
	}
	d.b = d.b[k:]
	return n
}

func (d *decoder) bool() bool { return d.int() != 0 }

func (d *decoder) string() string {
	n := d.int()
	if d.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(d.b)) {
		d.err = errShortMessage
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.int()
	if n < 0 || n > int64(len(d.b)) {
		d.err = errShortMessage
	}
	if d.err != nil {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

// done returns the decoding error, if any, or an error if bytes are left.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.b))
	}
	return d.err
}

func (c *initConfig) encode() []byte {
	var e encoder
	e.int(int64(len(c.Layers)))
	for _, l := range c.Layers {
		e.string(l.Name)
		e.string(l.Dir)
	}
	e.int(int64(c.Assembly))
	e.string(c.Work)
	e.string(c.DestDir)
	e.strings(c.Args)
	e.strings(c.Env)
	e.int(int64(c.NExtra))
	e.int(int64(c.NCgroup))
	e.int(int64(c.BuildID))
	e.int(c.TmpSize)
	e.bool(c.Interactive)
	e.bool(c.Network)
	return e.b
}

func (c *initConfig) decode(b []byte) error {
	d := decoder{b: b}
	n := d.int()
	if n < 0 || n > int64(len(b)) {
		return errShortMessage
	}
	c.Layers = make([]Layer, n)
	for i := range c.Layers {
		c.Layers[i] = Layer{Name: d.string(), Dir: d.string()}
	}
	c.Assembly = Assembly(d.int())
	c.Work = d.string()
	c.DestDir = d.string()
	c.Args = d.strings()
	c.Env = d.strings()
	c.NExtra = int(d.int())
	c.NCgroup = int(d.int())
	c.BuildID = int(d.int())
	c.TmpSize = d.int()
	c.Interactive = d.bool()
	c.Network = d.bool()
	return d.done()
}

func (r *report) encode() []byte {
	var e encoder
	e.string(r.Error)
	e.int(int64(r.Exit))
	e.int(int64(r.Signal))
	e.string(r.Assembly)
	e.int(r.AssembleNs)
	e.int(r.SetupNs)
	return e.b
}

func (r *report) decode(b []byte) error {
	d := decoder{b: b}
	r.Error = d.string()
	r.Exit = int(d.int())
	r.Signal = int(d.int())
	r.Assembly = d.string()
	r.AssembleNs = d.int()
	r.SetupNs = d.int()
	return d.done()
}
