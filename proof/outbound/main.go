// Command outbound is the proof suite's client for outbound credentials:
// it sends -n requests to -url over -conns connections, each carrying the
// credential in APP_UPSTREAM__TOKEN_FILE, then prints "done" and waits to
// be dumped.
//
// With -mode transport (the default) the credential is loaded the way a
// service using secretmem loads it (config.Load, the _FILE variable read
// into a cell) and sent through outbound.Transport. With -mode by-hand it
// is read into a string and set on every request with Header.Set (or
// SetBasicAuth), the way a service without secretmem does. -scheme is
// bearer or basic (user "proof"); -ca names a PEM file of the server's
// certificate for https URLs, which then speak HTTP/2.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/secretmem/secretmem/config"
	"github.com/secretmem/secretmem/outbound"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "outbound:", err)
		os.Exit(1)
	}
	// Wait to be dumped and killed; the parent holds stdin open.
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func run() error {
	url := flag.String("url", "", "upstream URL")
	ca := flag.String("ca", "", "PEM file of the upstream's certificate (https)")
	n := flag.Int("n", 1000, "requests")
	conns := flag.Int("conns", 4, "connections")
	mode := flag.String("mode", "transport", "transport or by-hand")
	scheme := flag.String("scheme", "bearer", "bearer or basic")
	flag.Parse()

	var tlsConfig *tls.Config
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return errors.New("no certificate in -ca")
		}
		tlsConfig = &tls.Config{RootCAs: pool}
	}
	newClient, err := clients(*mode, *scheme)
	if err != nil {
		return err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		bad  int
		last error
	)
	for w := range *conns {
		// One transport per worker: one connection each, over HTTP/1.1 or
		// HTTP/2 alike.
		base := &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 1}
		client, err := newClient(base)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < *n; i += *conns {
				status, err := client(*url)
				if err != nil || status != http.StatusOK {
					mu.Lock()
					bad++
					if err == nil {
						err = fmt.Errorf("status %d", status)
					}
					last = err
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		return fmt.Errorf("%d of %d requests failed, the last: %v", bad, *n, last)
	}
	fmt.Println("done")
	return nil
}

// clients returns a constructor of request functions for mode and scheme.
func clients(mode, scheme string) (func(*http.Transport) (func(string) (int, error), error), error) {
	do := func(c *http.Client, set func(*http.Request)) func(string) (int, error) {
		return func(url string) (int, error) {
			req, err := http.NewRequest("GET", url, nil)
			if err != nil {
				return 0, err
			}
			set(req)
			resp, err := c.Do(req)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode, nil
		}
	}
	switch mode {
	case "transport":
		cfg, err := config.Load(config.Env("APP_"))
		if err != nil {
			return nil, err
		}
		cred := outbound.Bearer(cfg, "upstream.token")
		if scheme == "basic" {
			cred = outbound.Basic("proof", cfg, "upstream.token")
		}
		return func(base *http.Transport) (func(string) (int, error), error) {
			rt, err := outbound.New(base, cred)
			if err != nil {
				return nil, err
			}
			return do(&http.Client{Transport: rt}, func(*http.Request) {}), nil
		}, nil
	case "by-hand":
		b, err := os.ReadFile(os.Getenv("APP_UPSTREAM__TOKEN_FILE"))
		if err != nil {
			return nil, err
		}
		token := strings.TrimSpace(string(b))
		set := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
		if scheme == "basic" {
			set = func(r *http.Request) { r.SetBasicAuth("proof", token) }
		}
		return func(base *http.Transport) (func(string) (int, error), error) {
			return do(&http.Client{Transport: base}, set), nil
		}, nil
	}
	return nil, fmt.Errorf("-mode must be transport or by-hand, not %q", mode)
}
