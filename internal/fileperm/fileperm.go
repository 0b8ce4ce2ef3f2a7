// Package fileperm answers one question about an open file: may every user
// of the system read it? A secret file that may be read so is a finding:
// config warns about it, or refuses it in strict mode.
//
// Each system answers from what it really enforces. Unix, plan9 and the
// wasm targets answer from the "other" read bit of the file's mode. Windows
// answers from the file's DACL, because the mode Go reports there is made
// up: every file is r--r--r-- or rw-rw-rw-, whoever may read it.
//
// It takes an open file, not a path: the file checked is then the file
// read, with no window for a rename in between.
package fileperm
