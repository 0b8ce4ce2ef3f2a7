package config

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// maxUnsettled is how many times in a row a reload starts again because
// what it read changed under it before it reports ErrUnsettled.
const maxUnsettled = 10

// An attempt is one reload running on a goroutine of its own, so that
// whoever waits for it can give up: a read of a hung network file system,
// or a koanf provider that blocks, cannot be interrupted. An abandoned
// attempt installs nothing; when its read returns it destroys what it
// made and gives the turn back.
type attempt struct {
	began     time.Time
	txn       atomic.Pointer[txn] // its load now
	done      chan struct{}
	err       error
	changed   []string
	finished  bool // guarded by owner.mu, as is abandoned
	abandoned bool
}

// reading says what the attempt's load reads now.
func (a *attempt) reading() string {
	if t := a.txn.Load(); t != nil {
		return t.what()
	}
	return "nothing yet"
}

// abandonedError says that a reload stuck in a read was given up.
func (a *attempt) abandonedError(what string) error {
	return fmt.Errorf("%w: %s while a reload begun at %s was still reading %s; it installs nothing, and what it read is destroyed when the read returns",
		ErrReloadTimeout, what, a.began.Format(time.RFC3339), a.reading())
}

// reload runs one reload to its end, or until ctx is done or the reload
// timeout passes: then it abandons the attempt and reports
// ErrReloadTimeout. before is what a probe of the dependencies of the
// state probed just found (nil: probe first); it is used only while
// probed is still the current state. It records the outcome in
// the status and returns the keys that changed.
func (o *owner) reload(ctx context.Context, probed *state, before []stamp) ([]string, error) {
	if o.shut.Load() {
		return nil, ErrClosed
	}
	o.mu.Lock()
	stuck := o.stuck
	o.mu.Unlock()
	if stuck != nil {
		return nil, o.failed(stuck.abandonedError("not reloading"))
	}
	// Close ends the attempt as surely as the caller can.
	ctx, cancel := context.WithTimeout(ctx, o.s.reloadTimeout)
	defer cancel()
	defer context.AfterFunc(o.life, cancel)()
	select {
	case o.turn <- struct{}{}:
	case <-ctx.Done():
		if o.life.Err() != nil {
			return nil, ErrClosed
		}
		return nil, ctx.Err()
	}
	a := &attempt{began: time.Now(), done: make(chan struct{})}
	go func() {
		changed, err := o.run(ctx, a, probed, before)
		o.mu.Lock()
		a.finished, a.changed, a.err = true, changed, err
		if o.stuck == a {
			o.stuck = nil
		}
		closed := o.closed
		o.mu.Unlock()
		close(a.done)
		if closed {
			// Close may have given up waiting for this attempt; the
			// stamper is not used any more either way.
			o.stamps.destroy()
		}
		<-o.turn
	}()
	select {
	case <-a.done:
	case <-ctx.Done():
	}
	o.mu.Lock()
	if !a.finished {
		a.abandoned = true
		o.stuck = a
	}
	o.mu.Unlock()
	if a.abandoned {
		if o.life.Err() != nil {
			return nil, ErrClosed
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, o.failed(fmt.Errorf("%w: the reload did not finish within %s; it is still reading %s",
				ErrReloadTimeout, o.s.reloadTimeout, a.reading()))
		}
		return nil, ctx.Err()
	}
	switch {
	case a.err == nil:
		return a.changed, nil
	case o.life.Err() != nil:
		return nil, ErrClosed
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, ctx.Err() // the caller gave up: not a failure of the sources
	}
	return nil, o.failed(a.err)
}

