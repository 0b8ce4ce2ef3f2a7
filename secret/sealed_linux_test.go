//go:build linux

package secret_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/internal/fingerprint"
	"github.com/secretmem/secretmem/secret"
)

// The log redactor's live-secret registry never holds the pre-key: it is
// 16 KiB of random bytes no log line contains, and its fingerprint would
// sit in the registry for nothing. The check runs in a child process,
// because activating the registry is for the life of a process.
func TestThePrekeyIsNotInTheRedactorsRegistry(t *testing.T) {
	stdout, stderr, err := runSelf(t, "prekey-registry")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "control=true") {
		t.Fatalf("a plain 16 KiB guarded cell is not recognised either: the check proves nothing (%q)", stdout)
	}
	if !strings.Contains(stdout, "prekey=false") {
		t.Errorf("the redactor recognises the pre-key (%q)", stdout)
	}
}

func prekeyRegistryChild() int {
	fingerprint.Activate()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	v, err := secret.New([]byte("a sealed secret, long enough to register"), secret.Sealed())
	if err != nil {
		return fail(err)
	}
	pre, err := secret.PrekeyForTest(v).Reveal()
	if err != nil {
		return fail(err)
	}
	control, err := secret.Random(len(pre), secret.Guarded())
	if err != nil {
		return fail(err)
	}
	plain, err := control.Reveal()
	if err != nil {
		return fail(err)
	}
	_, preFound := fingerprint.Scrub(string(pre), "[REDACTED]")
	_, controlFound := fingerprint.Scrub(string(plain), "[REDACTED]")
	fmt.Printf("prekey=%v control=%v\n", preFound, controlFound)
	return 0
}
