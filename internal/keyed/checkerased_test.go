package keyed

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// checkErased runs f and scans what it left: nothing of needles may be on
// the dead stack or in registers. Then it runs f with the wipe skipped
// and requires the scan to find something, so that it can see.
func checkErased(t *testing.T, f func(), needles NeedlesForTest) {
	t.Helper()
	CheckErasedForTest(t, ErasureForTest{Call: f, Span: 8 << 10, Needles: needles})
}

// checkErasedDeep is checkErased over EraseDeep's span.
func checkErasedDeep(t *testing.T, f func(), needles NeedlesForTest) {
	t.Helper()
	CheckErasedForTest(t, ErasureForTest{Call: f, Span: deepWipeDepth + 4<<10, Needles: needles})
}

// recorder is a TBForTest that keeps what it is told.
type recorder struct{ errs []string }

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

//go:noinline
func leaveOnTheStack(v []byte) {
	var b [256]byte
	copy(b[64:], v)
	escapeNothing(unsafe.Pointer(&b))
}

// TestTheErasureCheckCanFail: a call that leaves a needle on its stack
// fails the check, and so does one that leaves nothing even without the
// wipes, unless the control may miss.
func TestTheErasureCheckCanFail(t *testing.T) {
	leak := filled(32, 0x5a)
	nd := NeedlesForTest{}
	nd.Add("planted secret", leak)
	var r recorder
	CheckErasedForTest(&r, ErasureForTest{Call: func() { leaveOnTheStack(leak) }, Span: 8 << 10, Needles: nd})
	if len(r.errs) == 0 || !strings.Contains(r.errs[0], "planted secret") {
		t.Errorf("a planted secret on the dead stack: %q", r.errs)
	}
	r = recorder{}
	CheckErasedForTest(&r, ErasureForTest{Call: func() {}, Span: 8 << 10, Needles: nd})
	if blind := len(r.errs) == 1 && strings.Contains(r.errs[0], "cannot see"); blind == RuntimeErases {
		t.Errorf("a control that finds nothing: %q", r.errs)
	}
	r = recorder{}
	CheckErasedForTest(&r, ErasureForTest{Call: func() {}, Span: 8 << 10, Needles: nd, ControlMayMiss: true})
	if len(r.errs) != 0 {
		t.Errorf("a control that may miss: %q", r.errs)
	}
}
