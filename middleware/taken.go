package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/secretmem/secretmem/secret"
)

// readBuffer holds the raw bytes of a header section in protected memory
// while the rewriter looks at them: a pooled 2 KiB box, and a 16 KiB one
// for a longer line. It exists only while a request's header section is
// being read.
type readBuffer struct {
	small   secret.Box[[smallBuf]byte]
	large   secret.Box[[largeBuf]byte]
	isLarge bool
	live    bool
	n       int // bytes held
}

const (
	smallBuf = 2 << 10 // a pooled cell (arena.MaxPooled): no system call
	largeBuf = maxLine
)

// bufferOpts are the read buffer's options: destroyed by its owner on
// every path (no finalizer), and volatile, which keeps it out of the
// live-secret registry: fingerprinting 2 KiB on every request would cost
// more than the request, and the buffer is never printed.
var bufferOpts = []secret.Option{secret.Volatile(), secret.Scoped()}

func (b *readBuffer) empty() bool { return b.n == 0 }

func (b *readBuffer) full() bool {
	if b.isLarge {
		return b.n == largeBuf
	}
	return b.n == smallBuf
}

// update runs fn on the buffer's whole array.
func (b *readBuffer) update(fn func(a []byte) error) error {
	if b.isLarge {
		return b.large.Update(func(a *[largeBuf]byte) error { return fn(a[:]) })
	}
	return b.small.Update(func(a *[smallBuf]byte) error { return fn(a[:]) })
}

// spare keeps wiped small buffers between header sections. Taking a
// pooled slot per request would cost little, but the arena gives a chunk
// back as soon as a second one is empty and maps a new one when load
// returns: under varying concurrency that churn cost a tenth of a
// request. spare holds at most as many buffers as connections are open
// (and never more than cap), so a server with no connection holds none.
var spare = struct {
	mu   sync.Mutex
	box  []secret.Box[[smallBuf]byte]
	open int // connections open through Listener
}{}

const maxSpare = 32

// opened counts a connection; closed uncounts it and destroys the spare
// buffers beyond the connections left.
func opened() {
	spare.mu.Lock()
	spare.open++
	spare.mu.Unlock()
}

func closed() {
	spare.mu.Lock()
	defer spare.mu.Unlock()
	spare.open--
	for len(spare.box) > spare.open {
		spare.box[len(spare.box)-1].Destroy()
		spare.box = spare.box[:len(spare.box)-1]
	}
}

// start takes a buffer and puts the first byte into it.
func (b *readBuffer) start(first byte) error {
	if err := b.take(); err != nil {
		return err
	}
	return b.update(func(a []byte) error {
		a[0], b.n = first, 1
		return nil
	})
}

// take gives the buffer, which holds none, a small box: a spare one, or
// a new one.
func (b *readBuffer) take() error {
	var box secret.Box[[smallBuf]byte]
	spare.mu.Lock()
	if n := len(spare.box); n > 0 {
		box = spare.box[n-1]
		spare.box = spare.box[:n-1]
	}
	spare.mu.Unlock()
	if !box.Alive() {
		var err error
		if box, err = secret.NewBox([smallBuf]byte{}, bufferOpts...); err != nil {
			return err
		}
	}
	b.small, b.isLarge, b.live, b.n = box, false, true, 0
	return nil
}

