package wire

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/secretmem/secretmem/internal/memory"
)

// cell is a Source for these tests: a secret that lives until killed.
type cell struct{ s *src }

type src struct {
	mu   sync.Mutex
	b    []byte
	dead bool
}

func newCell(s string) cell { return cell{&src{b: []byte(s)}} }

func (c cell) Use(fn func([]byte) error) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.dead {
		return errDead
	}
	return fn(c.s.b)
}

func (c cell) Alive() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return !c.s.dead
}

func (c cell) kill() { c.s.mu.Lock(); c.s.dead = true; c.s.mu.Unlock() }

var errDead = errors.New("dead")

var prefixed = Format{
	Len: func(n int) int { return 4 + n },
	Write: func(dst, b []byte) error {
		if strings.Contains(string(b), "bad") {
			return errors.New("refused")
		}
		copy(dst[copy(dst, "pre "):], b)
		return nil
	},
}

func TestAWireStringLivesAsLongAsItsCell(t *testing.T) {
	c := New[cell](prefixed)
	a, b := newCell("one"), newCell("two")
	s1, err := c.Get(a)
	if err != nil || s1 != "pre one" {
		t.Fatalf("Get: %q, %v", s1, err)
	}
	if again, _ := c.Get(a); unsafe.StringData(again) != unsafe.StringData(s1) {
		t.Error("the same cell was formatted twice")
	}
	s2, err := c.Get(b) // a rotation
	if err != nil || s2 != "pre two" {
		t.Fatalf("Get after rotation: %q, %v", s2, err)
	}
	if s1 != "pre one" || c.Live() != 2 {
		t.Errorf("the old string changed or went while its cell lives (live %d)", c.Live())
	}
	a.kill()
	if _, err := c.Get(b); err != nil {
		t.Fatal(err)
	}
	if strings.Trim(s1, "\x00") != "" || c.Live() != 1 {
		t.Errorf("the old string was not wiped after its cell died (live %d)", c.Live())
	}
	d := newCell("three")
	s3, _ := c.Get(d)
	// The page is reused, but not the byte s1 started at: s1 must never
	// read as a value again.
	if unsafe.StringData(s3) != (*byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s1)), 1)) {
		t.Error("the next value did not go one byte past the retired one")
	}
	if s1[0] != 0 {
		t.Error("a retired string's first byte was written again")
	}
	b.kill()
	d.kill()
	if _, err := c.Get(d); !errors.Is(err, errDead) {
		t.Errorf("Get of a dead cell: %v", err)
	}
	if strings.Trim(s3, "\x00") != "" || c.Live() != 0 {
		t.Error("a dead current cell's string was not wiped")
	}
}

func TestAFormatErrorKeepsNothing(t *testing.T) {
	c := New[cell](prefixed)
	if _, err := c.Get(newCell("bad")); err == nil || err.Error() != "refused" {
		t.Fatalf("error %v, want the format's", err)
	}
	if c.Live() != 0 {
		t.Errorf("%d strings held after a failed format", c.Live())
	}
}

func TestCloseWipes(t *testing.T) {
	c := New[cell](prefixed)
	s, _ := c.Get(newCell("one"))
	c.Close()
	c.Close()
	if strings.Trim(s, "\x00") != "" {
		t.Error("Close did not wipe")
	}
	if _, err := c.Get(newCell("two")); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}

// A closed Cache's pages go to other Caches, but a string it handed out
// (a request still waiting for a connection when the Transport was closed
// writes it out later) must read as zeros for good, never as part of
// another Cache's credential.
func TestAClosedCachesStringsNeverReadAsAnotherCredential(t *testing.T) {
	old := New[cell](prefixed)
	var stale []string
	for i := range 3 { // retired strings as well as the current one
		v := newCell("first credential " + strings.Repeat("x", i))
		s, err := old.Get(v)
		if err != nil {
			t.Fatal(err)
		}
		stale = append(stale, s)
		v.kill()
	}
	old.Close()
	var others []*Cache[cell]
	for range 16 { // enough to take every page the shared pool holds
		c := New[cell](prefixed)
		if _, err := c.Get(newCell("another credential, a long one")); err != nil {
			t.Fatal(err)
		}
		others = append(others, c)
	}
	for i, s := range stale {
		if strings.Trim(s, "\x00") != "" {
			t.Errorf("string %d of the closed Cache no longer reads as zeros", i)
		}
	}
	for _, c := range others {
		c.Close()
	}
}

