// Command vaultchild is the proof suite's Vault client: a process that
// loads secrets from Vault through internal/vault into cells, follows a KV
// version bump and a database-credential rotation when told, keeps its
// token renewed (logging in again at the max TTL), and waits to be dumped.
// The proof then counts every Vault secret and token in its memory.
//
// It uses internal/vault directly until config has a Vault source; the
// proof then runs a program built on config.Vault instead.
//
//	vaultchild -role-id ID -secret-id-file FILE -kv secret/data/a,secret/data/b -db database/creds/app
//
// VAULT_ADDR names the server. Commands arrive on stdin, one per line, and
// each is answered on stdout with one line that holds no secret:
//
//	load    read every path         -> "loaded N" (N cells)
//	bump    re-read changed KV paths -> "bumped N"
//	rotate  new database credentials, the old lease revoked -> "rotated"
//	use     read every cell once     -> "used N"
//	token   -> "token logins=N" (logins and renewals so far)
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/secretmem/secretmem/internal/vault"
)

func main() {
	roleID := flag.String("role-id", "", "AppRole role ID")
	secretIDFile := flag.String("secret-id-file", "", "file holding the AppRole secret ID")
	kv := flag.String("kv", "", "comma-separated KV v2 paths, every field a secret")
	db := flag.String("db", "", "a database credentials path")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log, *roleID, *secretIDFile, strings.Split(*kv, ","), *db); err != nil {
		log.Error("vaultchild", "err", err)
		os.Exit(1)
	}
	// Stdin closed: stay up, cells and client alive, to be dumped.
	for {
		time.Sleep(time.Hour)
	}
}

func run(log *slog.Logger, roleID, secretIDFile string, kvPaths []string, dbPath string) error {
	cfg, err := vault.FromEnv()
	if err != nil {
		return err
	}
	cfg.Auth = vault.AppRole{RoleID: roleID, SecretIDFile: secretIDFile}
	cfg.Logger = log
	c, err := vault.New(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	go func() { _ = c.KeepTokenAlive(ctx, func(err error) { log.Warn("token", "err", err) }) }()

	var (
		kvs []*vault.Secret
		dbs *vault.Secret
	)
	count := func() int {
		n := len(dbs.Fields)
		for _, s := range kvs {
			n += len(s.Fields)
		}
		return n
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var reply string
		switch cmd := in.Text(); cmd {
		case "load":
			for i, p := range kvPaths {
				s, err := c.Read(ctx, vault.Mapping{Path: p, Prefix: fmt.Sprintf("kv%d", i)})
				if err != nil {
					return err
				}
				kvs = append(kvs, s)
			}
			if dbs, err = c.Read(ctx, vault.Mapping{Path: dbPath, Prefix: "db"}); err != nil {
				return err
			}
			reply = fmt.Sprintf("loaded %d", count())
		case "bump":
			n := 0
			for i, s := range kvs {
				v, err := c.KVVersion(ctx, s.Path)
				if err != nil {
					return err
				}
				if v == s.Version {
					continue
				}
				next, err := c.Read(ctx, vault.Mapping{Path: s.Path, Prefix: fmt.Sprintf("kv%d", i)})
				if err != nil {
					return err
				}
				kvs[i] = next
				s.Destroy()
				n++
			}
			reply = fmt.Sprintf("bumped %d", n)
		case "rotate":
			next, err := c.Read(ctx, vault.Mapping{Path: dbPath, Prefix: "db"})
			if err != nil {
				return err
			}
			old := dbs
			dbs = next
			if err := c.RevokeLease(ctx, old.Lease.ID); err != nil {
				return err
			}
			old.Destroy()
			reply = "rotated"
		case "use":
			n := 0
			for _, s := range append([]*vault.Secret{dbs}, kvs...) {
				for _, f := range s.Fields {
					if err := f.Value.Use(func([]byte) error { n++; return nil }); err != nil {
						return err
					}
				}
			}
			reply = fmt.Sprintf("used %d", n)
		case "token":
			reply = fmt.Sprintf("token logins=%d", c.TokenInfo().Logins)
		default:
			reply = "unknown command " + cmd
		}
		fmt.Println(reply)
	}
	return in.Err()
}
