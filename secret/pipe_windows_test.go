package secret_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/windows"
)

var pipeSeq atomic.Int64

// pipePath returns a path that reads content through a pipe: a named pipe
// of one instance that writes content to the first client and closes, so
// that the client reads it to EOF. Windows has no /dev/fd; opening
// \\.\pipe\NAME is how a Windows program reads a pipe by path.
func pipePath(t testing.TB, content []byte) string {
	t.Helper()
	name := fmt.Sprintf(`\\.\pipe\secretmem-test-%d-%d`, os.Getpid(), pipeSeq.Add(1))
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateNamedPipe(p,
		windows.PIPE_ACCESS_OUTBOUND|windows.FILE_FLAG_FIRST_PIPE_INSTANCE,
		windows.PIPE_TYPE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		1, 64<<10, 0, 0, nil)
	if err != nil {
		t.Fatalf("CreateNamedPipe: %v", err)
	}
	go func() {
		defer windows.CloseHandle(h)
		if err := windows.ConnectNamedPipe(h, nil); err != nil && err != windows.ERROR_PIPE_CONNECTED {
			return
		}
		for rest := content; len(rest) > 0; {
			var n uint32
			if err := windows.WriteFile(h, rest, &n, nil); err != nil {
				return
			}
			rest = rest[n:]
		}
		// Closing the server end before the client read everything
		// would lose what is still in the pipe.
		_ = windows.FlushFileBuffers(h)
	}()
	return name
}
