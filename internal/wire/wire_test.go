package wire

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"unsafe"
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
	if unsafe.StringData(s3) != unsafe.StringData(s1) {
		t.Error("the wiped region was not reused for the next value")
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

func TestCloseWipesAndQuarantines(t *testing.T) {
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
	// Another Cache must not get the closed one's pages before the
	// quarantine is over.
	s2, err := New[cell](prefixed).Get(newCell("three"))
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(s2) == unsafe.StringData(s) {
		t.Error("a closed Cache's page went to another at once")
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
