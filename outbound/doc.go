// Package outbound sends credentials held in protected memory cells (see
// package secret) on outgoing HTTP requests, with as few copies as net/http
// allows.
//
//	rt, err := outbound.New(nil, outbound.Bearer(cfg, "upstream.token"))
//	if err != nil { ... }
//	client := &http.Client{Transport: rt}
//	resp, err := client.Get("https://api.example.com/v1/things")
//
// Bearer, Basic, APIKey and Scheme say how the secret goes into the request.
// The cell is looked up again at every request (cfg.Secret("upstream.token")
// for a *config.Config), so after a rotation the next request sends the
// new secret. Redirects to another origin do not get the credential.
//
// # Where the credential goes, and what stays behind
//
// A plain client builds the header value per request ("Bearer " + token):
// a heap string that is garbage after the request and stays in memory,
// unwiped, until the allocator reuses it. In a core dump of a service that
// made 1,000 requests that way, hundreds of those strings remain.
//
// This Transport writes the header value once per cell, straight from the
// cell into a page of locked memory that is kept out of core dumps
// (memfd_secret on Linux), and every request carries a Go string pointing
// there. No copy of the credential is built on the heap per request, so
// there is nothing to wipe after the round trip. When the cell is replaced (a rotation), the
// old value stays intact until the old cell is destroyed (the config's
// grace period), so requests still in flight finish, and is then wiped.
// The byte it started at is never written again (the next value goes one
// byte further on): the HPACK table of an HTTP/2 connection that sent the
// old value keeps its string as a map key for the connection's life, and
// a later credential written over it would make that table find an entry
// the server has long evicted (Go's encoder panics on it) or send the
// server's copy of the old credential. A wiped string starts with a NUL,
// which no header value can hold, so the table never matches it again;
// it keeps one dead map entry per rotation until the connection closes.
// A request that outlives the grace period before net/http writes its
// headers (one waiting that long for a connection) sends that NUL and
// part of the newer credential, which the server refuses; make the grace
// period longer than any request may wait.
//
// A string that points into memory which changes is unusual, and it is
// done on purpose: net/http keeps the header value after RoundTrip returns.
// On HTTP/2 the HPACK encoder adds "authorization: Bearer ..." to the
// connection's dynamic table (Go's HTTP/2 client never marks it sensitive,
// so it is indexed like any header) and finds it again by content through a
// map, so the next request on the connection sends a one-byte index instead
// of the value. A per-request heap string that was wiped after the round
// trip would corrupt that map (an evicted entry can no longer be found to be
// deleted, so the map grows by one entry per request, for the life of the
// connection). A stable string keeps indexing working: the credential
// crosses the connection once.
//
// What net/http copies, out of reach of any RoundTripper:
//
//   - HTTP/1.1: the request is written into the connection's 4 KiB
//     bufio.Writer, which keeps the last request's bytes after they are
//     sent. One plaintext copy per open connection, overwritten by the next
//     request on it. Over TLS the same buffer sits above the encryption;
//     crypto/tls seals records in place and keeps no plaintext.
//   - HTTP/2: the header block is HPACK-encoded (the value Huffman-coded,
//     which is a copy too) into the connection's header buffer, the
//     framer's write buffer and the connection's bufio.Writer, once per
//     connection and cell: later requests send only the table index, in
//     shorter frames that overwrite only the start of those buffers.
//     Three Huffman-coded copies per connection, at times a fourth (see
//     the README), no plaintext.
//   - GODEBUG=http2debug=2 makes net/http log every header it encodes,
//     the credential included. Do not set it where logs are kept.
//
// The proof suite counts these in core dumps (see the README).
//
// A Volatile cell does not fit (the first request consumes it). Guarded
// and Sealed cells cost their extra only when the value is formatted, once
// per cell. Basic's user name is not secret. For database passwords, see
// the separate sqlcell module.
package outbound
