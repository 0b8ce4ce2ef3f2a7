// Command cells shows the secret cell: New, Use, Volatile, TTL, Masked and
// Equal, and what printing a cell looks like.
//
//	go run ./examples/cells
package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

func main() {
	// New copies the bytes into protected memory and wipes the input.
	raw := []byte("sk-live-51Hx9demo1234")
	key, err := secret.New(raw, secret.Label("stripe.key"))
	if err != nil {
		log.Fatal(err)
	}
	defer key.Destroy()
	fmt.Printf("input after New: %q\n", raw)

	// Read access only inside Use. To compute with a key, let package sign
	// do it: hmac.New inside Use would put the key's padded blocks on the
	// heap, where they give the key back. sign.HMAC keeps them in a cell.
	n := 0
	_ = key.Use(func(b []byte) error { n = len(b); return nil })
	fmt.Println("length read inside Use:", n)
	mac, err := sign.NewHMAC(sign.SHA256, sign.Static(key), "stripe.key")
	if err != nil {
		log.Fatal(err)
	}
	defer mac.Close()
	tag, _ := mac.Sum(nil, []byte("invoice-42"))
	fmt.Println("hmac:", hex.EncodeToString(tag)[:16], "verifies:", mac.Verify(tag, []byte("invoice-42")) == nil)

	// Every printing path redacts.
	fmt.Printf("fmt: %v %+v %#v %x\n", key, key, key, key)
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})).Info("loaded", "key", key)
	fmt.Println("masked:", key.Masked(4))
	fmt.Println("equal:", key.Equal([]byte("sk-live-51Hx9demo1234")), key.Equal([]byte("guess")))

	// Volatile: burn after one read.
	tok, _ := secret.New([]byte("one-time-token"), secret.Volatile())
	first := tok.Use(func([]byte) error { return nil })
	second := tok.Use(func([]byte) error { return nil })
	fmt.Println("volatile:", first, errors.Is(second, secret.ErrConsumed))

	// TTL: wiped when the time is up.
	otp, _ := secret.New([]byte("492817"), secret.TTL(20*time.Millisecond))
	time.Sleep(40 * time.Millisecond)
	fmt.Println("ttl expired:", errors.Is(otp.Use(func([]byte) error { return nil }), secret.ErrExpired))

	st := secret.Stats()
	fmt.Printf("stats: backend=%s protected=%v live=%d\n", st.Backend, st.Protected, st.Live)
}
