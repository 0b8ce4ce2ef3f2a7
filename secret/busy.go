package secret

import (
	"errors"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrBusy: a call that changes a Box or a Vec came while the cell was
// open in a way it conflicts with, and the call could not wait for it.
// That happens when Update (or Push, Append, Truncate, Freeze) is called
// from inside a Use of the same cell, when Update is called inside an
// Update of the same box, and when a call made inside any Box callback
// would otherwise have to wait for another goroutine: calls made inside a
// callback never wait, so no sequence of calls deadlocks. Make the call
// after the callback returns.
var ErrBusy = errors.New("secret: cell is open in a callback that this call conflicts with (make the call after the callback returns)")

// boxLock is the readers-writer lock of a Box. Use takes it shared and
// Update exclusively, as sync.RWMutex would, with two differences that
// make deadlock impossible for callers of this package:
//
//   - a goroutine inside a Box callback never waits for the lock: where
//     it would, it gets ErrBusy. A callback that calls Update on its own
//     box would otherwise wait for itself, and two callbacks of different
//     boxes could wait for each other;
//   - a reader inside a callback does not queue behind a waiting writer
//     (sync.RWMutex's RLock does, so a nested Use deadlocks once a writer
//     waits). Readers outside callbacks do, so writers are not starved.
//
// Whether the goroutine is inside a callback is read from its stack, and
// only when the lock is contended: the uncontended paths cost one atomic
// compare-and-swap, as sync.RWMutex's do.
type boxLock struct {
	// state holds the readers inside (low 32 bits), whether a writer is
	// inside (bit 32) and the writers waiting (from bit 33).
	state    atomic.Uint64
	sleepers atomic.Int32 // goroutines waiting in wait
	mu       sync.Mutex
	wakeup   chan struct{} // closed by wake; guarded by mu
}

const (
	writerIn   = 1 << 32
	writerWait = 1 << 33
	readerMask = writerIn - 1
)

func (l *boxLock) rlock() error {
	if s := l.state.Load(); s>>32 == 0 && l.state.CompareAndSwap(s, s+1) {
		return nil
	}
	return l.rlockSlow()
}

func (l *boxLock) rlockSlow() error {
	nested := insideCallback()
	for {
		s := l.state.Load()
		switch {
		case s&writerIn == 0 && (nested || s>>33 == 0):
			if l.state.CompareAndSwap(s, s+1) {
				return nil
			}
		case nested:
			return ErrBusy
		default:
			l.wait(func(s uint64) bool { return s>>32 == 0 })
		}
	}
}

func (l *boxLock) runlock() {
	l.state.Add(^uint64(0))
	l.wake()
}

func (l *boxLock) lock() error {
	if l.state.CompareAndSwap(0, writerIn) {
		return nil
	}
	if insideCallback() {
		for {
			s := l.state.Load()
			if s&(readerMask|writerIn) != 0 {
				return ErrBusy
			}
			if l.state.CompareAndSwap(s, s|writerIn) {
				return nil
			}
		}
	}
	l.state.Add(writerWait)
	for {
		s := l.state.Load()
		if s&(readerMask|writerIn) == 0 {
			if l.state.CompareAndSwap(s, s-writerWait+writerIn) {
				return nil
			}
			continue
		}
		l.wait(func(s uint64) bool { return s&(readerMask|writerIn) == 0 })
	}
}

func (l *boxLock) unlock() {
	l.state.Add(^uint64(writerIn - 1))
	l.wake()
}

// wait sleeps until ready(state) holds. A waker changes state before it
// looks at sleepers, and a sleeper counts itself before it looks at
// state (under mu, which the waker takes to wake it), so one of the two
// always sees the other.
func (l *boxLock) wait(ready func(uint64) bool) {
	l.mu.Lock()
	l.sleepers.Add(1)
	for !ready(l.state.Load()) {
		if l.wakeup == nil {
			l.wakeup = make(chan struct{})
		}
		ch := l.wakeup
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
	l.sleepers.Add(-1)
	l.mu.Unlock()
}

func (l *boxLock) wake() {
	if l.sleepers.Load() > 0 {
		l.mu.Lock()
		if l.wakeup != nil {
			close(l.wakeup)
			l.wakeup = nil
		}
		l.mu.Unlock()
	}
}

// callbackEntries are the entry addresses of the functions every Box
// callback runs under.
var callbackEntries [2]uintptr

func init() {
	callbackEntries = [2]uintptr{
		reflect.ValueOf((*boxHandle).read).Pointer(),
		reflect.ValueOf((*boxHandle).write).Pointer(),
	}
}

// insideCallback reports whether the calling goroutine is inside a Use or
// Update callback of some Box: whether boxHandle.read or boxHandle.write
// is on its stack below the one taking the lock now (the lock is only
// taken inside them). It walks the stack, so it is for contended paths
// only.
func insideCallback() bool {
	entries := callbackEntries
	var pcs [32]uintptr
	seen := 0
	for skip := 2; ; {
		n := runtime.Callers(skip, pcs[:])
		for _, pc := range pcs[:n] {
			f := runtime.FuncForPC(pc - 1)
			if f == nil {
				continue
			}
			if e := f.Entry(); e == entries[0] || e == entries[1] {
				if seen++; seen == 2 {
					return true
				}
			}
		}
		if n < len(pcs) {
			return false
		}
		skip += n
	}
}
