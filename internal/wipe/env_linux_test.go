package wipe

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEnvWipesBothCopiesOfAVariable starts this test binary again with
// two variables in its initial environment, where /proc/self/environ
// shows the kernel's block, and lets the child wipe one of them.
func TestEnvWipesBothCopiesOfAVariable(t *testing.T) {
	if os.Getenv("WIPE_ENV_CHILD") == "1" {
		envChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvWipesBothCopiesOfAVariable$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WIPE_ENV_CHILD=1",
		"WIPE_GONE=Zq7gone-value-4f1e", "WIPE_KEPT=Zq7kept-value-9a2c", "WIPE_GONE_TOO=Zq7other-3b5d")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("env child ok")) {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func envChild(t *testing.T) {
	const gone, kept, gone2 = "Zq7gone-value-4f1e", "Zq7kept-value-9a2c", "Zq7other-3b5d"
	block, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(block, []byte(gone)) {
		t.Fatal("the value is not in the initial block: the test proves nothing")
	}
	Env("WIPE_GONE", "WIPE_GONE_TOO")
	block, err = os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{gone, gone2} {
		if bytes.Contains(block, []byte(v)) {
			t.Fatal("the value is still in /proc/self/environ")
		}
		if strings.Contains(strings.Join(os.Environ(), "\n"), v) {
			t.Fatal("the value is still in the runtime's copy")
		}
	}
	if !bytes.Contains(block, []byte("WIPE_KEPT="+kept)) || os.Getenv("WIPE_KEPT") != kept {
		t.Fatal("a variable that was not named changed")
	}
	if !bytes.Contains(block, []byte("WIPE_GONE=")) {
		t.Fatal("the name vanished from the block: the wipe hit the wrong bytes")
	}
	fmt.Println("env child ok")
}
