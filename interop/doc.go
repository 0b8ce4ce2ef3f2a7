// Package interop holds tests that check secretmem against independent
// implementations. It is a module of its own so that their code (here
// github.com/golang-jwt/jwt/v5) never enters the main module's
// requirements: nothing imports it, and only its tests do anything.
package interop
