package secret_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/secretmem/secretmem/secret"
)

func Example() {
	key, err := secret.New([]byte("sk-live-1234"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer key.Destroy()

	var mac []byte
	_ = key.Use(func(b []byte) error {
		h := hmac.New(sha256.New, b)
		h.Write([]byte("message"))
		mac = h.Sum(nil)
		return nil
	})
	fmt.Println(hex.EncodeToString(mac)[:16])
	fmt.Println(key)
	fmt.Printf("%#v %x\n", key, key)
	fmt.Println(key.Masked(4))
	// Output:
	// d65c876034f6c648
	// [REDACTED]
	// secret.Value([REDACTED]) [REDACTED]
	// ********1234
}

func ExampleVolatile() {
	tok, _ := secret.New([]byte("one-time-token"), secret.Volatile())
	first := tok.Use(func(b []byte) error { return nil })
	second := tok.Use(func(b []byte) error { return nil })
	fmt.Println(first, errors.Is(second, secret.ErrConsumed))
	// Output: <nil> true
}

func ExampleTTL() {
	otp, _ := secret.New([]byte("492817"), secret.TTL(10*time.Millisecond))
	time.Sleep(20 * time.Millisecond)
	err := otp.Use(func(b []byte) error { return nil })
	fmt.Println(errors.Is(err, secret.ErrExpired))
	// Output: true
}

func ExampleLabel() {
	pw, _ := secret.New([]byte("hunter2"), secret.Label("db.password"), secret.Guarded())
	defer pw.Destroy()
	fmt.Println(pw)
	// Output: [REDACTED db.password]
}

func ExampleValue_Equal() {
	key, _ := secret.New([]byte("api-key-value"))
	defer key.Destroy()
	fmt.Println(key.Equal([]byte("api-key-value")), key.Equal([]byte("guess")))
	// Output: true false
}
