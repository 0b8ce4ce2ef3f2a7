module github.com/secretmem/secretmem/interop

go 1.24.0

replace github.com/secretmem/secretmem => ../

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/secretmem/secretmem v0.0.0-00010101000000-000000000000
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	golang.org/x/crypto v0.45.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
