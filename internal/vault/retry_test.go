package vault

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// A read against a Vault that drops every connection is sent 1+MaxRetries
// times, not (1+MaxRetries)² times: the token's look-up, retried on its
// own, must not be retried again by the read around it.
func TestAnUnreachableReadIsNotRetriedTwice(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	tok, err := secret.FromString("hvs.test")
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Destroy()
	c, err := New(Config{Address: "http://" + ln.Addr().String(), Auth: Token{Value: tok}, MaxRetries: 2,
		Backoff: Backoff{Min: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background(), CloseOptions{})
	if _, err := c.Read(context.Background(), Mapping{Path: "secret/data/app"}); err == nil {
		t.Fatal("the read succeeded")
	}
	if n := accepted.Load(); n > 3 {
		t.Errorf("%d connections for one read with MaxRetries 2; want 3 at most", n)
	}
}
