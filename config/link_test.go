package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A program that loads files and the environment must not pay for the
// Vault source: internal/vault once read crypto/tls's Conn type by
// reflection in a package initializer, which linked the whole TLS client
// and X.509 verification into every binary importing config (+1.3 MB of
// a 5.4 MB stripped binary). The test builds such a program and looks
// for the TLS client handshake in its symbols.
func TestConfigWithoutVaultLinksNoTLSClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", `package main

import "github.com/secretmem/secretmem/config"

func main() {
	cfg, err := config.Load(config.File("app.yaml"), config.Env("APP_"))
	if err != nil {
		panic(err)
	}
	defer cfg.Close()
	println(cfg.String("http.addr"), cfg.Secret("db.password").Alive())
}
`)
	// Named as a file, the program is built in this module: its go.sum
	// and module cache serve.
	bin := filepath.Join(dir, "prog")
	build := exec.Command(gobin, "build", "-o", bin, filepath.Join(dir, "main.go"))
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	nm := exec.Command(gobin, "tool", "nm", bin)
	out, err := nm.Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	for _, sym := range []string{"crypto/tls.(*Conn).clientHandshake", "crypto/x509.(*Certificate).Verify"} {
		if strings.Contains(string(out), sym) {
			t.Errorf("a program using config.File and config.Env links %s", sym)
		}
	}
}
