//go:build !linux

package config

// heapRegions knows no memory map outside Linux: parser strings are left
// alone rather than guessed at.
func heapRegions() memoryMap { return nil }

// wipeEnvMemory does nothing outside Linux; the variable is still unset.
func wipeEnvMemory(string) {}
