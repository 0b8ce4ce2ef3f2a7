package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// ReloadStatus is what a Config knows about its reloads, for logs,
// metrics and health checks. Errors and key lists name files and keys,
// never values.
type ReloadStatus struct {
	// Generation counts the configurations installed: 1 after Load, one
	// more for each reload that changed a key. A reload that finds
	// nothing new keeps the generation (and every cell).
	Generation uint64
	// Installed is when the current generation was installed, and Changed
	// the keys it added, removed or changed, sorted (nil for Load's).
	Installed time.Time
	Changed   []string
	// LastSuccess is when a load last succeeded (Load, or a reload that
	// changed something or not).
	LastSuccess time.Time
	// LastError is why the latest reload failed, LastFailure when, and
	// Failures how many failed in a row; all three reset when one
	// succeeds. NextRetry is when Watch tries again, with backoff; zero
	// when nothing waits.
	LastError   error
	LastFailure time.Time
	Failures    int
	NextRetry   time.Time
	// Since Load: Reloads is how many reloads succeeded, Failed how many
	// failed, and Unsettled how many times a reload started again because
	// a file changed while it was read (a writer still at work, a swap).
	Reloads   uint64
	Failed    uint64
	Unsettled uint64
	// Checked is when Watch last looked for changes; Watching is whether
	// it runs; Closed whether Close was called.
	Checked  time.Time
	Watching bool
	Closed   bool
}

// Status returns the Config's reload status.
func (c *Config) Status() ReloadStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.status
	st.Changed = slices.Clone(st.Changed)
	return st
}

// LogValue makes slog print the status: generation, times, counts, the
// last error's message and the changed keys' names.
func (r ReloadStatus) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Uint64("generation", r.Generation),
		slog.Time("installed", r.Installed),
		slog.Any("changed", r.Changed),
		slog.Time("last_success", r.LastSuccess),
		slog.Int("failures", r.Failures),
		slog.Uint64("reloads", r.Reloads),
		slog.Uint64("failed", r.Failed),
		slog.Uint64("unsettled", r.Unsettled),
		slog.Bool("watching", r.Watching),
	}
	if r.LastError != nil {
		attrs = append(attrs, slog.String("last_error", r.LastError.Error()), slog.Time("last_failure", r.LastFailure))
	}
	if !r.NextRetry.IsZero() {
		attrs = append(attrs, slog.Time("next_retry", r.NextRetry))
	}
	if r.Closed {
		attrs = append(attrs, slog.Bool("closed", true))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the status with the error as its message.
func (r ReloadStatus) MarshalJSON() ([]byte, error) {
	var last string
	if r.LastError != nil {
		last = r.LastError.Error()
	}
	optional := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return json.Marshal(struct {
		Generation  uint64     `json:"generation"`
		Installed   time.Time  `json:"installed"`
		Changed     []string   `json:"changed,omitempty"`
		LastSuccess time.Time  `json:"last_success"`
		LastError   string     `json:"last_error,omitempty"`
		LastFailure *time.Time `json:"last_failure,omitempty"`
		Failures    int        `json:"failures"`
		NextRetry   *time.Time `json:"next_retry,omitempty"`
		Reloads     uint64     `json:"reloads"`
		Failed      uint64     `json:"failed"`
		Unsettled   uint64     `json:"unsettled"`
		Checked     *time.Time `json:"checked,omitempty"`
		Watching    bool       `json:"watching"`
		Closed      bool       `json:"closed"`
	}{r.Generation, r.Installed, r.Changed, r.LastSuccess, last, optional(r.LastFailure), r.Failures,
		optional(r.NextRetry), r.Reloads, r.Failed, r.Unsettled, optional(r.Checked), r.Watching, r.Closed})
}

// Health reports whether the Config is keeping up with its sources: nil,
// or an error (ErrUnhealthy, or ErrClosed) saying why not. It is
// unhealthy once UnhealthyAfter reloads in a row failed (default 3: the
// sources changed and what they hold now cannot be loaded, so the service
// runs on secrets that may have been revoked), and when Watch runs but has
// not looked at its sources for three poll intervals plus the reload
// timeout (a read that hangs). A Config that is not watched is healthy
// until it is closed.
func (c *Config) Health() error {
	st := c.Status()
	switch {
	case st.Closed:
		return ErrClosed
	case st.Failures >= c.s.unhealthy:
		return fmt.Errorf("%w: %d reloads failed in a row since %s, still serving generation %d: %v",
			ErrUnhealthy, st.Failures, st.LastSuccess.Format(time.RFC3339), st.Generation, st.LastError)
	case st.Watching && !st.Checked.IsZero() && time.Since(st.Checked) > 3*c.s.poll+c.s.reloadTimeout:
		return fmt.Errorf("%w: the watcher has not looked at its sources since %s", ErrUnhealthy, st.Checked.Format(time.RFC3339))
	}
	return nil
}

// HealthHandler serves the reload status as JSON, with 200 while Health
// reports nil and 503 with the reason otherwise: a readiness or liveness
// check for a service whose secrets rotate.
//
//	{"healthy":true,"status":{"generation":3,"changed":["db.password"],...}}
func (c *Config) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		body := struct {
			Healthy bool         `json:"healthy"`
			Error   string       `json:"error,omitempty"`
			Status  ReloadStatus `json:"status"`
		}{Healthy: true, Status: c.Status()}
		code := http.StatusOK
		if err := c.Health(); err != nil {
			body.Healthy, body.Error, code = false, err.Error(), http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	})
}
