// Package proof checks secretmem's claims the way an attacker would look:
// it runs the testserver (and a baseline server built the usual way, with
// plain koanf and chi) as a separate process, gives it secrets through
// every configuration source, sends it thousands of requests with distinct
// bearer tokens, and then counts every secret marker in a core dump and in
// the process's live memory read through /proc/PID/mem.
//
// The package holds only tests. Run the whole suite and print its table
// (test, expected, found) with
//
//	go test -count=1 -v -run . ./proof
//
// Set SECRETMEM_PROOF_TABLE=FILE to also write the table as Markdown, and
// SECRETMEM_SOAK=30s to run the wrk soak for that long (it runs for 5 s
// when wrk is installed and the variable is unset, and is skipped under
// -short). Tests that need Linux, gdb, wrk, memfd_secret or the right to
// read another process's memory skip with the reason when those are
// missing.
//
// TestRotationSoak (with SECRETMEM_PROOF=1 and wrk) runs proof/rotation,
// a server that reads 262 secrets from one config.Snapshot per request,
// while the test rotates them for SECRETMEM_ROTATION_SOAK (default: the
// soak's duration) by every kind of writer: Kubernetes ..data swaps,
// renames, truncate-and-write and same-size overwrites in two pieces,
// same-size swaps that keep the modification time. No read may be cut
// off, mixed or of another key; wrk follows api.key as it rotates and
// must see only 200; the live cells come back after the grace period, and
// a gcore dump holds no copy of any value ever written.
//
// TestOutboundCredentialsInDumps does the same for a credential a client
// sends (proof/outbound, through outbound.Transport or by hand), counting
// its plaintext, base64 and HPACK Huffman forms.
//
// TestSigningKeysStayInTheirCells has the testserver make HMACs, Ed25519
// signatures, JWT verifications and TLS handshakes with keys from a
// secret directory, and counts every key and every form derived from it
// (HMAC pads and midstates, Ed25519's expanded scalar and prefix, the
// ECDSA scalar in either byte order); none may remain.
//
// TestAGoexitInCheckLeavesNoKeyInADump dumps proof/goexitchild after
// 2,000 HMAC checks whose match ended its goroutine (runtime.Goexit, as
// t.FailNow does): no key, pad, hash state or expected MAC may remain. Run
// as Check was before it handled a Goexit, the dropped digests keep the
// expected MACs, and the same search finds them.
//
// What a dump may hold, and why: config secrets never (any copy fails the
// test). A bearer token sent by a client lands in net/http's per-connection
// read buffer (a bufio.Reader of 4 KiB) before any handler runs; the next
// request on the connection overwrites it, so at most the last token of
// each open connection survives. The testserver serves through
// middleware.Listener, which takes the token out of the byte stream into
// a cell before net/http reads it, so no copy may remain at all
// (listener_test.go measures both ways). The redactor's own dump
// (redact_dump_test.go, with the logsvc program) allows no copy of a
// live secret it logged, in any encoding.
//
// The Vault run (vault_test.go) dumps a client (vaultchild) that loaded
// secrets from a real Vault dev server through config.Vault and followed
// a KV version bump and a database-credential rotation under cfg.Watch:
// no copy of any value Vault returned, current or previous, may remain,
// over HTTP or HTTPS, nor of any token over HTTP (over HTTPS crypto/tls's
// sealing buffer can keep up to 3 copies of the tokens, reported). It needs VAULT_BIN (or .ci/vault-bin's cache)
// and PostgreSQL, and skips without them.
package proof
