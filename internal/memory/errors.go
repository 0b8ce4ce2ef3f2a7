//go:build (unix || windows) && !secretmem_heap

package memory

import "os"

// lockError wraps the system's refusal to lock memory so that callers can
// test it with errors.Is(err, ErrLockLimit) and still see the errno.
func lockError(call string, err error) error {
	return &lockErr{cause: &os.SyscallError{Syscall: call, Err: err}}
}

type lockErr struct{ cause error }

func (e *lockErr) Error() string { return ErrLockLimit.Error() + ": " + e.cause.Error() }

func (e *lockErr) Is(target error) bool { return target == ErrLockLimit }

func (e *lockErr) Unwrap() error { return e.cause }
