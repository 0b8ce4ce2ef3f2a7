package sign

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/secretmem/secretmem/internal/testalloc"
	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
)

// newCell puts a copy of b in a cell that lives as long as the test.
func newCell(t testing.TB, b []byte) secret.Value { return testsecret.Cell(t, b) }

// rotating is a Source whose cell the test replaces, counting reads.
type rotating struct {
	mu    sync.Mutex
	v     secret.Value
	reads atomic.Int32
}

func (r *rotating) Secret(string) secret.Value {
	r.reads.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.v
}

func (r *rotating) set(v secret.Value) {
	r.mu.Lock()
	r.v = v
	r.mu.Unlock()
}

var hmacHashes = []struct {
	h   Hash
	new func() hash.Hash
}{{SHA256, sha256.New}, {SHA512, sha512.New}}

func refMAC(newHash func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, c := range hmacHashes {
		for _, kl := range []int{1, 32, 64, 129, 200} {
			key := bytes.Repeat([]byte{byte(kl)}, kl)
			m, err := NewHMAC(c.h, Static(newCell(t, key)), "k")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{0, 1, 55, 64, 200, 5000} {
				msg := bytes.Repeat([]byte("m"), n)
				want := refMAC(c.new, key, msg)
				got, err := m.Sum(nil, msg[:n/2], msg[n/2:])
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%v, %d-byte key, %d bytes: differs from crypto/hmac (%v)", c.h, kl, n, err)
				}
				if err := m.Verify(want, msg); err != nil {
					t.Fatalf("%v: Verify refused a good tag: %v", c.h, err)
				}
				bad := bytes.Clone(want)
				bad[0] ^= 1
				for _, tag := range [][]byte{bad, want[:len(want)-1], nil, append(bytes.Clone(want), 0)} {
					if err := m.Verify(tag, msg); !errors.Is(err, ErrInvalid) {
						t.Fatalf("%v: Verify of a wrong tag: %v, want ErrInvalid", c.h, err)
					}
				}
				s := m.New()
				for i := 0; i < n; i += 777 {
					_, _ = s.Write(msg[i:min(n, i+777)])
				}
				if got := s.Sum(nil); !bytes.Equal(got, want) || s.Err() != nil {
					t.Fatalf("%v, %d bytes: the Stream differs from crypto/hmac (%v)", c.h, n, s.Err())
				}
				if err := s.Verify(want); err != nil {
					t.Fatalf("%v: Stream.Verify refused a good tag: %v", c.h, err)
				}
				if err := s.Verify(bad); !errors.Is(err, ErrInvalid) {
					t.Fatalf("%v: Stream.Verify of a wrong tag: %v", c.h, err)
				}
				s.Close()
			}
			m.Close()
		}
	}
}

// A Stream is a hash.Hash: written across the buffer's edge, summed in
// the middle, continued, reset.
func TestStreamIsAHash(t *testing.T) {
	key := []byte("stream key")
	m, err := NewHMAC(SHA256, Static(newCell(t, key)), "k")
	if err != nil {
		t.Fatal(err)
	}
	var h hash.Hash = m.New()
	for _, n := range []int{streamBuffer - 1, streamBuffer, streamBuffer + 1, 3*streamBuffer + 17} {
		h.Reset()
		a := bytes.Repeat([]byte("a"), n)
		if _, err := io.Copy(h, bytes.NewReader(a)); err != nil {
			t.Fatal(err)
		}
		if got := h.Sum(nil); !bytes.Equal(got, refMAC(sha256.New, key, a)) {
			t.Fatalf("%d bytes through io.Copy: wrong HMAC", n)
		}
		_, _ = h.Write([]byte("more"))
		if got := h.Sum([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), refMAC(sha256.New, key, a, []byte("more"))...)) {
			t.Fatalf("%d bytes, summed and continued: wrong HMAC", n)
		}
	}
	if h.Size() != 32 || h.BlockSize() != 64 {
		t.Errorf("Size %d, BlockSize %d", h.Size(), h.BlockSize())
	}
	h.(*Stream).Close()
}

