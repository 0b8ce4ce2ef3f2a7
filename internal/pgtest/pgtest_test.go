//go:build unix

package pgtest

import (
	"crypto/rand"
	"strings"
	"testing"
)

func TestAClusterLetsItsSuperuserInAndNoWrongPassword(t *testing.T) {
	c := StartFor(t)
	if got, err := c.Query("postgres", c.Password, "SELECT current_user"); err != nil || got != "postgres" {
		t.Fatalf("as the superuser: %q, %v", got, err)
	}
	wrong := "wrong-" + rand.Text()
	_, err := c.Query("postgres", wrong, "SELECT 1")
	if err == nil {
		t.Fatal("a wrong password logged in: scram-sha-256 is not enforced")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Error("the error quotes the password")
	}
	if got, err := c.Query("postgres", c.Password, "SHOW listen_addresses"); err != nil || got != "127.0.0.1" {
		t.Errorf("listen_addresses %q, %v; want 127.0.0.1 only", got, err)
	}
}
