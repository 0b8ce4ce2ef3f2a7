package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// dirSource is SecretDir and SystemdCredentials.
type dirSource struct {
	dir     string
	fromEnv string
}

func (d *dirSource) name() string {
	if d.fromEnv != "" {
		return "$" + d.fromEnv
	}
	return d.dir
}

// read lists the directory: every file is a file reference, secret
// whatever its name, read once the layers are merged. A link through a
// Kubernetes ..data link is resolved to the generation the load found
// (see kube.go), so every file comes from one generation.
func (d *dirSource) read(t *txn) (*layer, error) {
	dir := d.dir
	if d.fromEnv != "" {
		if dir = os.Getenv(d.fromEnv); dir == "" {
			return newLayer(t.s, d.fromEnv), nil
		}
	}
	l := newLayer(t.s, dir)
	if err := l.readDir(t, dir, "", 0); err != nil {
		return nil, err
	}
	return l, nil
}

const maxDirDepth = 8

func (l *layer) readDir(t *txn, dir, prefix string, depth int) error {
	if err := t.at(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: secret directory %s: %w", ErrSecretFile, dir, unwrapPath(err))
	}
	listing := dirDep{path: dir}
	l.depend(listing, listing.stampOf(t.stamps, entries))
	for _, e := range entries {
		name := e.Name()
		// Hidden entries: Kubernetes' ..data and timestamped directories,
		// editor leftovers.
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		key := prefix + name
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			p = t.follow(p)
			// Only a link needs a stat here: it may lead to a directory.
			fi, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, p, key, unwrapPath(err))
			}
			isDir = fi.IsDir()
		}
		if !isDir {
			l.ref(flatLoc(key), fileRef, p, 0)
			continue
		}
		if depth >= maxDirDepth {
			return fmt.Errorf("%w: %s is nested more than %d levels deep", ErrSecretFile, p, maxDirDepth)
		}
		if err := l.readDir(t, p, key+".", depth+1); err != nil {
			return err
		}
	}
	return nil
}
