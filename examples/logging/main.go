// Command logging shows the redacting logger: secrets by type, by key, by
// pattern, and a live secret that leaked into an ordinary string.
//
//	go run ./examples/logging
package main

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/secretmem/secretmem/logging"
	"github.com/secretmem/secretmem/secret"
)

func main() {
	logger := logging.New(os.Stdout, &logging.Options{Format: logging.FormatJSON, TimeFormat: "-"})

	pw, err := secret.New([]byte("correct-horse-battery"))
	if err != nil {
		log.Fatal(err)
	}
	defer pw.Destroy()

	logger.Info("by type", "password_cell", pw)
	logger.Info("by key", "api_key", "plain-string-key", "user", "app")
	logger.Info("by pattern", "db", "postgres://app:hunter2-pattern@db:5432/app",
		"header", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJlLWRlbW8")

	// A bug copied the plaintext into an ordinary string: the logger still
	// recognises the live secret's value.
	var leaked string
	_ = pw.Use(func(b []byte) error { leaked = string(b); return nil })
	logger.Info("leaked into a sentence: the password is " + leaked)
	logger.Error("login failed", "err", fmt.Errorf("auth: %w", errors.New("bad password "+leaked)))

	pw.Destroy()
	fmt.Println("after Destroy the value is an ordinary string again:")
	logger.Info("destroyed: " + leaked)
}
