package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/internal/wine"
	"github.com/secretmem/secretmem/secret"
)

func TestProvidersWorkWithAPlainKoanf(t *testing.T) {
	t.Run("SecretDirProvider yields cells that koanf prints redacted", func(t *testing.T) {
		m := marker(t)
		dir := kubeVolume(t, wine.TempDir(t), map[string]string{"db.password": m + "\n", "api_url": "u"})
		before := liveCells()
		p := SecretDirProvider(dir)
		k := koanf.New(".")
		if err := k.Load(p, nil); err != nil {
			t.Fatal(err)
		}
		v, ok := p.Secret("db.password")
		if !ok || !v.Equal([]byte(m)) {
			t.Fatal("the provider's cell does not hold the secret")
		}
		if _, ok := p.Secret("api_url"); !ok {
			t.Error("every key of a secret directory is secret")
		}
		s := k.Sprint()
		if strings.Contains(s, m) {
			t.Fatal("koanf Sprint shows the secret")
		}
		if !strings.Contains(s, "[REDACTED db.password]") {
			t.Errorf("koanf Sprint has no redaction marker: %q", s)
		}
		if got, _ := k.Get("db.password").(secret.Value); got.Alive() {
			t.Error("koanf's deep copy unexpectedly kept a live cell")
		}
		p.Close()
		if after := liveCells(); after != before {
			t.Errorf("live cells: %d before, %d after Close", before, after)
		}
	})
	t.Run("Protect turns the secret keys of any provider into cells", func(t *testing.T) {
		m := marker(t)
		raw := []byte("db:\n  password: " + m + "\n  host: h\n")
		p := Protect(bytesProvider(raw), yaml.Parser(), SecretKeys("db.host"))
		defer p.Close()
		k := koanf.New(".")
		if err := k.Load(p, nil); err != nil {
			t.Fatal(err)
		}
		if v, ok := p.Secret("db.password"); !ok || !v.Equal([]byte(m)) {
			t.Fatal("the wrapped provider's secret is not in a cell")
		}
		if _, ok := p.Secret("db.host"); !ok {
			t.Error("SecretKeys was not applied")
		}
		if !isZero(string(raw)) {
			t.Error("the provider's bytes were not wiped after parsing")
		}
		if _, err := p.ReadBytes(); err == nil {
			t.Error("ReadBytes should refuse")
		}
	})
	t.Run("cells replaced by a later Read are destroyed after the grace period and forgotten", func(t *testing.T) {
		dir := wine.TempDir(t)
		writeFile(t, filepath.Join(dir, "token"), marker(t), 0o600)
		same := marker(t)
		writeFile(t, filepath.Join(dir, "same"), same, 0o600)
		before := liveCells()
		p := SecretDirProvider(dir, GracePeriod(time.Millisecond))
		defer p.Close()
		if _, err := p.Read(); err != nil {
			t.Fatal(err)
		}
		first, _ := p.Secret("token")
		kept, _ := p.Secret("same")
		writeFile(t, filepath.Join(dir, "token"), marker(t), 0o600)
		if _, err := p.Read(); err != nil {
			t.Fatal(err)
		}
		if now, _ := p.Secret("same"); now != kept {
			t.Error("a key whose secret did not change got a new cell")
		}
		for deadline := time.Now().Add(5 * time.Second); first.Alive() && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if first.Alive() {
			t.Fatal("the replaced cell outlived its grace period")
		}
		p.mu.Lock()
		pending := len(p.pending)
		p.mu.Unlock()
		if pending != 0 {
			t.Errorf("%d destroyed batches are still held until Close", pending)
		}
		p.Close()
		if after := liveCells(); after != before {
			t.Errorf("live cells: %d before, %d after Close", before, after)
		}
	})
	t.Run("a closed provider refuses to read", func(t *testing.T) {
		p := SecretDirProvider(wine.TempDir(t))
		p.Close()
		if _, err := p.Read(); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
}

// bytesProvider hands out its own slice, so the test can see it wiped
// (rawbytes.Provider hands out a copy).
type bytesProvider []byte

func (b bytesProvider) ReadBytes() ([]byte, error)    { return b, nil }
func (b bytesProvider) Read() (map[string]any, error) { return nil, errors.New("bytes only") }

func TestSourceAcceptsAnyKoanfProvider(t *testing.T) {
	m := marker(t)
	raw := []byte("api:\n  token: " + m + "\n")
	cfg, err := Load(Source(rawbytes.Provider(raw), yaml.Parser()), File(writeFile(t, filepath.Join(wine.TempDir(t), "c.yaml"), "a: 1\n", 0o600)))
	if err != nil {
		t.Fatal(err)
	}
	defer cfg.Close()
	wantSecret(t, cfg, "api.token", m)
	if cfg.Int("a") != 1 {
		t.Error("the second source was lost")
	}
}
