package fileperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/secretmem/secretmem/internal/wine"
)

// The decision on security descriptors Windows itself builds from SDDL:
// O: owner, D: DACL; A allow, D deny; FR file read, FW file write, GR
// generic read, GA generic all; WD Everyone, AU Authenticated Users, BU
// Users, IU Interactive, AN Anonymous, BG Guests, SY SYSTEM, BA
// Administrators; IO inherit-only.
func TestTheDACLDecides(t *testing.T) {
	const other = "S-1-5-21-1-2-3-1001" // some other account
	for _, c := range []struct {
		name, sddl string
		want       bool
	}{
		{"the owner, SYSTEM and Administrators only", "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + other + ")", false},
		{"Everyone may read", "D:P(A;;FA;;;SY)(A;;FR;;;WD)", true},
		{"Users may read", "D:P(A;;FA;;;SY)(A;;FR;;;BU)", true},
		{"Authenticated Users may read", "D:P(A;;FA;;;SY)(A;;FR;;;AU)", true},
		{"Interactive users may read", "D:(A;;FR;;;IU)", true},
		{"Anonymous may read", "D:(A;;FR;;;AN)", true},
		{"Guests may read", "D:(A;;FR;;;BG)", true},
		{"a workgroup's None group may read", "D:(A;;FR;;;S-1-5-21-1-2-3-513)", true},
		{"generic read for Everyone", "D:(A;;GR;;;WD)", true},
		{"generic all for Users", "D:(A;;GA;;;BU)", true},
		{"bare FILE_READ_DATA for Everyone", "D:(A;;0x1;;;WD)", true},
		{"Everyone may write but not read", "D:(A;;FW;;;WD)", false},
		{"Everyone may read attributes only", "D:(A;;0x80;;;WD)", false},
		{"a deny for Everyone before the allow", "D:(D;;FR;;;WD)(A;;FR;;;BU)", false},
		{"a deny for the same group before the allow", "D:(D;;FR;;;BU)(A;;FR;;;BU)", false},
		{"a deny after the allow comes too late", "D:(A;;FR;;;BU)(D;;FR;;;WD)", true},
		{"a deny for a narrower group does not count", "D:(D;;FR;;;BU)(A;;FR;;;AU)", true},
		{"a deny of writing only does not stop reading", "D:(D;;FW;;;WD)(A;;FR;;;WD)", true},
		{"an inherit-only allow does not apply to the file", "D:(A;OICIIO;FR;;;WD)(A;;FA;;;SY)", false},
		{"one other account is not every user", "D:(A;;FR;;;" + other + ")", false},
		{"an empty DACL lets no one in", "D:", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sd, err := windows.SecurityDescriptorFromString(c.sddl)
			if err != nil {
				t.Fatalf("SDDL %s: %v", c.sddl, err)
			}
			got, err := daclGrantsEveryoneRead(sd)
			if err != nil || got != c.want {
				t.Errorf("%s: %v, %v; want %v", c.sddl, got, err, c.want)
			}
		})
	}
}

// Neither a descriptor without a DACL nor one with a NULL DACL restricts
// anyone. (Wine's SDDL parser turns "D:NO_ACCESS_CONTROL" into an empty
// DACL, the opposite, so the NULL DACL is set directly.)
func TestNoDACLAndANullDACLAreReadableByAll(t *testing.T) {
	none, err := windows.SecurityDescriptorFromString("O:SY")
	if err != nil {
		t.Fatal(err)
	}
	null, err := windows.NewSecurityDescriptor()
	if err != nil {
		t.Fatal(err)
	}
	if err := null.SetDACL(nil, true, false); err != nil {
		t.Fatal(err)
	}
	for name, sd := range map[string]*windows.SECURITY_DESCRIPTOR{"no DACL": none, "a NULL DACL": null} {
		if got, err := daclGrantsEveryoneRead(sd); err != nil || !got {
			t.Errorf("%s (%s): %v, %v; want true", name, sd, got, err)
		}
	}
}

func TestFilesAreCheckedByTheirDACL(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	dir := wine.TempDir(t)
	for _, c := range []struct {
		name, ace string // ace: the one beside the owner's
		want      bool
	}{
		{"the owner alone", "", false},
		{"the owner and Everyone", "(A;;FR;;;WD)", true},
		{"the owner and Users", "(A;;FR;;;BU)", true},
		{"the owner and Authenticated Users", "(A;;FR;;;AU)", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sddl := "D:P(A;;FA;;;" + me + ")" + c.ace
			path := wine.CreateWithDACL(t, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")), sddl)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if c.ace != "" {
				kept, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
				if err != nil {
					t.Fatal(err)
				}
				if group := c.ace[strings.LastIndex(c.ace, ";")+1 : len(c.ace)-1]; !strings.Contains(kept.String(), ";"+group+")") {
					wine.Skip(t, "file DACLs are made from the Unix mode bits, which keep the owner and Everyone only: "+kept.String())
				}
			}
			got, err := WorldReadable(f)
			if err != nil || got != c.want {
				t.Errorf("%s: WorldReadable = %v, %v; want %v", sddl, got, err, c.want)
			}
		})
	}
}
