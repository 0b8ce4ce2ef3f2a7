package secret_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// makeAndDrop creates a cell and lets its only Value go out of scope.
//
//go:noinline
func makeAndDrop(t *testing.T, m string, opts ...secret.Option) {
	v, err := secret.New([]byte(m), opts...)
	if err != nil {
		t.Fatal(err)
	}
	_ = v.Len()
}

func TestTheSafetyNetWipesForgottenCells(t *testing.T) {
	tests := []struct {
		name  string
		opts  []secret.Option
		wiped bool
	}{
		{"a pooled cell", nil, true},
		{"a guarded cell", []secret.Option{secret.Guarded()}, true},
		{"a TTL cell", []secret.Option{secret.TTL(time.Hour)}, true},
		{"a Scoped cell is left to its owner", []secret.Option{secret.Scoped()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := marker(t)
			makeAndDrop(t, m, tt.opts...)
			wait := 5 * time.Second
			if !tt.wiped {
				wait = 300 * time.Millisecond // several collections are plenty
			}
			deadline := time.Now().Add(wait)
			for inArena(m) && time.Now().Before(deadline) {
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
			}
			if got := !inArena(m); got != tt.wiped {
				t.Errorf("wiped = %v, want %v", got, tt.wiped)
			}
			secret.Purge()
		})
	}
}
