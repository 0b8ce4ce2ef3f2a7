// Package term answers the two questions secretmem asks of a terminal:
// is this file descriptor one (the logging package picks coloured text
// for terminals and JSON for everything else), and can its echo be turned
// off while a password is typed (secret.ReadPassword). Each operating
// system answers in its own file.
package term
