package keyed

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// slowerHashes are GODEBUG settings that turn off the standard library's
// fastest hash code, each leaving a slower implementation this machine
// can run: they are measured in child processes.
var slowerHashes = map[string][]string{
	// SHA-256 on AVX2; both hashes generic.
	"amd64": {"cpu.sha=off", "cpu.avx=off"},
	// SHA-256 and SHA-512 generic.
	"arm64": {"cpu.sha2=off,cpu.sha512=off", "cpu.sha512=off"},
}

// Every hash implementation the standard library may pick on this
// machine fits the wipes: the wipe and scan tests run again in a child
// process with the faster code turned off, where deepHashes must be set
// and the deeper wipes must cover what the slower code leaves. (Before
// deepHashes, HMAC-SHA512 with the generic SHA-512 left its inner hash
// 1,487 bytes below the caller, past EraseMAC's wipe.)
func TestEveryHashImplementationFitsTheWipe(t *testing.T) {
	if RuntimeErases {
		t.Skip("runtime/secret erases whatever the depth")
	}
	if os.Getenv("KEYED_HASH_CHILD") != "" {
		if !deepHashes {
			t.Errorf("GODEBUG=%s but deepHashes is not set", os.Getenv("GODEBUG"))
		}
		return
	}
	settings := slowerHashes[runtime.GOARCH]
	if len(settings) == 0 {
		t.Skipf("%s: archDepth covers the hash code as it is; nothing to turn off", runtime.GOARCH)
	}
	for _, g := range settings {
		t.Run(g, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.count=1", "-test.v",
				"-test.run", "^(TestEveryHashImplementationFitsTheWipe|TestEveryOperationFitsTheWipe|TestGrowStackReservesWhatErasingNeeds|TestNoKeyMaterialOutlivesACall)$")
			cmd.Env = append(os.Environ(), "GODEBUG="+g, "KEYED_HASH_CHILD=1")
			out, err := cmd.CombinedOutput()
			if err != nil && strings.Contains(err.Error(), "exec format error") {
				// An emulated architecture (qemu-user without binfmt):
				// .ci/run runs these tests under an emulated CPU without
				// the SHA-512 instructions instead.
				t.Skipf("cannot run this binary as a child process: %v", err)
			}
			if err != nil {
				t.Fatalf("with GODEBUG=%s: %v\n%s", g, err, out)
			}
			for _, want := range []string{"--- PASS: TestEveryOperationFitsTheWipe", "--- PASS: TestEveryHashImplementationFitsTheWipe", "deepHashes: true"} {
				if !strings.Contains(string(out), want) {
					t.Fatalf("with GODEBUG=%s the child did not report %q:\n%s", g, want, out)
				}
			}
		})
	}
}
