//go:build (!unix && !windows) || secretmem_heap

package memory

import (
	"errors"
	"unsafe"
)

// Targets without virtual memory control (js/wasm, wasip1, plan9) get Go
// heap memory: no lock, no guard pages, no dump exclusion. The cells on top
// still zeroize on destroy and redact on every printing path, and Stats
// reports the backend as Heap so nobody mistakes it for protection.
//
// The secretmem_heap build tag selects this backend on any system, so that
// its promises can be tested where the tests run.

const pageSize = 4096

// PageSize returns the granularity regions are rounded to.
func PageSize() int { return pageSize }

func probeBest() Backend { return Heap }

func mapRegion(n int, _ Mode) (*Region, error) {
	buf := make([]byte, n)
	p := unsafe.Pointer(unsafe.SliceData(buf))
	// The unsafe.Pointer fields keep the allocation alive; no []byte is
	// stored, so printers that walk pointers still find only addresses.
	return &Region{data: p, size: n, mapping: p, mapLen: n, backend: Heap}, nil
}

func protect(*Region, Prot) error { return nil }

func unmap(*Region) error { return nil }

// ProbeMemfdSecret reports that memfd_secret is never used by this backend.
func ProbeMemfdSecret() error {
	return errors.New("memfd_secret is not used: the heap backend is built in")
}
