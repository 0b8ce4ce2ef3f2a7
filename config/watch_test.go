package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

func TestWatchSwapsInRotatedSecrets(t *testing.T) {
	t.Run("a changed YAML file is reloaded and the old cell retired after the grace period", func(t *testing.T) {
		var old secret.Value
		var life time.Duration
		withinGrace(t, 50*time.Millisecond, func(grace time.Duration) bool {
			dir := wine.TempDir(t)
			a, b := marker(t), marker(t)
			p := writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  password: "+a+"\n", 0o600)
			cfg, err := Load(File(p), PollInterval(5*time.Millisecond), GracePeriod(grace))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cfg.Close() })
			old, life = cfg.Secret("db.password"), grace
			reloaded := make(chan error, 4)
			if err := cfg.Watch(context.Background(), notify(reloaded)); err != nil {
				t.Fatal(err)
			}
			if err := cfg.Watch(context.Background(), nil); err == nil {
				t.Error("a second Watch was accepted")
			}
			writing := time.Now() // the reload, and the grace period, start after this
			writeFile(t, p, "db:\n  password: "+b+"\n  extra: 1\n", 0o600)
			waitFor(t, reloaded, func() bool { return cfg.Secret("db.password").Equal([]byte(b)) })
			wantSecret(t, cfg, "db.password", b)
			if !old.Alive() {
				if time.Since(writing) >= grace {
					return false
				}
				t.Error("the replaced cell died before its grace period")
			}
			return true
		})
		deadline := time.Now().Add(life + 5*time.Second)
		for old.Alive() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if old.Alive() {
			t.Error("the replaced cell outlived its grace period")
		}
	})
	t.Run("a Kubernetes ..data swap is picked up and env secrets survive reloads", func(t *testing.T) {
		dir := wine.TempDir(t)
		a, b, e := marker(t), marker(t), marker(t)
		vol := kubeVolume(t, dir, map[string]string{"db.password": a})
		t.Setenv("WK_API__TOKEN", e)
		cfg, err := Load(SecretDir(vol), Env("WK_"), PollInterval(5*time.Millisecond), GracePeriod(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		reloaded := make(chan error, 4)
		if err := cfg.Watch(context.Background(), notify(reloaded)); err != nil {
			t.Fatal(err)
		}
		// The kubelet writes a new timestamped directory and swaps ..data.
		ts := "..2024_05_02_10_00_00.1"
		writeFile(t, filepath.Join(vol, ts, "db.password"), b, 0o400)
		if err := os.Symlink(ts, filepath.Join(vol, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(vol, "..data_tmp"), filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, reloaded, func() bool { return cfg.Secret("db.password").Equal([]byte(b)) })
		wantSecret(t, cfg, "api.token", e)
	})
	t.Run("a broken reload keeps the old values and reports the error", func(t *testing.T) {
		dir := wine.TempDir(t)
		a := marker(t)
		p := writeFile(t, filepath.Join(dir, "c.json"), `{"password": "`+a+`"}`, 0o600)
		cfg, err := Load(File(p), PollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		reloaded := make(chan error, 4)
		if err := cfg.Watch(context.Background(), notify(reloaded)); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, `{"password": `, 0o600)
		select {
		case err := <-reloaded:
			if err == nil {
				t.Fatal("a broken file reloaded without error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no reload")
		}
		wantSecret(t, cfg, "password", a)
	})
}

// notify sends reload results to ch without ever blocking the watcher:
// a watcher stuck in fn would outlive the test.
func notify(ch chan error) func(error) {
	return func(err error) {
		select {
		case ch <- err:
		default:
		}
	}
}

func TestCloseStopsWatchAndLeavesNoCell(t *testing.T) {
	dir := wine.TempDir(t)
	p := writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  password: "+marker(t)+"\n", 0o600)
	before, goroutines := liveCells(), runtime.NumGoroutine()
	cfg, err := Load(File(p), PollInterval(time.Millisecond), GracePeriod(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan error, 1)
	if err := cfg.Watch(context.Background(), notify(reloaded)); err != nil {
		t.Fatal(err)
	}
	// Keep reloads in flight while Close runs.
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			writeFile(t, p, fmt.Sprintf("db:\n  password: %s\nn: %d\n", marker(t), i), 0o600)
			time.Sleep(time.Millisecond)
		}
	}()
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload")
	}
	cfg.Close()
	if after := liveCells(); after != before {
		t.Errorf("live cells: %d before Load, %d right after Close", before, after)
	}
	close(stop)
	<-writerDone
	time.Sleep(20 * time.Millisecond) // several poll intervals
	if after := liveCells(); after != before {
		t.Errorf("live cells: %d before Load, %d after Close and more changes", before, after)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines before Load, %d after Close: the watcher did not stop", goroutines, n)
	}
}

// waitFor waits for reloads until done reports true: a poll may catch a
// file half written and reload twice.
func waitFor(t *testing.T, ch chan error, done func() bool) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for !done() {
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("the change was not picked up within 5 s")
		}
	}
}