// A rotated key is used from the next call on; a message in progress
// keeps the key it started with; the old key's cell is destroyed once the
// source's old cell dies.
func TestHMACFollowsRotation(t *testing.T) {
	k1, k2 := []byte("first key"), []byte("second key")
	c1 := newCell(t, k1)
	src := &rotating{v: c1}
	m, err := NewHMAC(SHA256, src, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	msg := []byte("message")
	long := m.New()
	_, _ = long.Write(bytes.Repeat([]byte("x"), streamBuffer+1))
	short := m.New()
	_, _ = short.Write(msg)
	old := m.f.cur.Load().val

	src.set(newCell(t, k2))
	if got, _ := m.Sum(nil, msg); !bytes.Equal(got, refMAC(sha256.New, k2, msg)) {
		t.Fatal("the HMAC did not follow the rotation")
	}
	if got := short.Sum(nil); !bytes.Equal(got, refMAC(sha256.New, k1, msg)) {
		t.Error("a buffered message in progress changed keys")
	}
	if got := long.Sum(nil); !bytes.Equal(got, refMAC(sha256.New, k1, bytes.Repeat([]byte("x"), streamBuffer+1))) {
		t.Error("a running message in progress changed keys")
	}
	if !old.box.Alive() {
		t.Fatal("the old key's states were destroyed while its cell lives")
	}
	c1.Destroy()
	_, _ = m.Sum(nil, msg)
	if old.box.Alive() {
		t.Error("the old key's states outlived its cell")
	}
	if n := m.f.retiring.Load(); n != 0 {
		t.Errorf("%d retired keys still held", n)
	}
}

func TestHMACErrorsNameTheKeyNotTheSecret(t *testing.T) {
	if _, err := NewHMAC(SHA256, Static(secret.Value{}), "webhook.key"); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "webhook.key") {
		t.Errorf("missing key: %v", err)
	}
	if _, err := NewHMAC(SHA256, Static(newCell(t, nil)), "k"); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty key: %v", err)
	}
	if _, err := NewHMAC(Hash(9), Static(newCell(t, []byte("k"))), "k"); err == nil {
		t.Error("an unknown hash was accepted")
	}
	if _, err := NewHMAC(SHA256, nil, "k"); err == nil {
		t.Error("a nil source was accepted")
	}
	src := &rotating{v: newCell(t, []byte("k"))}
	m, err := NewHMAC(SHA256, src, "k")
	if err != nil {
		t.Fatal(err)
	}
	dead := newCell(t, []byte("gone"))
	dead.Destroy()
	src.set(dead)
	if _, err := m.Sum(nil, []byte("x")); !errors.Is(err, ErrNoKey) {
		t.Errorf("a destroyed cell: %v, want ErrNoKey", err)
	}
	s := m.New()
	if got := s.Sum([]byte("b")); string(got) != "b" || !errors.Is(s.Err(), ErrNoKey) {
		t.Errorf("a Stream over a destroyed cell appended %q, Err %v", got[1:], s.Err())
	}
	m.Close()
	if _, err := m.Sum(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// A cell that failed to load is not parsed again at every call, and a
// good one replaces it.
func TestAFailedKeyIsNotReloadedAtEveryCall(t *testing.T) {
	src := &rotating{v: newCell(t, []byte("good"))}
	s, err := NewHMAC(SHA256, src, "k")
	if err != nil {
		t.Fatal(err)
	}
	empty := newCell(t, nil)
	src.set(empty)
	loads := 0
	s.f.load = func(v secret.Value) (*hmacKey, error) { loads++; return s.load(v) }
	for range 5 {
		if _, err := s.Sum(nil); err == nil {
			t.Fatal("an empty key signed")
		}
	}
	if loads != 1 {
		t.Errorf("the failed cell was loaded %d times", loads)
	}
	src.set(newCell(t, []byte("good again")))
	if _, err := s.Sum(nil); err != nil || loads != 2 {
		t.Errorf("a good cell after a bad one: %v (%d loads)", err, loads)
	}
}

func TestHMACSumAllocatesNothing(t *testing.T) {
	m, err := NewHMAC(SHA256, Static(newCell(t, []byte("key"))), "k")
	if err != nil {
		t.Fatal(err)
	}
	msg, out := []byte("message"), make([]byte, 0, 64)
	tag, _ := m.Sum(nil, msg)
	if n := testalloc.PerRun(100, func() { _, _ = m.Sum(out[:0], msg) }); n > 0 {
		t.Errorf("Sum allocates %v times", n)
	}
	if n := testalloc.PerRun(100, func() { _ = m.Verify(tag, msg) }); n > 0 {
		t.Errorf("Verify allocates %v times", n)
	}
}

func TestHMACConcurrentUseAndRotation(t *testing.T) {
	src := &rotating{v: newCell(t, []byte("k0"))}
	m, err := NewHMAC(SHA512, src, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if _, err := m.Sum(nil, []byte{byte(g), byte(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 20 {
		src.set(newCell(t, []byte{'k', byte(i)}))
	}
	wg.Wait()
}
