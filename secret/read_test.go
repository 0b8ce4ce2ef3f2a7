package secret_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

// recordingReader remembers where every buffer its Read was given lies.
type recordingReader struct {
	src  io.Reader
	bufs [][2]uintptr // start, end
}

func (r *recordingReader) Read(p []byte) (int, error) {
	start := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	r.bufs = append(r.bufs, [2]uintptr{start, start + uintptr(len(p))})
	return r.src.Read(p)
}

// cellBounds returns the address range of the cell's bytes.
func cellBounds(t *testing.T, v secret.Value) (start, end uintptr) {
	t.Helper()
	err := v.Use(func(b []byte) error {
		start = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		end = start + uintptr(len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return start, end
}

func TestReadHandsTheReaderTheCellItself(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			m := marker(t) + marker(t)
			// Half a buffer per call: Read must keep handing out the rest
			// of the cell, never a buffer of its own.
			r := &recordingReader{src: iotest.HalfReader(strings.NewReader(m))}
			v, err := secret.Read(r, len(m), p.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Destroy()
			if !holds(v, m) {
				t.Fatal("the cell does not hold what was read")
			}
			start, end := cellBounds(t, v)
			if len(r.bufs) < 2 {
				t.Fatalf("the reader was called %d times", len(r.bufs))
			}
			for i, b := range r.bufs {
				if b[0] < start || b[1] > end {
					t.Errorf("call %d: Read got a buffer at [%#x, %#x), outside the cell [%#x, %#x)", i, b[0], b[1], start, end)
				}
			}
		})
	}
}

// heapDuring returns the bytes the process allocated on the Go heap while
// fn ran, the least of a few runs (other goroutines allocate too).
func heapDuring(fn func()) uint64 {
	least := ^uint64(0)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

func TestReadFileMakesNoHeapCopy(t *testing.T) {
	const size = 256 << 10
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	file := filepath.Join(wine.TempDir(t), "big-secret")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	wantNoHeapCopy(t, "a file", func() (secret.Value, error) { return secret.ReadFile(file) }, content)
}

// wantNoHeapCopy reads content with read (called once for each of
// heapDuring's rounds: a pipe reads once) and fails the test when that
// allocated anything like a copy on the heap.
func wantNoHeapCopy(t *testing.T, what string, read func() (secret.Value, error), content []byte) {
	t.Helper()
	var failed error
	used := heapDuring(func() {
		v, err := read()
		if err != nil {
			failed = err
			return
		}
		if !v.Equal(content) {
			failed = errors.New("the cell does not hold what was read")
		}
		v.Destroy()
	})
	if failed != nil {
		t.Fatal(failed)
	}
	t.Logf("reading %d bytes from %s allocated %d bytes on the heap", len(content), what, used)
	if used > 16<<10 {
		t.Errorf("that is a heap copy: want at most 16 KiB")
	}
}

// pipe returns an open file that reads content through a pipe: the
// path pipePath gives (/dev/fd/N of an os.Pipe, a Windows named pipe),
// opened as a program would open it, for ReadAll.
func pipe(t testing.TB, content []byte) *os.File {
	t.Helper()
	f, err := os.Open(pipePath(t, content))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestReadAllThroughAPipe(t *testing.T) {
	short := []byte(marker(t))
	grown := bytes.Repeat([]byte("a line of a certificate chain.\n"), 300) // 9300 bytes
	tests := []struct {
		name    string
		content []byte
		opts    []secret.Option
		want    []byte
		err     error
	}{
		{"a short secret", short, nil, short, nil},
		{"a short secret, trimmed", append(bytes.Clone(short), '\n'), []secret.Option{secret.TrimNewline()}, short, nil},
		{"one that outgrows the first scratch cells", grown, []secret.Option{secret.Guarded()}, grown, nil},
		{"exactly the 64 KiB limit", bytes.Repeat([]byte{'k'}, 64<<10), nil, bytes.Repeat([]byte{'k'}, 64<<10), nil},
		{"one byte over the limit", bytes.Repeat([]byte{'k'}, 64<<10+1), nil, nil, secret.ErrSize},
		{"nothing at all", nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := secret.Stats().Live
			v, err := secret.ReadAll(pipe(t, tt.content), tt.opts...)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if v.Len() != len(tt.want) || !v.Equal(tt.want) {
					t.Errorf("the cell holds %d bytes, not the %d that came through the pipe", v.Len(), len(tt.want))
				}
				v.Destroy()
			}
			// The scratch cells are gone.
			if got := secret.Stats().Live; got != live {
				t.Errorf("%d live cells after, %d before", got, live)
			}
		})
	}
}

func TestReadAllThroughAPipeMakesNoHeapCopy(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789abcdef"), 60<<10/16)
	wantNoHeapCopy(t, "a pipe", func() (secret.Value, error) { return secret.ReadAll(pipe(t, content)) }, content)
}

// The scratch cells a pipe's bytes grow through are wiped when freed, and
// nothing of the secret stays in protected memory once its cell ends.
func TestReadAllThroughAPipeWipesItsScratchCells(t *testing.T) {
	counts := watchFrees(t)
	m := marker(t)
	content := []byte(strings.Repeat(m, 9000/len(m))) // 512 → 16384 bytes of scratch
	v, err := secret.ReadAll(pipe(t, content))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal(content) {
		t.Fatal("the cell does not hold what came through the pipe")
	}
	scratch, _ := counts()
	v.Destroy()
	freed, dirty := counts()
	if scratch < 6 {
		t.Errorf("%d scratch regions freed, want 6 (512 bytes doubling to 16 KiB)", scratch)
	}
	if dirty != 0 {
		t.Errorf("%d of %d freed regions held data", dirty, freed)
	}
	if inArena(m) {
		t.Error("the secret is still in protected memory after its cell ended")
	}
}
