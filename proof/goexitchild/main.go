// Command goexitchild runs HMAC checks whose match ends its goroutine,
// for the proof suite's Goexit dump test. It keys an HMAC-SHA256 and an
// HMAC-SHA512 from random cells (the keys never touch the Go heap) and
// runs each one's Check over rounds distinct messages ("goexit 0",
// "goexit 1", ...) with a match that copies the MAC into its scratch and
// calls runtime.Goexit, 0 to 15 frames further down, as t.FailNow in a
// test's match would: eight goroutines at a time, each ending inside
// Check. With GOEXITCHILD_AS_BEFORE=1 Check runs as it did before it
// handled a Goexit (the control). The child prints "ready" and waits for
// a line on stdin (the parent dumps it meanwhile); then it writes the two
// keys to stdout, 32 bytes each, and exits.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

const (
	keySize = 32
	rounds  = 1000
	batch   = 8
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "goexitchild:", err)
		os.Exit(1)
	}
}

// goexitBelow calls runtime.Goexit n frames below its caller.
//
//go:noinline
func goexitBelow(n int) int {
	if n == 0 {
		runtime.Goexit()
	}
	return goexitBelow(n-1) + 1
}

func run() error {
	if os.Getenv("GOEXITCHILD_AS_BEFORE") == "1" {
		keyed.SkipWipesForTest()
		keyed.IgnoreGoexitForTest()
	}
	var keys []secret.Value
	for _, h := range []sign.Hash{sign.SHA256, sign.SHA512} {
		key, err := secret.Random(keySize)
		if err != nil {
			return err
		}
		keys = append(keys, key)
		m, err := sign.NewHMAC(h, sign.Static(key), "goexit.key")
		if err != nil {
			return err
		}
		var ended sync.WaitGroup
		for i := range rounds {
			msg := []byte("goexit " + strconv.Itoa(i))
			ended.Add(1)
			go func() {
				defer ended.Done()
				_ = m.Check(func(mac, scratch []byte) bool {
					copy(scratch, mac)
					goexitBelow(i % 16)
					return false
				}, msg)
			}()
			if i%batch == batch-1 {
				ended.Wait()
			}
		}
		ended.Wait()
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	// After the dump: hand the keys over, straight from their cells.
	for _, k := range keys {
		if err := k.Use(func(b []byte) error { _, err := os.Stdout.Write(b); return err }); err != nil {
			return err
		}
	}
	return nil
}
