// Package sqlcell hands a database password from a protected memory cell
// (see package secret) to each new connection, for pgx and database/sql.
//
// It is a module of its own (github.com/secretmem/secretmem/sqlcell), so
// that services without a database never download a driver.
//
//	pw := sqlcell.New(cfg, "db.password")          // cfg is a *config.Config
//	defer pw.Close()
//
//	db := sql.OpenDB(pw.Connector(connConfig))     // database/sql over pgx
//	conn, err := pw.Connect(ctx, connConfig)       // one pgx connection
//	poolCfg.BeforeConnect = pw.BeforeConnect       // pgxpool
//
// The cell is looked up at every new connection, so after a rotation
// (ALTER ROLE ... PASSWORD, and the config's cell swapped) the next
// connection uses the new password; connections already open keep
// working, since PostgreSQL authenticates a connection once.
//
// # Where the password goes, and what stays behind
//
// pgx takes the password as a Go string in ConnConfig.Password and keeps
// that config for the connection's life (and in a ConnectError when the
// connect fails). Here the string points into a page of locked memory kept
// out of core dumps (memfd_secret on Linux), written once per cell; and
// once each connect attempt ends, Password is cleared in every config pgx
// and its stdlib driver keep, so no long-lived struct refers to it.
//
// What pgx's SCRAM-SHA-256 exchange derives on the Go heap, per
// connection, out of any hook's reach: a SASLprep-normalised copy of the
// password, the []byte copy PBKDF2 keys HMAC-SHA-256 with (and that HMAC's
// key blocks, the password XOR 0x36 and 0x5c, and the SHA-256 states after
// them), SaltedPassword and its key blocks, and the ClientKey and ServerKey
// derived from it. SaltedPassword and ClientKey log in as well as the
// password does (to this server, while the salt stays). They are garbage
// once the connection is up and stay in memory until the allocator reuses
// them: after 200 connections a core dump holds about 110-150 copies of
// the password and 10-50 of each derived key, whether the password came
// from this package or from a plain string.
//
// Built with GOEXPERIMENT=runtimesecret (Go 1.26, linux/amd64 and arm64;
// see Erasing), Connect and the connectors run each connect inside
// runtime/secret.Do, so the runtime erases that garbage when it frees it:
// the same dump then holds none. pgxpool connects on its own, outside any
// hook, so its connects cannot be erased; use database/sql with Connector
// where that matters.
//
// A cleartext or MD5 password method (which this package works with, but
// PostgreSQL should not be configured to use) also writes the password
// into the connection's write buffer.
package sqlcell
