package outbound

// WireLive reports how many formatted credentials t holds in protected
// memory: the current one and those waiting for their cells to die.
func WireLive(t *Transport) int { return t.wire.Live() }
