package config

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// A dependency is something a loaded configuration was read from, which
// Watch polls to tell whether a reload would read anything new: a file, a
// directory's listing, a Kubernetes ..data link. A source lists what it
// read in its layer (layer.depend), each with the stamp of the version it
// read, and the watcher compares fresh probes with those stamps.
//
// A source that is not a file (a Vault path, a lease) is watched by
// implementing this interface:
//
//   - String names it in logs and errors (a path, "vault kv secret/app"),
//     never with a value;
//   - probe returns the stamp of its current version, honouring ctx: two
//     probes return the same stamp exactly when a reload would read the
//     same thing. It should be cheap (a KV path's metadata version rather
//     than its secrets), and it reports a failure as a stamp of its own
//     (stamper.failed), which counts as a change: the reload that follows
//     says what is wrong, and is retried with backoff.
//
// A source whose versions expire (a lease) also sets layer.reloadBy.
type dependency interface {
	String() string
	probe(ctx context.Context, st *stamper) stamp
}

// A stamp tells one version of a dependency from another: a keyed hash
// (HMAC-SHA256, truncated) of its content, never the content. The key
// lives in protected memory, so a stamp of a secret file is no help in
// guessing the secret: without the key it cannot be recomputed.
type stamp [16]byte

// version is a dependency with the stamp of what a load read.
type version struct {
	dep   dependency
	stamp stamp
}

// whole reports whether what was read of v cannot have been caught half
// written, so that a later change is a newer version, not the rest of
// the one read: true for a directory listing, a ..data link, a file of a
// Kubernetes generation (the kubelet never writes into a generation once
// ..data names it) and a source that is not a file (a network answer is
// read whole); false for any other file, which a writer may be writing
// still.
func (v version) whole() bool {
	f, ok := v.dep.(fileDep)
	return !ok || f.generation
}

// stamper computes stamps under a key of its own, made for each Config
// (or Provider) and destroyed with it. The key sits in a Box as the HMAC
// midstates keyed.Key holds; the digest is wiped by keyed after each use.
type stamper struct {
	key secret.Box[keyed.Key]
	mu  sync.Mutex // guards d and buf
	d   *keyed.Digest
	buf [keyed.MaxSize]byte
}

func newStamper() (*stamper, error) {
	d, err := keyed.NewDigest(keyed.SHA256)
	if err != nil {
		return nil, fmt.Errorf("config: the watch key: %w", err)
	}
	// Unlocked memory is accepted: the key only tells versions apart, and
	// a load must not fail for want of one locked slot.
	opts := []secret.Option{secret.AllowUnlocked(), secret.Label("config watch key")}
	raw, err := secret.Random(32, opts...)
	if err != nil {
		return nil, fmt.Errorf("config: the watch key: %w", err)
	}
	defer raw.Destroy()
	box, err := secret.NewBox(keyed.Key{}, opts...)
	if err != nil {
		return nil, fmt.Errorf("config: the watch key: %w", err)
	}
	err = box.Update(func(k *keyed.Key) error {
		return raw.Use(func(b []byte) error {
			k.Set(d, b)
			return nil
		})
	})
	if err != nil {
		box.Destroy()
		return nil, fmt.Errorf("config: the watch key: %w", err)
	}
	return &stamper{key: box, d: d}, nil
}

// of returns the stamp of the concatenated parts.
func (s *stamper) of(parts ...[]byte) stamp {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out stamp
	err := s.key.Use(func(k *keyed.Key) error {
		tag, err := k.Sum(s.d, s.buf[:0], parts...)
		copy(out[:], tag)
		return err
	})
	if err != nil {
		// The key is gone (the Config was closed): a stamp that matches
		// nothing, so nothing is taken for unchanged.
		_, _ = rand.Read(out[:])
	}
	return out
}

// ofCell returns the stamp of a cell's content.
func (s *stamper) ofCell(c secret.Value) stamp {
	var out stamp
	if c.Use(func(b []byte) error {
		out = s.of([]byte("file\x00"), b)
		return nil
	}) != nil {
		return s.failed(c.Err())
	}
	return out
}

// failed is the stamp of a probe that failed with err: it differs from
// every stamp of content, and repeats while the failure does.
func (s *stamper) failed(err error) stamp {
	return s.of([]byte("failed\x00"), []byte(err.Error()))
}

func (s *stamper) destroy() { s.key.Destroy() }

// fileDep is a file read whole: a configuration file, or a secret file
// (trim: its cell drops one trailing newline, and so does its stamp, so
// that a stamp is the stamp of what the cell holds). generation: it was
// read through a Kubernetes ..data link.
type fileDep struct {
	path       string
	trim       bool
	generation bool
}

func (f fileDep) String() string { return f.path }

// probe reads the file the way a load reads it: straight into protected
// memory, refusing anything but a regular file, so that a probe never
// blocks on a named pipe and never puts a secret on the heap.
func (f fileDep) probe(ctx context.Context, st *stamper) stamp {
	if err := ctx.Err(); err != nil {
		return st.failed(err)
	}
	opts := []secret.Option{secret.AllowUnlocked()}
	if f.trim {
		opts = append(opts, secret.TrimNewline())
	}
	c, err := readFileCell(f.path, opts...)
	if err != nil {
		return st.failed(err)
	}
	defer c.Destroy()
	return st.ofCell(c)
}

// dirDep is a directory's listing: the names in it, which of them are
// directories, and where its Kubernetes ..data link points.
type dirDep struct{ path string }

func (d dirDep) String() string { return d.path }

func (d dirDep) probe(ctx context.Context, st *stamper) stamp {
	if err := ctx.Err(); err != nil {
		return st.failed(err)
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return st.failed(err)
	}
	return d.stampOf(st, entries)
}

// stampOf is the stamp of a listing, for a load and a probe alike.
func (d dirDep) stampOf(st *stamper, entries []os.DirEntry) stamp {
	var b strings.Builder
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			// Hidden entries are not read (see readDir): a writer's
			// temporary file, the kubelet's timestamped directories and
			// ..data_tmp; the ..data link below says which one counts.
			continue
		}
		b.WriteString(name)
		if e.IsDir() {
			b.WriteByte('/')
		}
		b.WriteByte(0)
	}
	target, _ := os.Readlink(filepath.Join(d.path, "..data"))
	b.WriteString("..data->")
	b.WriteString(target)
	return st.of([]byte("dir\x00"), []byte(b.String()))
}

// versionsEqual reports whether fresh stamps are those of vs.
func versionsEqual(vs []version, fresh []stamp) bool {
	if len(vs) != len(fresh) {
		return false
	}
	for i := range vs {
		if vs[i].stamp != fresh[i] {
			return false
		}
	}
	return true
}

// probeAll probes every dependency of vs, in order.
func probeAll(ctx context.Context, st *stamper, vs []version) []stamp {
	out := make([]stamp, len(vs))
	for i, v := range vs {
		out[i] = v.dep.probe(ctx, st)
	}
	return out
}

// partOf returns the versions of vs that may have been read half written
// (not whole).
func partOf(vs []version) []version {
	var out []version
	for _, v := range vs {
		if !v.whole() {
			out = append(out, v)
		}
	}
	return out
}

// changedDeps names the dependencies whose fresh stamps differ, for logs.
func changedDeps(vs []version, fresh []stamp) []string {
	var names []string
	for i := range vs {
		if i < len(fresh) && vs[i].stamp != fresh[i] {
			names = append(names, vs[i].dep.String())
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