// run is the attempt: load, and install what was read only if every
// file that could have been caught half written is known to have held
// that content for SettleTime or longer: it was seen holding it that long
// before the load (observe), or it still holds it SettleTime after. A
// directory listing, a ..data link or a Kubernetes generation that
// changed meanwhile only means a newer version is there: what was read is
// whole, and the next poll reloads again. A load that failed while its
// dependencies changed, or a file that moved before it settled, is tried
// again, up to maxUnsettled times.
func (o *owner) run(ctx context.Context, a *attempt, probed *state, before []stamp) ([]string, error) {
	for try := 1; ; try++ {
		prev := o.state()
		if prev != probed {
			// Another reload (a user's Reload) installed a state since the
			// probe: its stamps are not those of prev's versions.
			before = nil
		}
		if before == nil {
			before = probeAll(ctx, o.stamps, prev.versions)
			o.observe(prev.versions, before, time.Now())
		}
		t := o.s.newTxn(ctx, prev, o.stamps)
		t.before = before
		a.txn.Store(t)
		began := time.Now()
		st, err := t.load()
		if err == nil && ctx.Err() != nil {
			st.discard()
			err = ctx.Err()
		}
		if ctx.Err() != nil {
			return nil, err
		}
		var moved []string
		if err == nil {
			parts := o.unsettled(partOf(st.versions), began)
			o.observe(st.versions, stampsOf(st.versions), time.Now())
			if len(parts) == 0 {
				return o.install(a, st)
			}
			if err := sleep(ctx, o.s.settle); err != nil {
				st.discard()
				return nil, err
			}
			after := probeAll(ctx, o.stamps, parts)
			o.observe(parts, after, time.Now())
			if ctx.Err() == nil && versionsEqual(parts, after) {
				return o.install(a, st)
			}
			moved = changedDeps(parts, after)
			st.discard()
		} else {
			if err := sleep(ctx, o.s.settle); err != nil {
				return nil, err
			}
			after := probeAll(ctx, o.stamps, prev.versions)
			o.observe(prev.versions, after, time.Now())
			if ctx.Err() == nil && slices.Equal(before, after) {
				return nil, err // what it read is what is there: a real failure
			}
			moved = changedDeps(prev.versions, after)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o.mu.Lock()
		o.status.Unsettled++
		o.mu.Unlock()
		if try == maxUnsettled {
			return nil, fmt.Errorf("%w: %s changed while it was read, %d times in a row", ErrUnsettled,
				strings.Join(moved, ", "), maxUnsettled)
		}
		before = nil
	}
}

// A sighting is the content a file was seen holding, and since when:
// the end of the probe or load that first saw it (a later time than the
// read, which errs on the safe side).
type sighting struct {
	stamp stamp
	since time.Time
}

// maxSightings bounds what observe remembers: files a configuration no
// longer reads are forgotten when it is reached.
const maxSightings = 1 << 14

// observe records what the files among vs held at time at: a stamp not
// seen before starts a sighting, the same stamp keeps the older one.
func (o *owner) observe(vs []version, stamps []stamp, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.observeLocked(vs, stamps, at)
}

func (o *owner) observeLocked(vs []version, stamps []stamp, at time.Time) {
	if o.seen == nil || len(o.seen) > maxSightings {
		o.seen = make(map[fileDep]sighting)
	}
	for i, v := range vs {
		f, ok := v.dep.(fileDep)
		if !ok || f.generation || i >= len(stamps) {
			continue
		}
		if s, ok := o.seen[f]; ok && s.stamp == stamps[i] {
			continue
		}
		o.seen[f] = sighting{stamps[i], at}
	}
}

// unsettled returns the versions of parts that were not seen holding
// what was read for SettleTime before began, when the load that read
// them began: the ones that must still hold it SettleTime later.
func (o *owner) unsettled(parts []version, began time.Time) []version {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []version
	for _, v := range parts {
		s, ok := o.seen[v.dep.(fileDep)]
		if !ok || s.stamp != v.stamp || s.since.Add(o.s.settle).After(began) {
			out = append(out, v)
		}
	}
	return out
}

func stampsOf(vs []version) []stamp {
	out := make([]stamp, len(vs))
	for i, v := range vs {
		out[i] = v.stamp
	}
	return out
}

// failed records a failed reload and schedules its retry: a backoff that
// doubles from the minimum up to the maximum (RetryBackoff), with jitter,
// so that replicas that failed together do not retry together.
func (o *owner) failed(err error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	o.status.Failures++
	o.status.Failed++
	o.status.LastError, o.status.LastFailure = err, now
	d := o.s.retryMin
	for i := 1; i < o.status.Failures && d < o.s.retryMax; i++ {
		d *= 2
	}
	d = min(d, o.s.retryMax)
	d = d/2 + rand.N(d/2+1)
	o.status.NextRetry = now.Add(d)
	return err
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// carryOver keeps in st the cells of old whose key holds the same secret,
// destroying st's new copies, so that a reload leaves the cell of every
// key it did not change as it was: readers that prepare something once
// per cell (outbound formats a header, a guard remembers keys) keep it,
// and a Snapshot taken before the reload keeps every such key for good.
// It returns the keys that were added, removed or changed, sorted: names,
// never values.
func carryOver(old, st *state) []string {
	keys := make([]string, 0, len(st.secrets))
	for key := range st.secrets {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	repl := make(map[secret.Value]secret.Value)
	for _, key := range keys {
		nc := st.secrets[key]
		if r, ok := repl[nc]; ok {
			st.secrets[key] = r
			continue
		}
		oc, ok := old.secrets[key]
		if ok && oc != nc && oc.Alive() && oc.EqualValue(nc) {
			repl[nc] = oc
			st.secrets[key] = oc
		}
	}
	for nc, oc := range repl {
		delete(st.owned, nc)
		st.owned[oc] = struct{}{}
		nc.Destroy()
	}
	for name, c := range st.env {
		if oc, ok := repl[c]; ok {
			st.env[name] = oc
		}
	}
	if len(repl) > 0 {
		for _, v := range st.versions {
			if d, ok := v.dep.(interface {
				carried(map[secret.Value]secret.Value)
			}); ok {
				d.carried(repl)
			}
		}
	}
	return changedKeys(old, st)
}

// changedKeys lists the keys whose values differ between a and b.
// Secrets are compared by cell (carryOver made equal secrets share one),
// plain values by what koanf holds.
func changedKeys(a, b *state) []string {
	pa, pb := a.k.All(), b.k.All()
	var changed []string
	for key, va := range pa {
		vb, ok := pb[key]
		ca, sa := a.secrets[key]
		cb, sb := b.secrets[key]
		switch {
		case !ok, sa != sb:
			changed = append(changed, key)
		case sa:
			if ca != cb {
				changed = append(changed, key)
			}
		case !reflect.DeepEqual(va, vb):
			changed = append(changed, key)
		}
	}
	for key := range pb {
		if _, ok := pa[key]; !ok {
			changed = append(changed, key)
		}
	}
	slices.Sort(changed)
	return changed
}
