package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/secretmem/secretmem/internal/fileperm"
	"github.com/secretmem/secretmem/secret"
)

// readSecretFile reads the secret file at path into a cell for key, with
// one open and one fstat: the open does not wait (a named pipe nobody
// writes to opens at once), the fstat refuses anything but a regular file
// before a byte is read, and the size it reports is checked against
// MaxSecretSize and is exactly what is read. Whether every user may read
// the file is asked of the open file (internal/fileperm: the mode bits on
// Unix, the DACL on Windows). Symbolic links are followed,
// as Kubernetes' ..data layout needs.
func (s *settings) readSecretFile(key, path string) (secret.Value, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return secret.Value{}, fileError(key, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return secret.Value{}, fileError(key, path, err)
	}
	if !fi.Mode().IsRegular() {
		return secret.Value{}, fmt.Errorf("%w (key %s): %w", ErrSecretFile, key, &secret.NotRegularError{Path: path, Mode: fi.Mode()})
	}
	size := fi.Size()
	if size > s.maxSecret {
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) holds %d bytes, more than the limit of %d (see MaxSecretSize)",
			ErrSecretFile, path, key, size, s.maxSecret)
	}
	if world, _ := fileperm.WorldReadable(f); world {
		if s.strict {
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) is readable by every user; chmod o-r it", ErrSecretFile, path, key)
		}
		s.warn("config: secret file is readable by every user; chmod o-r it (Strict makes this an error)",
			"path", path, "key", key)
	}
	opts := s.cellOptions(key, true)
	if size == 0 {
		// A file that reports no size (procfs), or an empty one.
		c, err := secret.ReadAll(io.LimitReader(f, s.maxSecret+1), opts...)
		if err != nil {
			return secret.Value{}, s.readError(key, path, err)
		}
		if int64(c.Len()) > s.maxSecret {
			c.Destroy()
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) is larger than the limit of %d (see MaxSecretSize)",
				ErrSecretFile, path, key, s.maxSecret)
		}
		return c, nil
	}
	c, err := secret.Read(f, int(size), opts...)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) shrank while it was read; read it again", ErrSecretFile, path, key)
		}
		return secret.Value{}, s.readError(key, path, err)
	}
	var one [1]byte
	n, _ := f.Read(one[:])
	one[0] = 0
	if n > 0 {
		c.Destroy()
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) grew while it was read; read it again", ErrSecretFile, path, key)
	}
	return c, nil
}

// fileError reports a secret file that cannot be opened or examined.
func fileError(key, path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %s (key %s) cannot be read by this process: %w", ErrSecretFile, path, key, fs.ErrPermission)
	}
	return fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, path, key, unwrapPath(err))
}

// readError reports a secret file that could not be read into a cell.
func (s *settings) readError(key, path string, err error) error {
	if errors.Is(err, secret.ErrMemoryLock) {
		return s.cellError(key, err)
	}
	return fmt.Errorf("%w: %s (key %s): %w", ErrSecretFile, path, key, err)
}

// unwrapPath drops the *PathError layer, whose message repeats the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
