module github.com/secretmem/secretmem/bench

go 1.24.0

require (
	github.com/awnumar/memguard v0.23.0
	github.com/go-chi/chi/v5 v5.5.0
	github.com/lmittmann/tint v1.2.1
	github.com/secretmem/secretmem v0.0.0
	golang.org/x/sys v0.41.0
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/awnumar/memcall v0.4.0 // indirect
	golang.org/x/crypto v0.45.0 // indirect
)

replace github.com/secretmem/secretmem => ../
