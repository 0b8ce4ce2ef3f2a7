package vault

import (
	"testing"

	"github.com/secretmem/secretmem/internal/testsecret"
	"github.com/secretmem/secretmem/secret"
)

// cell returns a cell holding s, destroyed when t ends.
func cell(t *testing.T, s string) secret.Value { return testsecret.Cell(t, s) }