// fill reads once from r into the free part of the buffer.
func (b *readBuffer) fill(r io.Reader) (int, error) {
	var n int
	var rerr error
	err := b.update(func(a []byte) error {
		n, rerr = r.Read(a[b.n:])
		b.n += n
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// consume lets fn look at the bytes held, drops the first n it returns,
// and wipes what they leave behind.
func (b *readBuffer) consume(fn func(held []byte) int) {
	if !b.live || b.n == 0 {
		return
	}
	_ = b.update(func(a []byte) error {
		n := fn(a[:b.n])
		copy(a, a[n:b.n])
		clear(a[b.n-n : b.n])
		b.n -= n
		return nil
	})
}

// grow moves the bytes into the large buffer; false if they are in it.
func (b *readBuffer) grow() bool {
	if b.isLarge {
		return false
	}
	large, err := secret.NewBox([largeBuf]byte{}, bufferOpts...)
	if err != nil {
		return false
	}
	_ = b.small.Use(func(s *[smallBuf]byte) error {
		return large.Update(func(l *[largeBuf]byte) error {
			copy(l[:], s[:b.n])
			return nil
		})
	})
	b.small.Destroy()
	b.large, b.isLarge = large, true
	return true
}

// release wipes the buffer and keeps a small one as a spare, or
// destroys it.
func (b *readBuffer) release() {
	if !b.live {
		return
	}
	if !b.isLarge && b.small.Update(func(a *[smallBuf]byte) error { clear(a[:b.n]); return nil }) == nil {
		spare.mu.Lock()
		if len(spare.box) < min(spare.open, maxSpare) {
			spare.box = append(spare.box, b.small)
			b.small = secret.Box[[smallBuf]byte]{}
		}
		spare.mu.Unlock()
	}
	b.small.Destroy()
	b.large.Destroy()
	*b = readBuffer{}
}

// takenSet is one connection's credentials taken out of its stream,
// waiting for Tokens to claim them by their placeholders. Placeholders
// name the connection by a random nonce, so a client cannot name another
// connection's credentials; and the Listener takes whatever a client
// sends in those headers, placeholders included, so none can be forged.
type takenSet struct {
	mu     sync.Mutex
	nonce  string
	cells  map[uint64]secret.Value // request<<16 | index
	order  []uint64
	req    uint64 // the request the last index belongs to
	idx    uint64
	closed bool
}

// maxPending bounds the credentials a connection keeps for requests that
// never claimed them (no Tokens in front of the handler, a request that
// net/http refused): the oldest are destroyed first.
const maxPending = 64

const placeholderPrefix = "secretmem-taken."

var takenSets sync.Map // nonce -> *takenSet

func newTakenSet() *takenSet { return &takenSet{} }

// put moves value into a volatile cell, wiping value, and returns the
// placeholder for it. A value that cannot get a cell (the memory-lock
// limit) is wiped and its placeholder claims nothing: the request sees
// no credential, and fails closed.
func (t *takenSet) put(req uint64, value []byte) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nonce == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		t.nonce = hex.EncodeToString(b[:])
		takenSets.Store(t.nonce, t)
	}
	if req != t.req {
		t.req, t.idx = req, 0
	}
	key := req<<16 | t.idx&0xffff
	t.idx++
	v, err := secret.New(value, volatile...)
	if err != nil {
		clear(value)
	} else if !t.closed {
		if t.cells == nil {
			t.cells = make(map[uint64]secret.Value)
		}
		t.cells[key] = v
		t.order = append(t.order, key)
		for len(t.cells) > maxPending {
			t.cells[t.order[0]].Destroy()
			delete(t.cells, t.order[0])
			t.order = t.order[1:]
		}
	} else {
		v.Destroy()
	}
	p := []byte(placeholderPrefix + t.nonce + ".")
	p = strconv.AppendUint(p, req, 10)
	p = append(p, '.')
	return strconv.AppendUint(p, key&0xffff, 10)
}

// close destroys every cell not claimed and forgets the connection.
func (t *takenSet) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, v := range t.cells {
		v.Destroy()
	}
	t.cells, t.order = nil, nil
	if t.nonce != "" {
		takenSets.Delete(t.nonce)
	}
}

// claim returns the cell a placeholder stands for, once; isPlaceholder
// reports whether s is a placeholder at all.
func claim(s string) (v secret.Value, ok, isPlaceholder bool) {
	rest, found := strings.CutPrefix(s, placeholderPrefix)
	if !found {
		return secret.Value{}, false, false
	}
	nonce, rest, _ := strings.Cut(rest, ".")
	reqS, idxS, _ := strings.Cut(rest, ".")
	req, err1 := strconv.ParseUint(reqS, 10, 64)
	idx, err2 := strconv.ParseUint(idxS, 10, 16)
	x, loaded := takenSets.Load(nonce)
	if err1 != nil || err2 != nil || !loaded {
		return secret.Value{}, false, true
	}
	t := x.(*takenSet)
	t.mu.Lock()
	defer t.mu.Unlock()
	key := req<<16 | idx
	v, ok = t.cells[key]
	if ok {
		delete(t.cells, key)
		for i, k := range t.order {
			if k == key {
				t.order = append(t.order[:i], t.order[i+1:]...)
				break
			}
		}
	}
	return v, ok, true
}
