package vault

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff spaces retries: the n-th wait is Min doubled n times, capped at
// Max, of which a random part (Jitter, a fraction) is drawn anew each
// time, so that many clients that lost Vault at once do not come back in
// step. The zero value is 250 ms doubling to 30 s with half of it random.
type Backoff struct {
	Min, Max time.Duration
	Jitter   float64 // 0..1; zero means 0.5
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 250 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	if b.Jitter <= 0 || b.Jitter > 1 {
		b.Jitter = 0.5
	}
	return b
}

// Delay returns the wait before retry number attempt (0 for the first).
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	random := time.Duration(float64(d) * b.Jitter)
	return d - random + time.Duration(rand.Int64N(int64(random)+1))
}

// Retry calls fn until it succeeds, fails with an error that is not
// Temporary, or ctx ends; attempts bounds the calls (0: no bound). It
// returns fn's last error, which names what failed, also when ctx ended
// the waiting. This is
// the loop a watcher runs while Vault is away: the cells it holds keep
// serving meanwhile.
func Retry(ctx context.Context, b Backoff, attempts int, fn func(context.Context) error) error {
	for n := 0; ; n++ {
		err := fn(ctx)
		if err == nil || !Temporary(err) || (attempts > 0 && n+1 >= attempts) {
			return err
		}
		if !sleep(ctx, b.Delay(n)) {
			return err
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