func TestConcurrentGetsDuringRotations(t *testing.T) {
	c := New[cell](prefixed)
	var mu sync.Mutex
	cur := newCell("v0")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				mu.Lock()
				v := cur
				mu.Unlock()
				s, err := c.Get(v)
				if err != nil && !errors.Is(err, errDead) {
					t.Error(err)
					return
				}
				// A string of a cell that died meanwhile may read as
				// wiped (the grace period is the caller's); anything
				// else must be a whole value.
				if err == nil && !strings.HasPrefix(s, "pre v") && s[0] != 0 {
					t.Errorf("a torn value: %q", s)
					return
				}
			}
		}()
	}
	var old []cell
	for i := 1; i < 200; i++ {
		mu.Lock()
		old = append(old, cur)
		cur = newCell("v" + strings.Repeat("x", i%7))
		mu.Unlock()
		if len(old) > 5 { // a grace period of 5 rotations
			old[0].kill()
			old = old[1:]
		}
	}
	wg.Wait()
}

// A wire string can outlive its cell: the HPACK encoder of a long-lived
// HTTP/2 connection keeps the credential string it indexed as a map key
// and compares later header values against it. Once retired, a string
// must never again read as a value anyone could send, whatever is
// formatted after it: its first byte stays NUL for good.
func TestARetiredStringNeverReadsAsAValueAgain(t *testing.T) {
	c := New[cell](prefixed)
	type handed struct {
		c cell
		s string
	}
	var all []handed
	prev := newCell("v0")
	s, err := c.Get(prev)
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, handed{prev, s})
	for i := 1; i <= 3000; i++ {
		v := newCell("v" + strings.Repeat("x", i%5) + "y") // lengths vary a little
		s, err := c.Get(v)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, handed{v, s})
		prev.kill()
		prev = v
		if _, err := c.Get(v); err != nil { // sweeps the killed cell's string
			t.Fatal(err)
		}
		for j, h := range all {
			if !h.c.Alive() && (h.s == "" || h.s[0] != 0) {
				t.Fatalf("after %d rotations the string of rotation %d, whose cell is dead, does not start with a NUL", i, j)
			}
		}
		all = all[max(0, len(all)-64):] // older ones were checked often enough
	}
}

// Retired strings cost one byte each, so rotations cost almost no locked
// memory: 10,000 of them (more than a year of hourly rotations), each old
// cell alive until the next rotation, fit in a few pages.
func TestTenThousandRotationsFitInAFewPages(t *testing.T) {
	before := mapped.Load()
	c := New[cell](prefixed)
	prev := newCell(fmt.Sprintf("%040d", 0))
	if _, err := c.Get(prev); err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		v := newCell(fmt.Sprintf("%040d", i+1)) // each rotation changes the secret
		if _, err := c.Get(v); err != nil {
			t.Fatal(err)
		}
		prev.kill()
		prev = v
	}
	// Each page serves about 4,050 strings of 44 bytes; two strings are
	// alive at a time. (Taking a page per rotation, or never reusing a
	// byte, would take 10,000 or 108 pages.)
	if n, want := mapped.Load()-before, int64(10000/(memory.PageSize()-44)+3); n > want {
		t.Errorf("10,000 rotations mapped %d pages, want at most %d", n, want)
	}
	if c.Live() > 2 {
		t.Errorf("%d strings live, want at most 2", c.Live())
	}
}

