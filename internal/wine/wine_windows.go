package wine

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// version asks ntdll for wine_get_version, an export only Wine's ntdll
// has. Programs that hide Wine from applications patch much more than
// this; a test harness does not.
var version = sync.OnceValue(func() string {
	proc := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version")
	if proc.Find() != nil {
		return ""
	}
	r, _, _ := proc.Call()
	if r == 0 {
		return "unknown"
	}
	// The string lies in ntdll's data, outside the Go heap.
	return windows.BytePtrToString((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&r))))
})
