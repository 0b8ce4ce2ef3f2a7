package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
)

// A Kubernetes secret volume holds each generation of its files in a
// timestamped directory and points ..data at the current one; the names
// users see are links through ..data (key -> ..data/key). The kubelet
// swaps ..data with one rename, so a reader that follows each name on its
// own can read one file from a generation and the next from the one after
// it. A load instead resolves ..data once per directory, the first time
// it meets it, and reads every file through the generation it found: all
// of one generation, or, if the kubelet deletes that generation under it,
// an error, and the reload is tried again.

// follow maps a path that is a link into its directory's ..data
// (key -> ..data/key) to the same name inside the generation ..data
// pointed at when this load first looked. Any other path is returned as
// it is.
func (t *txn) follow(path string) string {
	link, err := os.Readlink(path)
	if err != nil {
		return path // not a link
	}
	rest, ok := strings.CutPrefix(filepath.ToSlash(link), "..data/")
	if !ok {
		return path
	}
	gen := t.generation(filepath.Dir(path))
	if gen == "" {
		return path
	}
	return filepath.Join(gen, filepath.FromSlash(rest))
}

// generation returns the directory dir's ..data link points at, or ""
// when dir has none, reading the link once per load. A directory with a
// link becomes a dependency: a swap of the link is a change.
func (t *txn) generation(dir string) string {
	if gen, ok := t.links[dir]; ok {
		return gen
	}
	target, err := os.Readlink(filepath.Join(dir, "..data"))
	gen := ""
	if err == nil {
		gen = target
		if !filepath.IsAbs(gen) {
			gen = filepath.Join(dir, gen)
		}
		link := linkDep{dir: dir}
		t.versions = append(t.versions, version{link, link.stampOf(t.stamps, target, nil)})
	}
	t.links[dir] = gen
	return gen
}

// linkDep is a directory's ..data link: where it points.
type linkDep struct{ dir string }

func (l linkDep) String() string { return filepath.Join(l.dir, "..data") }

func (l linkDep) probe(ctx context.Context, st *stamper) stamp {
	if err := ctx.Err(); err != nil {
		return st.failed(err)
	}
	target, err := os.Readlink(filepath.Join(l.dir, "..data"))
	return l.stampOf(st, target, err)
}

func (l linkDep) stampOf(st *stamper, target string, err error) stamp {
	if err != nil {
		return st.failed(err)
	}
	return st.of([]byte("link\x00"), []byte(target))
}
