package vault

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"
)

// A request's region goes back only once net/http has reported the write
// and the caller has finished; a write that never reports is waited for
// flightGrace, then the region is wiped and abandoned, never reused.
func TestARegionOutlivesItsWrite(t *testing.T) {
	p := &regions{}
	defer p.close()
	r, err := p.get(100)
	if err != nil {
		t.Fatal(err)
	}
	copy(r.Bytes(), "X-Vault-Token: secret")
	f := &flight{p: p, r: r}
	tr := f.trace()
	tr.GotConn(httptrace.GotConnInfo{})
	f.finish()
	if len(p.free) != 0 || zero(r.Bytes()[:21]) {
		t.Fatal("the region was handed back while net/http may still write from it")
	}
	tr.WroteRequest(httptrace.WroteRequestInfo{})
	if len(p.free) != 1 || !zero(r.Bytes()) {
		t.Fatal("the region was not wiped and handed back after the write")
	}

	old := flightGrace
	flightGrace = 20 * time.Millisecond
	defer func() { flightGrace = old }()
	r2, _ := p.get(100) // the same region, reused
	copy(r2.Bytes(), "secret")
	f2 := &flight{p: p, r: r2}
	f2.trace().GotConn(httptrace.GotConnInfo{})
	f2.finish()
	// The grace timer abandons the region; a loaded machine runs it late.
	var leaked, free int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		leaked, free = p.leaked, len(p.free)
		p.mu.Unlock()
		if leaked != 0 || free != 0 || time.Now().After(deadline) {
			break
		}
	}
	if leaked != 1 || free != 0 || !zero(r2.Bytes()) {
		t.Errorf("a write that never reported (a grace of %v, waited for up to 10 s): %d abandoned, %d free, wiped %v; want 1, 0, true",
			flightGrace, leaked, free, zero(r2.Bytes()))
	}
}

// What goes on the wire besides the body: the token header over
// protected memory, X-Vault-Request, the namespace, and no gzip.
func TestRequestHeaders(t *testing.T) {
	var (
		mu  sync.Mutex
		got http.Header
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		fmt.Fprint(w, `{"data":{"current_version":1}}`)
	}))
	defer ts.Close()
	tok := cell(t, "hvs.token-value")
	c, err := New(Config{Address: ts.URL, Namespace: "team-a", Auth: Token{Value: tok}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background(), CloseOptions{})
	c.install(tokenState{cell: tok})
	if _, err := c.KVVersion(context.Background(), "secret/data/x"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for name, want := range map[string]string{"X-Vault-Token": "hvs.token-value", "X-Vault-Request": "true",
		"X-Vault-Namespace": "team-a", "Accept-Encoding": ""} {
		if v := got.Get(name); v != want {
			t.Errorf("%s: %q, want %q", name, v, want)
		}
	}
}

// A Vault error that echoes a secret the request carried is redacted
// before it is copied out of protected memory.
func TestAnErrorEchoingTheRequestIsRedacted(t *testing.T) {
	const sid = "sid-echoed-0123456789"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"errors":["1 error occurred:\n\t* bad secret_id %s\n\n","role not found"]}`, sid)
	}))
	defer ts.Close()
	c, err := New(Config{Address: ts.URL, Auth: AppRole{RoleID: "r", SecretID: cell(t, sid)}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background(), CloseOptions{})
	err = c.Login(context.Background())
	if err == nil || strings.Contains(err.Error(), sid) || strings.Contains(err.Error(), "0123456789") {
		t.Fatalf("the error holds the secret ID: %v", err)
	}
	if !strings.Contains(err.Error(), "[REDACTED]; role not found") || strings.Contains(err.Error(), "occurred") {
		t.Errorf("the summary should keep the other message and drop the frame: %v", err)
	}
}
