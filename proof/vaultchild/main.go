// Command vaultchild is the proof suite's Vault client: a process that
// loads secrets from Vault the way a service does, through
// config.Load(config.Vault(...)) and cfg.Watch, follows a KV version bump
// and a rotation of database credentials as Watch reports them, keeps its
// AppRole token renewed (logging in again at the max TTL), and waits to
// be dumped. The proof then counts every Vault secret and token in its
// memory.
//
//	vaultchild -role-id ID -secret-id-file FILE -kv secret/data/a,secret/data/b -db database/creds/app
//
// VAULT_ADDR (and VAULT_CACERT over HTTPS) names the server. KV path i
// gives the keys kvI.<field>; the database path db.user and db.password.
// Commands arrive on stdin, one per line, and each is answered on stdout
// with one line that holds no secret:
//
//	load    config.Load, then Watch  -> "loaded N" (N secret keys)
//	bump    wait until Watch has swapped in a new value of every KV key
//	        -> "bumped N" (N paths)
//	rotate  wait until Watch has swapped in a new database user and
//	        password, in one generation -> "rotated"
//	use     read every secret key once, from one Snapshot -> "used N"
//	status  -> "generation G failures F"
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/secretmem/secretmem/config"
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
	// Stdin closed: stay up, cells, watcher and token renewal alive, to be
	// dumped.
	for {
		time.Sleep(time.Hour)
	}
}

// changes gathers the keys Watch's reloads changed, for the commands that
// wait for a rotation.
type changes struct {
	mu   sync.Mutex
	cond *sync.Cond
	seen map[string]int // key -> reloads that changed it
	err  error          // the last reload error, cleared by a success
}

func newChanges() *changes {
	c := &changes{seen: map[string]int{}}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// await waits until ok holds over the keys seen, or d passes.
func (c *changes) await(d time.Duration, ok func(seen map[string]int) bool) error {
	timer := time.AfterFunc(d, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !ok(c.seen) {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v (last reload error: %v)", d, c.err)
		}
		c.cond.Wait()
	}
	return nil
}

func run(log *slog.Logger, roleID, secretIDFile string, kvPaths []string, dbPath string) error {
	paths := make([]config.VaultPath, 0, len(kvPaths)+1)
	for i, p := range kvPaths {
		paths = append(paths, config.VaultPath{Path: p, Prefix: fmt.Sprintf("kv%d", i)})
	}
	paths = append(paths, config.VaultPath{Path: dbPath,
		Fields: map[string]string{"username": "db.user", "password": "db.password"}})
	conn := config.VaultConn{Auth: config.VaultAppRole{RoleID: roleID, SecretIDFile: secretIDFile}}

	var (
		cfg *config.Config
		ch  = newChanges()
	)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var reply string
		switch cmd := in.Text(); cmd {
		case "load":
			var err error
			cfg, err = config.Load(config.Vault(conn, paths...), config.Logger(log),
				config.PollInterval(200*time.Millisecond), config.GracePeriod(time.Second))
			if err != nil {
				return err
			}
			if err := cfg.Watch(context.Background(), func(err error) {
				st := cfg.Status()
				ch.mu.Lock()
				ch.err = err
				if err == nil {
					for _, k := range st.Changed {
						ch.seen[k]++
					}
				}
				ch.cond.Broadcast()
				ch.mu.Unlock()
			}); err != nil {
				return err
			}
			reply = fmt.Sprintf("loaded %d", len(secretKeys(cfg)))
		case "bump":
			var kvKeys []string
			for _, k := range secretKeys(cfg) {
				if strings.HasPrefix(k, "kv") {
					kvKeys = append(kvKeys, k)
				}
			}
			err := ch.await(30*time.Second, func(seen map[string]int) bool {
				for _, k := range kvKeys {
					if seen[k] == 0 {
						return false
					}
				}
				return true
			})
			if err != nil {
				return fmt.Errorf("bump: %w", err)
			}
			changed := map[string]bool{}
			for _, k := range kvKeys {
				changed[strings.SplitN(k, ".", 2)[0]] = true
			}
			reply = fmt.Sprintf("bumped %d", len(changed))
		case "rotate":
			err := ch.await(60*time.Second, func(seen map[string]int) bool {
				return seen["db.user"] > 0 && seen["db.user"] == seen["db.password"]
			})
			if err != nil {
				return fmt.Errorf("rotate: %w", err)
			}
			reply = "rotated"
		case "use":
			sn := cfg.Snapshot()
			n := 0
			for _, k := range secretKeys(cfg) {
				if err := sn.Secret(k).Use(func([]byte) error { n++; return nil }); err != nil {
					return fmt.Errorf("use %s: %w", k, err)
				}
			}
			reply = fmt.Sprintf("used %d", n)
		case "status":
			st := cfg.Status()
			reply = fmt.Sprintf("generation %d failures %d", st.Generation, st.Failures)
		default:
			reply = "unknown command " + cmd
		}
		fmt.Println(reply)
	}
	if err := in.Err(); err != nil {
		return err
	}
	if cfg == nil {
		return errors.New("stdin closed before load")
	}
	return nil
}

func secretKeys(cfg *config.Config) []string {
	return slices.DeleteFunc(cfg.Keys(), func(k string) bool { return !cfg.IsSecret(k) })
}
