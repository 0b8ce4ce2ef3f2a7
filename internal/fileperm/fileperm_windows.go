package fileperm

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Fix says how to make a file WorldReadable reports readable by every
// user readable by its owner alone.
const Fix = "remove Everyone, Users and Authenticated Users from its ACL (icacls FILE /inheritance:r /grant:r %USERNAME%:R)"

// WorldReadable reports whether every user of the system may read f: here,
// whether f's DACL lets a group that every account (or every guest) belongs
// to read its data.
//
// The groups are Everyone (S-1-1-0), Authenticated Users (S-1-5-11), Users
// (S-1-5-32-545), Interactive (S-1-5-4), Local (S-1-2-0), Anonymous Logon
// (S-1-5-7), Guests (S-1-5-32-546) and a domain's or a workgroup machine's
// Domain Users (S-1-5-21-...-513, "None" outside a domain). The DACL is
// read in order, as Windows does: an ACE that allows FILE_READ_DATA (or
// GENERIC_READ, GENERIC_ALL) to one of them makes the file world-readable
// unless an earlier ACE denies that right to the same group or to
// Everyone. Inherit-only ACEs do not apply to the file. A file with no
// DACL (FAT, or a NULL DACL) is readable by everyone.
//
// The answer errs towards true: a deny ACE for a narrower group than the
// one allowed (deny Users, allow Authenticated Users) does not count, since
// some account may be in one and not the other.
func WorldReadable(f *os.File) (bool, error) {
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, &os.PathError{Op: "GetSecurityInfo", Path: f.Name(), Err: err}
	}
	readable, err := daclGrantsEveryoneRead(sd)
	if err != nil {
		return false, &os.PathError{Op: "reading the DACL of", Path: f.Name(), Err: err}
	}
	return readable, nil
}

// daclGrantsEveryoneRead is the decision WorldReadable documents, on a
// security descriptor.
func daclGrantsEveryoneRead(sd *windows.SECURITY_DESCRIPTOR) (bool, error) {
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) {
		return true, nil // no DACL at all: no restriction
	}
	if err != nil {
		return false, err
	}
	if dacl == nil {
		return true, nil // a NULL DACL grants everything to everyone
	}
	var denied []*windows.SID // broad groups denied read so far
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE // the denied ACE has the same layout
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return false, fmt.Errorf("ACE %d: %w", i, err)
		}
		if ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || !readsData(ace.Mask) {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if !everyAccount(sid) {
			continue
		}
		switch ace.Header.AceType {
		case windows.ACCESS_DENIED_ACE_TYPE:
			denied = append(denied, sid)
		case windows.ACCESS_ALLOWED_ACE_TYPE, accessAllowedCallbackACEType:
			if !deniedTo(denied, sid) {
				return true, nil
			}
		}
	}
	return false, nil
}

// accessAllowedCallbackACEType is a conditional allow ACE: it may apply, so
// it counts. Its deny twin may not apply, so it does not.
const accessAllowedCallbackACEType = 9

// readsData reports whether an access mask includes reading the file's
// data, directly or through a generic right.
func readsData(mask windows.ACCESS_MASK) bool {
	return mask&(windows.FILE_READ_DATA|windows.GENERIC_READ|windows.GENERIC_ALL) != 0
}

// broadGroups are the well-known groups every account, or every guest,
// belongs to.
var broadGroups = []windows.WELL_KNOWN_SID_TYPE{
	windows.WinWorldSid,
	windows.WinAuthenticatedUserSid,
	windows.WinBuiltinUsersSid,
	windows.WinInteractiveSid,
	windows.WinLocalSid,
	windows.WinAnonymousSid,
	windows.WinBuiltinGuestsSid,
}

// domainUsersRID is the relative ID of a domain's Domain Users group, and
// of the "None" group every local account of a workgroup machine is in.
const domainUsersRID = 513

func everyAccount(sid *windows.SID) bool {
	for _, g := range broadGroups {
		if sid.IsWellKnown(g) {
			return true
		}
	}
	// S-1-5-21-<domain>-513.
	n := uint32(sid.SubAuthorityCount())
	return sid.IdentifierAuthority() == windows.SECURITY_NT_AUTHORITY && n >= 2 &&
		sid.SubAuthority(0) == windows.SECURITY_NT_NON_UNIQUE_RID && sid.SubAuthority(n-1) == domainUsersRID
}

// deniedTo reports whether an earlier deny ACE takes read away from every
// member of sid: one naming sid itself, or Everyone.
func deniedTo(denied []*windows.SID, sid *windows.SID) bool {
	for _, d := range denied {
		if d.Equals(sid) || d.IsWellKnown(windows.WinWorldSid) {
			return true
		}
	}
	return false
}
