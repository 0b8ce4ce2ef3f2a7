package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/secretmem/secretmem/secret"
)

// dirSource is SecretDir and SystemdCredentials.
type dirSource struct {
	dir     string
	fromEnv string
}

// read lists the directory: every file is a file reference, secret
// whatever its name, read once the layers are merged.
func (d *dirSource) read(s *settings, _ map[string]secret.Value) (*layer, error) {
	dir := d.dir
	if d.fromEnv != "" {
		if dir = os.Getenv(d.fromEnv); dir == "" {
			return newLayer(s, d.fromEnv), nil
		}
	}
	l := newLayer(s, dir)
	if err := l.readDir(dir, "", 0); err != nil {
		return nil, err
	}
	return l, nil
}

const maxDirDepth = 8

func (l *layer) readDir(dir, prefix string, depth int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: secret directory %s: %w", ErrSecretFile, dir, unwrapPath(err))
	}
	l.watch = append(l.watch, dir)
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
		if err := l.readDir(p, key+".", depth+1); err != nil {
			return err
		}
	}
	return nil
}
