// Command sealedchild holds sealed cells for the proof suite's sealed
// dump test. It makes sealed Values and Boxes whose plaintext is drawn
// from crypto/rand straight into protected memory (so no copy of it is
// ever on the Go heap), reads, compares and updates them a thousand times
// each, and keeps one control secret in an ordinary heap slice. It prints
// "ready" and waits for a line on stdin (the parent dumps it meanwhile);
// then it writes every plaintext to stdout, 48 bytes each, controls first,
// and exits.
package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/secretmem/secretmem/secret"
)

const (
	size   = 48
	cells  = 8
	rounds = 1000
)

// Sink keeps the reads from being optimised away.
var Sink byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sealedchild:", err)
		os.Exit(1)
	}
}

func run() error {
	control := make([]byte, size) // the scan must find this one
	if _, err := rand.Read(control); err != nil {
		return err
	}
	var values []secret.Value
	var boxes []secret.Box[[size]byte]
	for i := range cells {
		opts := []secret.Option{secret.Sealed()}
		if i%2 == 1 {
			opts = append(opts, secret.Guarded())
		}
		v, err := secret.Random(size, opts...)
		if err != nil {
			return err
		}
		values = append(values, v)
		b, err := secret.NewBox([size]byte{}, opts...)
		if err != nil {
			return err
		}
		if err := b.Update(func(p *[size]byte) error {
			_, err := rand.Read(p[:])
			return err
		}); err != nil {
			return err
		}
		boxes = append(boxes, b)
	}
	var sink byte
	guess := make([]byte, size)
	for r := range rounds {
		for i := range cells {
			if err := values[i].Use(func(b []byte) error { sink ^= b[r%size]; return nil }); err != nil {
				return err
			}
			if values[i].Equal(guess) {
				return fmt.Errorf("a random cell equals zeros")
			}
			if err := boxes[i].Update(func(p *[size]byte) error { p[r%size]++; return nil }); err != nil {
				return err
			}
			if err := boxes[i].Use(func(p *[size]byte) error { sink ^= p[0]; return nil }); err != nil {
				return err
			}
		}
	}
	Sink = sink
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return err
	}
	// After the dump: hand the plaintexts over. Each write(2) reads the
	// scratch cell directly.
	out := os.Stdout
	if _, err := out.Write(control); err != nil {
		return err
	}
	for i := range cells {
		if err := values[i].Use(func(b []byte) error { _, err := out.Write(b); return err }); err != nil {
			return err
		}
		if err := boxes[i].Use(func(p *[size]byte) error { _, err := out.Write(p[:]); return err }); err != nil {
			return err
		}
	}
	return nil
}
