package logging

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
)

// buffer is scratch memory that may hold a secret: a value rendered
// before it was checked, a string decoded from base64. It never drops a
// copy: growing copies into a larger array and wipes the old one, and
// reset wipes what was written. (A bytes.Buffer would leave the old array
// to the garbage collector, unwiped.)
type buffer struct{ b []byte }

func (b *buffer) Write(p []byte) (int, error) {
	b.grow(len(p))
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *buffer) WriteString(s string) (int, error) {
	b.grow(len(s))
	b.b = append(b.b, s...)
	return len(s), nil
}

func (b *buffer) WriteByte(c byte) error {
	b.grow(1)
	b.b = append(b.b, c)
	return nil
}

func (b *buffer) grow(n int) {
	if cap(b.b)-len(b.b) >= n {
		return
	}
	nb := make([]byte, len(b.b), 2*cap(b.b)+n)
	copy(nb, b.b)
	wipe(b.b)
	b.b = nb
}

// reset wipes what was written and empties the buffer.
func (b *buffer) reset() {
	wipe(b.b)
	b.b = b.b[:0]
}

// wipe zeroes p. It is not inlined, so the stores are not dropped as dead.
//
//go:noinline
func wipe(p []byte) {
	clear(p)
	runtime.KeepAlive(p)
}

// scratch is the memory one rendering takes: the value as JSON and as
// %+v text, the redacted JSON, and room to decode strings into.
type scratch struct {
	json, text, out, dec buffer
	enc                  *json.Encoder
}

// maxPooled is the largest buffer a scratch keeps for the next use;
// larger ones are wiped and dropped.
const maxPooled = 64 << 10

var scratchPool = sync.Pool{New: func() any {
	s := &scratch{}
	// As slog's JSON handler encodes: without HTML escapes.
	s.enc = json.NewEncoder(&s.json)
	s.enc.SetEscapeHTML(false)
	return s
}}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// release wipes s and pools it.
func (s *scratch) release() {
	big := false
	for _, b := range []*buffer{&s.json, &s.text, &s.out, &s.dec} {
		b.reset()
		big = big || cap(b.b) > maxPooled
	}
	if !big {
		scratchPool.Put(s)
	}
}

// filler overwrites the pooled buffers of encoding/json and fmt. Both
// render into a buffer they keep for the next call, unwiped: after a
// rendering that held a secret, rendering filler of the same length
// through them again overwrites it. Their pools are per processor, and
// the goroutine runs on, so the next call gets the same buffer unless the
// goroutine moved in between (see the package documentation).
var filler = strings.Repeat("x", maxPooled)

// overwriteRenderers renders n bytes of filler through encoding/json and
// fmt, whose last renderings were jsonLen and textLen bytes long.
func overwriteRenderers(jsonLen, textLen int) {
	if jsonLen > 0 {
		_ = json.NewEncoder(io.Discard).Encode(filler[:min(jsonLen, len(filler))])
	}
	if textLen > 0 {
		_, _ = fmt.Fprint(io.Discard, filler[:min(textLen, len(filler))])
	}
}
