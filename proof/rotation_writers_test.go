//go:build linux

package proof

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/secretmem/secretmem/proof/internal/rotvalue"
)

// The writers of the rotation soak.

// rotator writes the soak's secrets: a Kubernetes volume of volumeKeys
// keys and api.key, swapped as the kubelet does; four files of a plain
// directory, each rewritten by one kind of writer; and a JSON file
// rewritten by truncating it and writing it in two pieces.
type rotator struct {
	t          *testing.T
	dir        string
	run, apiRn string // markers in every value, and in api.key's
	gen        int    // the volume's generation
	ts         string
	rotations  sync.Map // kind -> *atomic.Int64
}

const volumeKeys = 256

func (r *rotator) count(kind string) {
	c, _ := r.rotations.LoadOrStore(kind, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

func (r *rotator) vol() string { return filepath.Join(r.dir, "vol") }

// swapVolume writes the next generation of the volume and swaps ..data.
func (r *rotator) swapVolume() {
	r.gen++
	ts := fmt.Sprintf("..gen_%06d", r.gen)
	gdir := filepath.Join(r.vol(), ts)
	if err := os.MkdirAll(gdir, 0o700); err != nil {
		r.t.Error(err)
		return
	}
	write := func(key string, v []byte) {
		if err := os.WriteFile(filepath.Join(gdir, key), v, 0o400); err != nil {
			r.t.Error(err)
		}
	}
	write("api.key", rotvalue.Value("api.key", r.gen, r.apiRn))
	for i := range volumeKeys {
		key := fmt.Sprintf("vol.k%03d", i)
		write(key, rotvalue.Value(key, r.gen, r.run))
	}
	tmp := filepath.Join(r.vol(), "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		r.t.Error(err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(r.vol(), "..data")); err != nil {
		r.t.Error(err)
	}
	if r.ts != "" {
		_ = os.RemoveAll(filepath.Join(r.vol(), r.ts))
	}
	r.ts = ts
	r.count("Kubernetes ..data swap")
}

// The writers of single files, each with its own way of writing. The
// non-atomic ones report how long the file was not what they meant to
// write (notePause).
var fileWriters = map[string]func(path string, b []byte) error{
	"rename": func(path string, b []byte) error {
		tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	},
	"truncate, two pieces 2 ms apart": func(path string, b []byte) error {
		t0 := time.Now()
		defer func() { notePause(time.Since(t0)) }()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		f.Write(b[:len(b)/2])
		time.Sleep(2 * time.Millisecond)
		_, err = f.Write(b[len(b)/2:])
		return err
	},
	"same size in place, two pieces 2 ms apart": func(path string, b []byte) error {
		t0 := time.Now()
		defer func() { notePause(time.Since(t0)) }()
		f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		f.WriteAt(b[:len(b)/2], 0)
		time.Sleep(2 * time.Millisecond)
		_, err = f.WriteAt(b[len(b)/2:], int64(len(b)/2))
		return err
	},
	"same size and mtime (cp -p)": func(path string, b []byte) error {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		t0 := time.Now()
		err = os.WriteFile(path, b, 0o600)
		notePause(time.Since(t0))
		if err != nil {
			return err
		}
		return os.Chtimes(path, fi.ModTime(), fi.ModTime())
	},
}

// settleTime is config.DefaultSettleTime, which the rotation server
// uses: a writer that leaves a file half written for longer is beyond
// what any reader can tell from a finished one.
const settleTime = 250 * time.Millisecond

// The writers' longest time with a file half written, and how many were
// as long as settleTime.
var (
	pauseMu          sync.Mutex
	longestPause     time.Duration
	pausesOverSettle int
)

func notePause(d time.Duration) {
	pauseMu.Lock()
	defer pauseMu.Unlock()
	longestPause = max(longestPause, d)
	if d >= settleTime {
		pausesOverSettle++
	}
}

// urgent raises the calling goroutine's thread above the load (best
// effort: it needs root or CAP_SYS_NICE), so that a writer is not
// descheduled for longer than settleTime in the middle of a write on a
// machine wrk keeps busy. It returns the function that undoes it.
func urgent() func() {
	runtime.LockOSThread()
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), -10)
	return func() {
		_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 0)
		runtime.UnlockOSThread()
	}
}

// fileKey is the key of a writer's file in the plain directory.
func fileKey(i int) string { return fmt.Sprintf("w.f%d", i) }

func jsonFile(gen int, run string) []byte {
	return fmt.Appendf(nil, "{\"j\": {\"token\": %q}}\n", rotvalue.Value("j.token", gen, run))
}

// memoryDir is a directory in /dev/shm when there is one: Kubernetes
// secret volumes are tmpfs, and a disk's journal can stall a writer in
// the middle of a write for longer than any settle window.
func memoryDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "rotation-soak")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func volumeKeysList() []string {
	keys := make([]string, volumeKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("vol.k%03d", i)
	}
	return keys
}

func lastError(s string) string {
	if s == "" {
		return ""
	}
	return " (last: " + s + ")"
}
