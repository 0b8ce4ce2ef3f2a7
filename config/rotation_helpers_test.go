package config

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// loaded loads opts and closes the Config when the test ends.
func loaded(t testing.TB, opts ...Option) *Config {
	t.Helper()
	cfg, err := Load(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cfg.Close() })
	return cfg
}

// watched loads opts, watches with fn (may be nil), and closes the
// Config when the test ends.
func watched(t testing.TB, fn func(error), opts ...Option) *Config {
	t.Helper()
	cfg := loaded(t, opts...)
	if err := cfg.Watch(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Writers as operators and tools write files. Each writes content to
// path; the non-atomic ones pause between their steps, the way a slow
// disk, a network file system or a scheduler would make them.
type writer struct {
	name string
	// atomic: the new content appears all at once (a rename), so how
	// long the write took says nothing about what a reader could catch.
	atomic bool
	write  func(t testing.TB, path string, content []byte)
}

var (
	// renameWriter writes a hidden temporary file beside path and renames
	// it over path: what careful tools do, atomic.
	renameWriter = writer{"rename", true, func(t testing.TB, path string, content []byte) {
		tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
		writeBytes(t, tmp, content, os.O_CREATE|os.O_TRUNC)
		if err := renameRetrying(tmp, path); err != nil {
			t.Error(err)
		}
	}}
	// truncateWriter truncates path and writes it in two pieces, 2 ms
	// apart: echo > file, most editors' plain save, a shell redirection
	// of a slow command.
	truncateWriter = writer{"truncate, then two pieces", false, func(t testing.TB, path string, content []byte) {
		f := openFile(t, path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
		defer f.Close()
		half := len(content) / 2
		writeAll(t, f, content[:half])
		time.Sleep(2 * time.Millisecond)
		writeAll(t, f, content[half:])
	}}
	// inPlaceWriter overwrites path at the same size without truncating,
	// in two pieces, 2 ms apart: dd conv=notrunc, a tool that rewrites a
	// fixed-size record.
	inPlaceWriter = writer{"same size, in place, two pieces", false, func(t testing.TB, path string, content []byte) {
		f := openFile(t, path, os.O_WRONLY)
		defer f.Close()
		half := len(content) / 2
		if _, err := f.WriteAt(content[:half], 0); err != nil {
			t.Error(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, err := f.WriteAt(content[half:], int64(half)); err != nil {
			t.Error(err)
		}
	}}
	// keepTimeWriter replaces path at the same size and puts its
	// modification time back: cp -p, rsync -t, a restore from a backup.
	keepTimeWriter = writer{"same size, modification time kept", false, func(t testing.TB, path string, content []byte) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			return
		}
		writeBytes(t, path, content, os.O_TRUNC)
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Error(err)
		}
	}}
)

// renameRetrying renames from over to. On Windows a rename over a file
// that another handle holds open fails with "Access is denied", whatever
// share mode that handle allows: MoveFileEx, which os.Rename calls, does
// not replace an open file (only a rename with POSIX semantics does, and
// Wine 8 has none). Windows tools retry for that reason (cmd/go does,
// against virus scanners and indexers), and so does this writer.
//
// It retries for up to 20 s, as long as waitSecret waits: a watcher
// polling every millisecond reads the file most of the time, and while
// other goroutines keep every P busy (the readers of these tests), each
// system call between its open and its close can cost it a scheduler
// time slice before it runs again. Under Wine on a loaded host (load 12
// on 2 cores) a probe held the file open 20 ms at the median and 375 ms
// at the longest, 88% of the time, and a rename waited up to 1.8 s.
func renameRetrying(from, to string) error {
	err := os.Rename(from, to)
	for deadline := time.Now().Add(20 * time.Second); err != nil && runtime.GOOS == "windows" && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		err = os.Rename(from, to)
	}
	return err
}

func openFile(t testing.TB, path string, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeAll(t testing.TB, f *os.File, b []byte) {
	t.Helper()
	if _, err := f.Write(b); err != nil {
		t.Error(err)
	}
}

func writeBytes(t testing.TB, path string, b []byte, flag int) {
	t.Helper()
	f := openFile(t, path, os.O_WRONLY|os.O_CREATE|flag)
	defer f.Close()
	writeAll(t, f, b)
}

// reads checks, from goroutines of its own, that every read of a secret
// finds one of the values written in full: never a cut-off one, never a
// mix of two. It holds the values written so far.
type reads struct {
	mu      sync.Mutex
	written [][]byte
	total   atomic.Int64
	bad     atomic.Int64
}

func (r *reads) add(v []byte) {
	r.mu.Lock()
	r.written = append(r.written, v)
	r.mu.Unlock()
}

// check reports whether v holds one of the values written.
func (r *reads) check(v secret.Value) {
	r.total.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.written {
		if v.Equal(w) {
			return
		}
	}
	r.bad.Add(1)
}

// readWhile reads key from cfg on two goroutines until stop is called.
func (r *reads) readWhile(cfg *Config, key string) (stop func()) {
	return repeat(2, func() { r.check(cfg.Secret(key)) })
}

// repeat calls f again and again on n goroutines until stop is called,
// which returns once they have.
func repeat(n int, f func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f()
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// waitSecret waits until cfg holds want under key.
func waitSecret(t testing.TB, cfg *Config, key string, want []byte) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cfg.Secret(key).Equal(want); {
		if time.Now().After(deadline) {
			t.Fatalf("%s was not reloaded within 20 s (status %+v)", key, cfg.Status())
		}
		time.Sleep(time.Millisecond)
	}
}

// fixedMarker is a marker of exactly n bytes, so that rotations keep a
// file's size.
func fixedMarker(t testing.TB, n int) []byte {
	m := marker(t)
	for len(m) < n {
		m += marker(t)
	}
	return []byte(m[:n])
}

// yamlSecret is a YAML file whose db.password is pw, padded so that
// every rotation has the same size.
func yamlSecret(pw []byte) []byte {
	return append(append([]byte("db:\n  host: h\n  password: "), pw...), '\n')
}

// withinGrace runs try with a grace period of grace, and again with twice
// the grace period each time try reports that the period ran out before
// it could look (false): what holds "within the grace period" can only be
// checked while it lasts, and a loaded machine or a stalled virtual CPU
// can spend longer than a short grace period between a reload and the
// next statement. A run that looked in time and saw something wrong
// fails the test in try.
func withinGrace(t *testing.T, grace time.Duration, try func(grace time.Duration) bool) {
	t.Helper()
	for ; grace <= 10*time.Second; grace *= 2 {
		if try(grace) {
			return
		}
		t.Logf("the grace period of %v ran out before the test could look: again with %v", grace, 2*grace)
	}
	t.Fatal("even a 10 s grace period ran out before the test could look")
}
