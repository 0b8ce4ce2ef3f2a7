package keyed

import "testing"

// checkErased runs f and scans what it left: nothing of needles may be on
// the dead stack or in registers. Then it runs f with the wipe skipped
// and requires the scan to find something, so that it can see.
func checkErased(t *testing.T, f func(), needles NeedlesForTest) {
	t.Helper()
	checkErasedOver(t, f, needles, 8<<10)
}

// checkErasedOver is checkErased over span bytes of dead stack.
func checkErasedOver(t *testing.T, f func(), needles NeedlesForTest, span int) {
	t.Helper()
	stack, regs := AfterCallForTest(f, span)
	if name, at := needles.Find(stack); at >= 0 {
		t.Errorf("the %s is on the dead stack, %d bytes below the caller", name, len(stack)-at)
	}
	if name, at := needles.Find(regs[:]); at >= 0 {
		t.Errorf("the %s is in a register", name)
	}
	if RuntimeErases {
		return // runtime/secret erases; there is no wipe to skip
	}
	restore := SkipWipesForTest()
	stack, regs = AfterCallForTest(f, span)
	restore()
	name, _ := needles.Find(stack)
	rname, _ := needles.Find(regs[:])
	t.Logf("without the wipe: the stack holds the %q, the registers the %q", name, rname)
	if name == "" && rname == "" {
		t.Error("without the wipe the scan finds nothing: it cannot see")
	}
}

// checkErasedDeep is checkErased over EraseDeep's span.
func checkErasedDeep(t *testing.T, f func(), needles NeedlesForTest) {
	t.Helper()
	checkErasedOver(t, f, needles, deepWipeDepth+4<<10)
}