// A source that hands out a new cell at every call, all holding the same
// secret and all kept alive (by this test here; by a Cache that held each
// one, in the field), must not cost a string, and a page, per call.
func TestANewCellWithTheSameSecretReusesTheString(t *testing.T) {
	c := New[cell](prefixed)
	first := newCell("same")
	s, err := c.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	var cells []cell
	for range 500 {
		v := newCell("same")
		cells = append(cells, v)
		got, err := c.Get(v)
		if err != nil {
			t.Fatal(err)
		}
		if unsafe.StringData(got) != unsafe.StringData(s) {
			t.Fatal("a new cell with the same secret got a new string")
		}
	}
	if c.Live() != 1 {
		t.Errorf("%d strings live, want 1", c.Live())
	}
	// The string now belongs to the newest cell: the older ones dying
	// changes nothing; the newest dying wipes it.
	first.kill()
	for _, v := range cells[:len(cells)-1] {
		v.kill()
	}
	if got, err := c.Get(cells[len(cells)-1]); err != nil || got != "pre same" {
		t.Fatalf("after the older cells died: %v", err)
	}
	cells[len(cells)-1].kill()
	if _, err := c.Get(newCell("other")); err != nil {
		t.Fatal(err)
	}
	if s[0] != 0 || c.Live() != 1 {
		t.Error("the string outlived the last cell it belonged to")
	}
}

// A source that hands out a different secret in a new cell at every call,
// keeping them all alive, would take a page per call until the lock limit
// (and every other secret in the process) ran out. The Cache refuses with
// a clear error once too many versions are alive at once, and loses
// nothing it holds.
func TestTooManyLiveVersionsAreRefused(t *testing.T) {
	c := New[cell](prefixed)
	var got []string
	for i := range maxLive {
		s, err := c.Get(newCell("v" + strings.Repeat("x", i)))
		if err != nil {
			t.Fatalf("version %d: %v", i, err)
		}
		got = append(got, s)
	}
	_, err := c.Get(newCell("one too many"))
	if !errors.Is(err, ErrTooManyLive) {
		t.Fatalf("error %v, want ErrTooManyLive", err)
	}
	if c.Live() != maxLive {
		t.Errorf("%d strings live, want %d", c.Live(), maxLive)
	}
	for i, s := range got {
		if s != "pre v"+strings.Repeat("x", i) {
			t.Fatalf("version %d changed after the refusal", i)
		}
	}
}

// A caller that got the old cell from its source just before a rotation
// asks for it after: it gets the old string back, which does not become
// current again, and nothing is formatted twice.
func TestALateCallerOfTheOldCellGetsItsString(t *testing.T) {
	c := New[cell](prefixed)
	a, b := newCell("one"), newCell("two")
	sa, _ := c.Get(a)
	sb, _ := c.Get(b)
	for range 10 {
		if s, err := c.Get(a); err != nil || unsafe.StringData(s) != unsafe.StringData(sa) {
			t.Fatalf("the old cell got another string (%v)", err)
		}
		if s, err := c.Get(b); err != nil || unsafe.StringData(s) != unsafe.StringData(sb) {
			t.Fatalf("the current cell got another string (%v)", err)
		}
	}
	if c.Live() != 2 {
		t.Errorf("%d strings live, want 2", c.Live())
	}
}

// After a reload that did not change the secret, the string belongs to
// the new cell; a late caller of the old cell must not take it back, or
// the old cell's death (its grace period ending) would wipe a string the
// new cell's callers are using.
func TestALateCallerOfAnUnchangedOldCellDoesNotTakeTheStringBack(t *testing.T) {
	c := New[cell](prefixed)
	a, b := newCell("same"), newCell("same")
	s, _ := c.Get(a)
	_, _ = c.Get(b) // the reload
	if got, err := c.Get(a); err != nil || unsafe.StringData(got) != unsafe.StringData(s) {
		t.Fatalf("the late caller got another string (%v)", err)
	}
	a.kill() // the old cell's grace period ends
	got, err := c.Get(b)
	if err != nil || unsafe.StringData(got) != unsafe.StringData(s) || s != "pre same" {
		t.Fatalf("the old cell's death took the new cell's string (%v)", err)
	}
	if c.Live() != 1 {
		t.Errorf("%d strings live, want 1", c.Live())
	}
}
