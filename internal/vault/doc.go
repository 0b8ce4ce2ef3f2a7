// Package vault is a HashiCorp Vault (and OpenBao) client whose secrets go
// from the HTTP response straight into cells (package secret), without a
// Go string or an unwiped heap buffer on the way. It is the engine of the
// config package's Vault source; it uses the standard library's net/http
// and nothing else (github.com/hashicorp/vault/api decodes every response
// into map[string]interface{}, which puts each secret in immutable strings
// on the heap: the copy this package exists to avoid).
//
//	c, err := vault.New(vault.Config{Address: addr, Auth: vault.AppRole{RoleID: id, SecretIDFile: f}})
//	s, err := c.Read(ctx, vault.Mapping{Path: "secret/data/app", Fields: map[string]string{"password": "db.password"}})
//	pw, _ := s.Value("db.password") // a secret.Value
//
// FromEnv reads VAULT_ADDR, VAULT_TOKEN and the rest as the Vault CLI does.
//
// # Where the bytes go
//
// Every response body is read into a region of locked memory kept out of
// core dumps (memfd_secret where the kernel has it), capped at
// Config.MaxBody. A small JSON scanner walks it there (see below) and each
// secret field is copied from the region into its own cell; the region is
// wiped when the response has been read. Request bodies that carry a
// secret (an AppRole secret ID, a service-account JWT) are written from
// their cells into such a region, and so is the X-Vault-Token value: the
// header is a string over that region, kept intact until net/http reports
// the request written (httptrace), then wiped.
//
// net/http copies each request into a per-connection write buffer and
// each response through a per-connection read buffer, and keeps both for
// the connection's life. The connections under the Client's transport
// clear the write buffer once it is flushed and the read buffer once its
// bytes are consumed (see wipingConn). The transport speaks HTTP/1.1 only
// (HTTP/2's HPACK tables keep header values), never asks for gzip (a gzip
// reader inflates into buffers of its own) and uses no proxy.
//
// Over TLS the connection sits above crypto/tls, which decrypts each
// record in place in a buffer of its own and keeps it; that buffer is
// cleared too once its records are read (tlsbuf.go reaches into
// crypto/tls for it, pinned by a test). Vector registers that held
// secret bytes after a copy are overwritten (scrubRegisters).
//
// What remains out of reach: over TLS 1.3, crypto/tls seals each outgoing
// record in a pooled buffer, and when the sealed record outgrows that
// buffer (a fresh one after a GC, a request just under a size class) the
// old buffer, holding the record's plaintext (the request line and
// headers, X-Vault-Token among them), is dropped unwiped; the proof's
// HTTPS run counts 0 to 3 copies of its 3 or 4 tokens that way, and none of any
// secret Vault returned. Also out of reach: the kernel's socket buffers,
// and the environment's copy of VAULT_TOKEN (EnvToken copies it into a
// cell; wiping the environment is the caller's).
//
// # The scanner
//
// It accepts RFC 8259 JSON and refuses, with ErrMalformed: control bytes
// in strings, unknown escapes, a \u escape that is half of a surrogate
// pair, nesting deeper than 32 levels, anything after the top-level value;
// and a TTL or lease duration that is negative or over 2^32 seconds.
// Strings are decoded in place, \u escapes included: a decoded string is
// never longer than its encoding. Bytes of 0x80 and above pass unchecked.
// Errors give a byte offset and what was expected, never the bytes found.
//
// A secret's field values become cells as follows: a string holds its
// decoded contents; a number or boolean holds its JSON text exactly as
// sent ("5432", "1.50", "true"); null and lists are refused with
// ErrRefused; an object is flattened into dotted keys when a whole path is
// mapped, and refused when a single field is.
//
// # Tokens and leases
//
// The Client's token lives in a cell: a login's response puts it there
// from protected memory. It is renewed at 60-70% of its TTL (by a request
// that finds it due, or by KeepTokenAlive in the background); when Vault
// caps a renewal (the max TTL is near), refuses it, or the token is gone
// (a 403, a restarted Vault), an Auth that can log in again does, once per
// request; a 403 for a token Vault still takes (it may look itself up) is
// the policy's answer, and no new login is made for it. Dynamic secrets
// carry their Lease; RenewLease, RevokeLease and KVVersion are the
// primitives a watcher polls with, Retry and Backoff the loop it runs
// while Vault is away.
//
// # Errors
//
// Every error is an *Error naming the operation, the Vault address and the
// path, with the HTTP status and Vault's own messages (summarised; one
// that echoes a secret the request carried, escaped or decoded, whole or
// any 16 bytes of it, is redacted), wrapping a
// sentinel for errors.Is: ErrUnreachable, ErrForbidden, ErrNotFound,
// ErrRateLimited, ErrServer, ErrMalformed, ErrTooLarge, ErrRedirect,
// ErrRefused, ErrMissingField, ErrLogin. Temporary tells which may pass.
// Redirects: one to the same scheme, host and port is followed; one to
// another host (a standby sending the client to the active node) is
// refused with ErrRedirect, since the token would follow.
package vault
