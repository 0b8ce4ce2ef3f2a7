package testalloc

import "testing"

var (
	one   *[64]byte
	burst []*[64]byte
)

// The call's own allocations are in every measurement: PerRun reports
// them as testing.AllocsPerRun does.
func TestACallsOwnAllocationsAreCounted(t *testing.T) {
	for want := range 4 {
		got := PerRun(100, func() {
			for range want {
				one = new([64]byte)
			}
		})
		if got != float64(want) {
			t.Errorf("%d allocations per call read as %v", want, got)
		}
	}
}

// A burst from another goroutine during one measurement, as when the
// finalizer goroutine runs while the measuring goroutine is preempted,
// is not taken for the call's own: testing.AllocsPerRun reports it,
// PerRun does not.
func TestABurstFromAnotherGoroutineIsNotCounted(t *testing.T) {
	if got := testing.AllocsPerRun(100, burstOnce()); got == 0 {
		t.Fatal("the control measured no burst: this test shows nothing")
	}
	if got := PerRun(100, burstOnce()); got != 0 {
		t.Errorf("a burst in one measurement read as %v allocations per call", got)
	}
	burst = nil
}

// burstOnce returns a call that allocates nothing itself and, once,
// waits while another goroutine allocates 1,000 objects.
func burstOnce() func() {
	start, done := make(chan struct{}), make(chan struct{})
	go func() {
		<-start
		for range 1000 {
			burst = append(burst, new([64]byte))
		}
		close(done)
	}()
	calls := 0
	return func() {
		// The first call is AllocsPerRun's warm-up; the second is in
		// the first measurement.
		if calls++; calls == 2 {
			close(start)
			<-done
		}
	}
}
