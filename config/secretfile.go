package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/secretmem/secretmem/internal/fileperm"
	"github.com/secretmem/secretmem/secret"
)

// Every file config reads (configuration files, secret files, and the
// probes of Watch) is opened by openRegular and read by readCell.

// openRegular opens path for reading with one open and one fstat: the
// open does not wait (a named pipe nobody writes to opens at once), and
// on Windows it lets a writer rename over the file or delete it
// meanwhile, as Unix does, so that polling the file never makes an atomic
// writer fail; the fstat refuses anything but a regular file before a
// byte is read. Symbolic links are followed, as Kubernetes' ..data layout
// needs.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := openNoBlock(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &secret.NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return f, fi, nil
}

// Errors of readCell: the file changed size while it was read.
var (
	errShrank = errors.New("shrank while it was read; read it again")
	errGrew   = errors.New("grew while it was read; read it again")
	errLarger = errors.New("is larger than the limit")
)

// readCell reads the open regular file f, which reported size bytes,
// into a new cell: exactly size bytes, straight from read(2) into the
// cell, and a file that shrank or grew meanwhile is an error. A file that
// reports no size (procfs) is read up to limit bytes.
func readCell(f *os.File, size, limit int64, opts []secret.Option) (secret.Value, error) {
	if size == 0 {
		c, err := secret.ReadAll(io.LimitReader(f, limit+1), opts...)
		if err != nil {
			return secret.Value{}, err
		}
		if int64(c.Len()) > limit {
			c.Destroy()
			return secret.Value{}, errLarger
		}
		return c, nil
	}
	c, err := secret.Read(f, int(size), opts...)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return secret.Value{}, errShrank
		}
		return secret.Value{}, err
	}
	var one [1]byte
	n, _ := f.Read(one[:])
	one[0] = 0
	if n > 0 {
		c.Destroy()
		return secret.Value{}, errGrew
	}
	return c, nil
}

// readSecretFile reads the secret file at path into a cell for key
// (openRegular, readCell). The size the fstat reports is checked against
// MaxSecretSize and is exactly what is read. Whether every user may read
// the file is asked of the open file (internal/fileperm: the mode bits on
// Unix, the DACL on Windows).
func (s *settings) readSecretFile(key, path string) (secret.Value, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		var nr *secret.NotRegularError
		if errors.As(err, &nr) {
			return secret.Value{}, fmt.Errorf("%w (key %s): %w", ErrSecretFile, key, err)
		}
		return secret.Value{}, fileError(key, path, err)
	}
	defer f.Close()
	size := fi.Size()
	if size > s.maxSecret {
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) holds %d bytes, more than the limit of %d (see MaxSecretSize)",
			ErrSecretFile, path, key, size, s.maxSecret)
	}
	if world, _ := fileperm.WorldReadable(f); world {
		if s.strict {
			return secret.Value{}, fmt.Errorf("%w: %s (key %s) is readable by every user; %s", ErrSecretFile, path, key, fileperm.Fix)
		}
		s.warn("config: secret file is readable by every user (Strict makes this an error)",
			"path", path, "key", key, "fix", fileperm.Fix)
	}
	c, err := readCell(f, size, s.maxSecret, s.cellOptions(key, true))
	switch {
	case errors.Is(err, errLarger):
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) is larger than the limit of %d (see MaxSecretSize)",
			ErrSecretFile, path, key, s.maxSecret)
	case errors.Is(err, errShrank), errors.Is(err, errGrew):
		return secret.Value{}, fmt.Errorf("%w: %s (key %s) %w", ErrSecretFile, path, key, err)
	case err != nil:
		return secret.Value{}, s.readError(key, path, err)
	}
	return c, nil
}

// readFileCell reads a whole file (a configuration file, or a file a
// probe looks at) into a cell, as readSecretFile does but with no key:
// up to secret.MaxSize, without the permission check.
func readFileCell(path string, opts ...secret.Option) (secret.Value, error) {
	f, fi, err := openRegular(path)
	if err != nil {
		return secret.Value{}, err
	}
	defer f.Close()
	if fi.Size() > secret.MaxSize {
		return secret.Value{}, fmt.Errorf("%w: %s holds %d bytes (the limit is %d)", secret.ErrSize, path, fi.Size(), secret.MaxSize)
	}
	c, err := readCell(f, fi.Size(), secret.MaxSize, opts)
	if err != nil && (errors.Is(err, errShrank) || errors.Is(err, errGrew) || errors.Is(err, errLarger)) {
		return secret.Value{}, fmt.Errorf("%s %w", path, err)
	}
	return c, err
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
