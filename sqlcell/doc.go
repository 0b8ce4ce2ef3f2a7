// Package sqlcell hands a database password from a protected memory cell
// (see package secret) to each new connection, for pgx and database/sql.
//
// It is a module of its own (github.com/secretmem/secretmem/sqlcell), so
// that services without a database never download a driver.
//
//	pw := sqlcell.New(cfg, "db.password")          // cfg is a *config.Config
//	defer pw.Close()
//
//	poolCfg.BeforeConnect = pw.BeforeConnect       // pgxpool
//	db := sql.OpenDB(pw.Connector(connConfig))     // database/sql over pgx
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
// key blocks, the password XOR 0x36 and 0x5c), SaltedPassword and the
// ClientKey and ServerKey derived from it. Each lets an attacker log in
// (SaltedPassword and ClientKey do, for this server and salt). They are
// garbage once the connection is up and stay in memory until the allocator
// reuses them; the README's proof table counts them in a core dump after
// 200 connections. A cleartext or MD5 password method (which this package
// works with, but PostgreSQL should not be configured to use) also writes
// the password into the connection's write buffer.
package sqlcell
