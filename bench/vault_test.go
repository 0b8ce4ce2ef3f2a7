//go:build unix

package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/internal/vault"
	"github.com/secretmem/secretmem/internal/vaulttest"
	"github.com/secretmem/secretmem/secret"
)

// vaultPaths is how many KV v2 secrets a load reads, one field each.
const vaultPaths = 100

// BenchmarkVaultLoad100 loads 100 secrets (100 KV v2 paths of one field)
// from a Vault dev server on 127.0.0.1, one op being all 100 reads on a
// warm client: through internal/vault, each value into a cell, and
// through github.com/hashicorp/vault/api, which decodes every response
// into map[string]interface{}. Both read sequentially over keep-alive
// HTTP/1.1 connections with a token already set. Skips without a Vault
// binary (see internal/vaulttest).
//
// Next to them, the same 100 secrets through package config:
// config-load is a whole config.Load(config.Vault(...)) and Close per op
// (a new client: its token looked up, a new connection, 100 reads into
// cells, the keys and the snapshot built, every cell destroyed);
// config-reload is cfg.Reload on a loaded Config (the warm client reads
// all 100 paths again and keeps the cells of values that did not
// change), the cost a Watch pays when one path moved.
func BenchmarkVaultLoad100(b *testing.B) {
	srv := vaulttest.Start(b, vaulttest.Options{})
	paths := make([]string, vaultPaths)
	for i := range paths {
		paths[i] = fmt.Sprintf("secret/data/app%03d", i)
		srv.API(b, "PUT", paths[i], map[string]any{"data": map[string]any{"password": "pw-" + vaulttest.RandHex(16)}})
	}
	ctx := context.Background()

	b.Run("secretmem", func(b *testing.B) {
		tok, err := secret.FromString(srv.Token)
		if err != nil {
			b.Fatal(err)
		}
		defer tok.Destroy()
		c, err := vault.New(vault.Config{Address: srv.Addr, Auth: vault.Token{Value: tok}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx, vault.CloseOptions{})
		ms := make([]vault.Mapping, len(paths))
		for i, p := range paths {
			ms[i] = vault.Mapping{Path: p, Fields: map[string]string{"password": fmt.Sprintf("app%03d.password", i)}}
		}
		if err := c.Login(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			ss, err := c.ReadAll(ctx, ms)
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range ss {
				s.Destroy()
			}
		}
	})

	vps := make([]config.VaultPath, len(paths))
	for i, p := range paths {
		vps[i] = config.VaultPath{Path: p, Fields: map[string]string{"password": fmt.Sprintf("app%03d.password", i)}}
	}
	conn := func(b *testing.B) config.VaultConn {
		tok, err := secret.FromString(srv.Token)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(tok.Destroy)
		return config.VaultConn{Address: srv.Addr, NoEnv: true, Auth: config.VaultToken{Value: tok}}
	}

	b.Run("config-load", func(b *testing.B) {
		vc := conn(b)
		b.ReportAllocs()
		for b.Loop() {
			cfg, err := config.Load(config.Vault(vc, vps...))
			if err != nil {
				b.Fatal(err)
			}
			if !cfg.Secret("app099.password").Alive() {
				b.Fatal("app099.password is not loaded")
			}
			if err := cfg.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("config-reload", func(b *testing.B) {
		cfg, err := config.Load(config.Vault(conn(b), vps...))
		if err != nil {
			b.Fatal(err)
		}
		defer cfg.Close()
		b.ReportAllocs()
		for b.Loop() {
			if err := cfg.Reload(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("vaultapi", func(b *testing.B) {
		cfg := api.DefaultConfig()
		cfg.Address = srv.Addr
		c, err := api.NewClient(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.SetToken(srv.Token)
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range paths {
				s, err := c.Logical().ReadWithContext(ctx, p)
				if err != nil {
					b.Fatal(err)
				}
				data, _ := s.Data["data"].(map[string]any)
				if pw, _ := data["password"].(string); pw == "" {
					b.Fatal("no password")
				}
			}
		}
	})
}
