// Command outbound calls another service with a credential from the
// config: outbound.Transport writes it into each request from its cell,
// and drops it on a redirect to another origin.
//
//	go run ./examples/outbound
//
// For a database password the same idea is a pgx hook in the sqlcell
// module (go doc github.com/secretmem/secretmem/sqlcell):
//
//	pw := sqlcell.New(cfg, "db.password")
//	db := sql.OpenDB(pw.Connector(connConfig))   // or poolCfg.BeforeConnect = pw.BeforeConnect
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/outbound"
)

func main() {
	// The token arrives as a file, as a container gets it.
	dir, err := os.MkdirTemp("", "secretmem-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tokenFile := filepath.Join(dir, "token")
	must(os.WriteFile(tokenFile, []byte("tok-live-9f8e7d6c5b4a\n"), 0o600))
	must(os.Setenv("APP_UPSTREAM__TOKEN_FILE", tokenFile))
	cfg, err := config.Load(config.Env("APP_"), config.Require("upstream.token"))
	if err != nil {
		log.Fatal(err)
	}
	defer cfg.Close()

	// Two services on 127.0.0.1: the API, which wants the token, and
	// another origin it redirects to, which must never see it.
	other := serve(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("other origin: Authorization sent: %v\n", r.Header.Get("Authorization") != "")
	})
	api := serve(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, other+"/landing", http.StatusFound)
			return
		}
		ok := cfg.Secret("upstream.token").Equal([]byte(r.Header.Get("Authorization")[len("Bearer "):]))
		fmt.Printf("api: bearer token matches: %v\n", ok)
	})

	rt, err := outbound.New(nil, outbound.Bearer(cfg, "upstream.token"))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	client := &http.Client{Transport: rt}

	req, _ := http.NewRequest("GET", api+"/v1/things", nil)
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("status:", resp.StatusCode)
	fmt.Printf("the caller's request has no Authorization: %v\n", req.Header.Get("Authorization") == "")

	resp, err = client.Get(api + "/moved")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
}

// serve runs h on a free port of 127.0.0.1 and returns its URL.
func serve(h http.HandlerFunc) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(ln, h) }()
	return "http://" + ln.Addr().String()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
