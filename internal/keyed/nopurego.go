//go:build !purego

package keyed

// purego: the standard library's hashes run their generic code.
const purego = false
