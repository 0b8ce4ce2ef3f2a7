package secret

import (
	"sync"
	"sync/atomic"
)

// Pre-keys.
//
// A sealed cell's key is derived, at every read, from a 16 KiB random
// pre-key in a guarded run, so that an attacker who reads memory only in
// part must recover every bit of it. A pre-key serves the next
// cellsPerPrekey cells sealed after it was made, and is destroyed when
// the last of them ends; then the next seal makes a new one. So no
// pre-key lives for the whole process, one recovered pre-key opens at
// most cellsPerPrekey cells, and retiring one loses no cell (Purge, which
// destroys every cell, is no longer the only way a pre-key ends).
//
// Measured on this repository's machine (2 vCPU, go1.26; see the sealing
// benchmarks): making a pre-key costs about 42 µs (31 µs of them reading
// 16 KiB from crypto/rand) and 16 KiB of locked memory. One per cell, as
// OpenSSH does per shielded key, would nearly triple the cost of a sealed
// New (about 25 µs otherwise) and make each sealed cell cost 20 KiB of
// locked memory: three of them would exhaust the 64 KiB RLIMIT_MEMLOCK
// many systems give unprivileged processes. One per 32 cells adds 1.3 µs
// and 512 bytes per cell.
//
// A Box keeps its pre-key across Update (a fresh nonce makes each seal
// unique), so a pre-key also lives as long as the longest-lived of its
// cells.
const (
	prekeySize     = 16 << 10
	cellsPerPrekey = 32
)

type prekey struct {
	v     Value
	cells atomic.Int64 // live cells sealed under it
	used  int          // cells ever sealed under it; under prekeys.mu
}

var prekeys struct {
	mu  sync.Mutex
	cur *prekey // the pre-key new cells are sealed under
}

// prekeyOptions make the pre-key: guarded, labelled, and kept out of the
// logging package's live-secret registry, which would only fingerprint 16
// KiB of random bytes that never reach a log.
var prekeyOptions = []Option{Guarded(), Label("seal pre-key"), {kind: optUnregistered}}

// takePrekey returns the pre-key for a new sealed cell and counts the cell
// against it; the caller releases it when the cell ends, or at once if the
// cell is never made. A pre-key is made when there is none, when the last
// one served cellsPerPrekey cells, or when Purge destroyed it.
func takePrekey() (*prekey, error) {
	prekeys.mu.Lock()
	defer prekeys.mu.Unlock()
	cur := prekeys.cur
	if cur == nil || cur.used >= cellsPerPrekey || !cur.v.Alive() {
		v, err := Random(prekeySize, prekeyOptions...)
		if err != nil {
			return nil, err
		}
		next := &prekey{v: v}
		prekeys.cur = next
		if cur != nil && cur.cells.Load() == 0 {
			cur.v.Destroy() // retired with no cell left to open
		}
		cur = next
	}
	cur.used++
	cur.cells.Add(1)
	return cur, nil
}

// release records that a cell sealed under pk ended. The last cell of a
// retired pre-key destroys it.
func (pk *prekey) release() {
	if pk.cells.Add(-1) > 0 {
		return
	}
	prekeys.mu.Lock()
	retired := prekeys.cur != pk
	prekeys.mu.Unlock()
	// A retired pre-key is never handed out again, so no cell can come to
	// need it after this check.
	if retired {
		pk.v.Destroy()
	}
}
