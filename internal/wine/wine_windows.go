package wine

import (
	"sync"
	"testing"
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

// CreateWithDACL creates an empty file at path whose security descriptor
// is sddl (for example "D:P(A;;FA;;;<owner SID>)", the owner alone), as
// Windows applies it at creation. Wine keeps only what the Unix mode bits
// can say: the owner, and Everyone with read access or none.
func CreateWithDACL(t testing.TB, path, sddl string) string {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatalf("creating %s with %s: %v", path, sddl, err)
	}
	windows.CloseHandle(h)
	return path
}
