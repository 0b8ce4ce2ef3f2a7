package vault

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterUpToMax(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5}
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for range 200 {
			d := b.Delay(attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v, want within [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[b.Delay(3)] = true
	}
	if len(seen) < 10 {
		t.Errorf("%d distinct delays in 50: no jitter", len(seen))
	}
	if d := (Backoff{}).Delay(100); d > 30*time.Second || d < 15*time.Second {
		t.Errorf("the zero Backoff's cap: %v", d)
	}
}

func TestRetryRetriesOnlyTemporaryErrors(t *testing.T) {
	fast := Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}
	temp := &Error{Op: "read", Err: ErrUnreachable}
	perm := &Error{Op: "read", Status: 403, Err: ErrForbidden}
	ctx := context.Background()

	calls := 0
	err := Retry(ctx, fast, 0, func(context.Context) error {
		if calls++; calls < 4 {
			return temp
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Errorf("temporary errors then success: %v after %d calls", err, calls)
	}
	calls = 0
	err = Retry(ctx, fast, 0, func(context.Context) error { calls++; return perm })
	if !errors.Is(err, ErrForbidden) || calls != 1 {
		t.Errorf("a 403 is not retried: %v after %d calls", err, calls)
	}
	calls = 0
	err = Retry(ctx, fast, 3, func(context.Context) error { calls++; return temp })
	if !errors.Is(err, ErrUnreachable) || calls != 3 {
		t.Errorf("attempts bound the calls: %v after %d calls", err, calls)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err = Retry(cctx, Backoff{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond}, 0, func(context.Context) error { return temp })
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("a cancelled context returns the last error, which names what failed: %v", err)
	}
}

func TestTemporary(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&Error{Err: ErrUnreachable}, true},
		{&Error{Status: 429, Err: ErrRateLimited}, true},
		{&Error{Status: 503, Err: ErrServer}, true},
		{&Error{Status: 501, Err: ErrServer}, false},
		{&Error{Status: 412, Err: ErrStatus}, true},
		{&Error{Status: 403, Err: ErrForbidden}, false},
		{&Error{Status: 404, Err: ErrNotFound}, false},
		{&Error{Err: ErrMalformed}, false},
		{errors.New("other"), false},
	} {
		if got := Temporary(c.err); got != c.want {
			t.Errorf("Temporary(%v) = %v", c.err, got)
		}
	}
}
