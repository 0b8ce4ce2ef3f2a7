package config

import (
	"path/filepath"
	"strings"
)

// parseReference recognises "file:PATH" with PATH absolute as the system
// defines it (filepath.IsAbs: /run/secrets/db, and on Windows C:\secrets\db
// or \\server\share\db), but not a file:// URL, and "env:NAME" with NAME a
// POSIX variable name. Anything else is plain text.
func parseReference(s string) (verdict, string) {
	switch {
	case strings.HasPrefix(s, "file:"):
		p := s[len("file:"):]
		// "//" starts a file:// URL's authority, on every system; a UNC
		// path is written with backslashes.
		if strings.HasPrefix(p, "//") || !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
			return plainValue, ""
		}
		return fileRef, p
	case strings.HasPrefix(s, "env:"):
		n := s[len("env:"):]
		if !validEnvName(n) {
			return plainValue, ""
		}
		return envRef, n
	}
	return plainValue, ""
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
