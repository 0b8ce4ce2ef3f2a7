package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"

	"github.com/secretmem/secretmem/config"
)

// followRotations makes the server follow its sources: Watch reloads the
// configuration file, the secret directory and every _FILE target when
// their content changes, and SIGHUP reloads at once. Each reload that
// changed something is logged with the keys it changed (names only);
// each failure with its error (the old values stay, and the reload is
// retried with backoff). /readyz serves the same status. Watching stops
// with ctx and at cfg.Close.
func followRotations(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	last := cfg.Status().Generation
	err := cfg.Watch(ctx, func(err error) {
		st := cfg.Status()
		switch {
		case err != nil:
			logger.Error("config reload failed; serving the previous values", "err", err, "reload", st)
		case st.Generation != last:
			last = st.Generation
			logger.Info("config reloaded", "generation", st.Generation, "changed", st.Changed)
		}
	})
	if err != nil {
		return err
	}
	if len(reloadSignals) == 0 {
		return nil
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, reloadSignals...)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				logger.Info("SIGHUP: reloading the configuration")
				_ = cfg.Reload(ctx) // Watch's callback logs the result
			}
		}
	}()
	return nil
}
