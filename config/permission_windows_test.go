package config

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/secretmem/secretmem/internal/wine"
)

// On Windows the mode Go reports says nothing about who may read a file,
// so the check reads the DACL: a secret file only its owner may read loads
// silently even with Strict, and one Everyone may read is refused with
// advice about the ACL, not chmod.
func TestSecretFilesAreJudgedByTheirDACL(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	for _, c := range []struct {
		name, sddl string
		refused    bool
	}{
		{"a file only its owner may read loads under Strict", "D:P(A;;FA;;;" + me + ")", false},
		{"a file Everyone may read is refused under Strict", "D:P(A;;FA;;;" + me + ")(A;;FR;;;WD)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(wine.TempDir(t), "s")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := wine.CreateWithDACL(t, filepath.Join(dir, "token"), c.sddl)
			if err := os.WriteFile(path, []byte("s3cr3t-value\n"), 0); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			cfg, err := Load(SecretDir(dir), Strict(), Logger(slog.New(slog.NewTextHandler(&log, nil))))
			if c.refused {
				if !errors.Is(err, ErrSecretFile) || !strings.Contains(err.Error(), "readable by every user") || !strings.Contains(err.Error(), "ACL") {
					t.Fatalf("err = %v, want ErrSecretFile about every user, with ACL advice", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			if log.Len() != 0 {
				t.Errorf("a file only its owner may read was warned about: %s", log.String())
			}
			if !cfg.Secret("token").Equal([]byte("s3cr3t-value")) {
				t.Error("the secret read from the file is not what it holds")
			}
		})
	}
}
