//go:build !windows

package fileperm

import "os"

// Fix says how to make a file WorldReadable reports readable by every
// user readable by its owner alone.
const Fix = "chmod o-r it"

// WorldReadable reports whether every user of the system may read f: here,
// whether the "other" read bit of its mode is set.
func WorldReadable(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return fi.Mode().Perm()&0o004 != 0, nil
}
