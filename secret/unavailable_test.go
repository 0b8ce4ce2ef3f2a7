package secret_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretmem/secretmem/secret"
)

var errNoSuchKey = errors.New("no such key: api.keys")

func TestAnUnavailableValueFailsEveryReadWithItsError(t *testing.T) {
	v := secret.Unavailable(errNoSuchKey, secret.Label("api.keys"))
	called := false
	if err := v.Use(func([]byte) error { called = true; return nil }); !errors.Is(err, errNoSuchKey) {
		t.Errorf("Use: %v, want the Value's error", err)
	}
	if _, err := v.Reveal(); !errors.Is(err, errNoSuchKey) {
		t.Errorf("Reveal: %v, want the Value's error", err)
	}
	if called {
		t.Error("Use called fn without a secret")
	}
	if !errors.Is(v.Err(), errNoSuchKey) || !errors.Is(v.Err(), secret.ErrDestroyed) || v.Err().Error() != errNoSuchKey.Error() {
		t.Errorf("Err = %v, want the Value's error, matching ErrDestroyed too", v.Err())
	}
	if v.Alive() || v.Len() != 0 || v.Equal(nil) || v.Equal([]byte{}) {
		t.Error("an unavailable Value looks alive, long, or equal to something")
	}
	other, _ := secret.New([]byte("x"))
	defer other.Destroy()
	if v.EqualValue(other) || other.EqualValue(v) {
		t.Error("an unavailable Value equals a cell")
	}
	if got := fmt.Sprint(v); got != "[REDACTED api.keys]" {
		t.Errorf("printed as %q", got)
	}
	if got := v.Masked(4); !strings.Contains(got, "REDACTED") {
		t.Errorf("Masked = %q", got)
	}
	v.Destroy()
	if !errors.Is(v.Err(), errNoSuchKey) {
		t.Error("Destroy changed why the Value cannot be read")
	}
}

func TestErrSaysWhyACellCannotBeRead(t *testing.T) {
	live, _ := secret.New([]byte("x"))
	dead, _ := secret.New([]byte("x"))
	dead.Destroy()
	vol, _ := secret.New([]byte("x"), secret.Volatile())
	short, _ := secret.New([]byte("x"), secret.TTL(time.Millisecond))
	defer live.Destroy()
	time.Sleep(5 * time.Millisecond)
	if err := vol.Err(); err != nil {
		t.Errorf("a fresh volatile cell: %v", err)
	}
	_ = vol.Use(func([]byte) error { return nil })
	tests := []struct {
		name string
		v    secret.Value
		want error
	}{
		{"a live cell", live, nil},
		{"a destroyed cell", dead, secret.ErrDestroyed},
		{"the zero Value", secret.Value{}, secret.ErrDestroyed},
		{"a consumed volatile cell", vol, secret.ErrConsumed},
		{"an expired cell", short, secret.ErrExpired},
		{"Unavailable(nil)", secret.Unavailable(nil), secret.ErrDestroyed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.v.Err(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Err = %v, want %v", err, tt.want)
			}
		})
	}
	// Err does not consume a volatile cell.
	v, _ := secret.New([]byte("x"), secret.Volatile())
	_ = v.Err()
	if err := v.Use(func([]byte) error { return nil }); err != nil {
		t.Errorf("Err consumed the volatile cell: %v", err)
	}
}
