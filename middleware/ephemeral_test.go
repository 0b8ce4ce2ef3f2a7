package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/secretmem/secretmem/middleware"
	"github.com/secretmem/secretmem/secret"
)

func TestEphemeral(t *testing.T) {
	m := marker(t)
	var (
		v                secret.Value
		err              error
		wiped, readTwice bool
		ctx              context.Context
		concurrentErrs   []error
		concurrent       []secret.Value
		mu               sync.Mutex
	)
	h := middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx = r.Context()
		buf := []byte(m)
		v, err = middleware.Ephemeral(ctx, buf)
		wiped = string(buf) == string(make([]byte, len(m)))
		readTwice = v.Equal([]byte(m)) && v.Use(func([]byte) error { return nil }) == nil &&
			v.Use(func([]byte) error { return nil }) == nil
		// Goroutines of the handler may add cells too.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := middleware.Ephemeral(ctx, []byte("x"))
				mu.Lock()
				concurrent, concurrentErrs = append(concurrent, c), append(concurrentErrs, err)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))

	t.Run("a cell is created and the input wiped", func(t *testing.T) {
		if err != nil || !wiped {
			t.Fatalf("err %v, input wiped %v", err, wiped)
		}
	})
	t.Run("the cell can be read more than once during the request", func(t *testing.T) {
		if !readTwice {
			t.Error("it cannot")
		}
	})
	t.Run("the cell is destroyed when the response ends", func(t *testing.T) {
		if v.Alive() {
			t.Error("it outlived the response")
		}
		for i, c := range concurrent {
			if concurrentErrs[i] != nil || c.Alive() {
				t.Errorf("concurrent cell %d: err %v, alive %v", i, concurrentErrs[i], c.Alive())
			}
		}
	})
	t.Run("after the response it fails with ErrEnded and leaves the input", func(t *testing.T) {
		buf := []byte("late")
		_, err := middleware.Ephemeral(ctx, buf)
		if !errors.Is(err, middleware.ErrEnded) || string(buf) != "late" {
			t.Errorf("err %v, buf %q", err, buf)
		}
	})
	t.Run("without a scope it fails with ErrNoScope", func(t *testing.T) {
		if _, err := middleware.Ephemeral(context.Background(), []byte("x")); !errors.Is(err, middleware.ErrNoScope) {
			t.Errorf("err %v, want ErrNoScope", err)
		}
	})
}

func TestAccessorsWithoutTokens(t *testing.T) {
	ctx := context.Background()
	if _, ok := middleware.Token(ctx); ok {
		t.Error("Token found something in an empty context")
	}
	if _, ok := middleware.APIKey(ctx, "X-Api-Key"); ok {
		t.Error("APIKey found something in an empty context")
	}
	if _, ok := middleware.Cookie(ctx, "session"); ok {
		t.Error("Cookie found something in an empty context")
	}
}

func TestScopeContextBehavesLikeItsParent(t *testing.T) {
	type k struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), k{}, "v"))
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(parent)
	middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if ctx.Value(k{}) != "v" {
			t.Error("a value of the parent context is lost")
		}
		child, stop := context.WithCancel(ctx)
		defer stop()
		cancel()
		<-child.Done() // cancellation of the request reaches derived contexts
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("Err = %v, want context.Canceled", ctx.Err())
		}
	})).ServeHTTP(httptest.NewRecorder(), req)
}
