package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchSwapsInRotatedSecrets(t *testing.T) {
	t.Run("a changed YAML file is reloaded and the old cell retired after the grace period", func(t *testing.T) {
		dir := t.TempDir()
		a, b := marker(t), marker(t)
		p := writeFile(t, filepath.Join(dir, "c.yaml"), "db:\n  password: "+a+"\n", 0o600)
		cfg, err := Load(File(p), PollInterval(5*time.Millisecond), GracePeriod(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		old := cfg.Secret("db.password")
		reloaded := make(chan error, 4)
		if err := cfg.Watch(context.Background(), func(err error) { reloaded <- err }); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Watch(context.Background(), nil); err == nil {
			t.Error("a second Watch was accepted")
		}
		writeFile(t, p, "db:\n  password: "+b+"\n  extra: 1\n", 0o600)
		waitFor(t, reloaded, func() bool { return cfg.Secret("db.password").Equal([]byte(b)) })
		wantSecret(t, cfg, "db.password", b)
		if !old.Alive() {
			t.Error("the replaced cell died before its grace period")
		}
		deadline := time.Now().Add(2 * time.Second)
		for old.Alive() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if old.Alive() {
			t.Error("the replaced cell outlived its grace period")
		}
	})
	t.Run("a Kubernetes ..data swap is picked up and env secrets survive reloads", func(t *testing.T) {
		dir := t.TempDir()
		a, b, e := marker(t), marker(t), marker(t)
		vol := kubeVolume(t, dir, map[string]string{"db.password": a})
		t.Setenv("WK_API__TOKEN", e)
		cfg, err := Load(SecretDir(vol), Env("WK_"), PollInterval(5*time.Millisecond), GracePeriod(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		reloaded := make(chan error, 4)
		if err := cfg.Watch(context.Background(), func(err error) { reloaded <- err }); err != nil {
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
		dir := t.TempDir()
		a := marker(t)
		p := writeFile(t, filepath.Join(dir, "c.json"), `{"password": "`+a+`"}`, 0o600)
		cfg, err := Load(File(p), PollInterval(5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer cfg.Close()
		reloaded := make(chan error, 4)
		if err := cfg.Watch(context.Background(), func(err error) { reloaded <- err }); err != nil {
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
