package sign

import (
	"github.com/secretmem/secretmem/internal/keyed"
	"github.com/secretmem/secretmem/secret"
)

// streamBuffer is how many written bytes a Stream keeps before hashing
// them: a message up to this long costs one erased computation at Sum,
// as HMAC.Sum does, however many Writes it took.
const streamBuffer = 4 << 10

// A Stream computes an HMAC over a message that arrives in pieces, as a
// hash.Hash: io.Copy into it, then Sum or Verify. The message is MACed
// under the key that was current when it started (its first Write or Sum
// after New or Reset).
//
// Written bytes are kept in a buffer on the Go heap (they are the
// message, not the key) and hashed 4 KiB at a time; past the first 4 KiB
// the running hash state, which is derived from the key, lives in a cell
// of the Stream's own. Close destroys that cell; a Stream dropped without
// Close leaves it to the safety net that wipes unreachable cells.
//
// hash.Hash's methods cannot return errors: when the key cannot be read
// (ErrNoKey, ErrClosed), Sum appends nothing and Err reports why. Verify
// returns the error. A Stream is not safe for concurrent use.
type Stream struct {
	m       *HMAC
	key     *hmacKey // nil until the message starts
	buf     []byte
	run     secret.Box[keyed.Stream]
	running bool // run holds the message's state (buf overflowed)
	err     error
}

// New returns a Stream that computes the HMAC of what is written to it.
func (m *HMAC) New() *Stream { return &Stream{m: m} }

// Size returns the length of the HMAC in bytes.
func (s *Stream) Size() int { return s.m.hash.Size() }

// BlockSize returns the hash's block size.
func (s *Stream) BlockSize() int { return s.m.hash.BlockSize() }

// Err reports why the last Write or Sum could not use the key, or nil.
func (s *Stream) Err() error { return s.err }

// start takes the key the message is under.
func (s *Stream) start() bool {
	if s.err != nil {
		return false
	}
	if s.key == nil {
		s.key, s.err = s.m.f.get()
	}
	return s.err == nil
}

// Write adds p to the message. It never returns an error (see Err).
func (s *Stream) Write(p []byte) (int, error) {
	if !s.start() {
		return len(p), nil
	}
	if len(s.buf)+len(p) <= streamBuffer {
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	s.absorb(p)
	return len(p), nil
}

// absorb hashes the buffer and p into the running state.
func (s *Stream) absorb(p []byte) {
	d := s.m.digest()
	defer s.m.digests.Put(d)
	if !s.running {
		if !s.run.Alive() {
			s.run, s.err = secret.NewBox(keyed.Stream{})
			if s.err != nil {
				return
			}
		}
		s.err = s.run.Update(func(st *keyed.Stream) error {
			return s.key.box.Use(func(k *keyed.Key) error {
				st.SetKey(k)
				return nil
			})
		})
		if s.err != nil {
			return
		}
		s.running = true
	}
	s.err = s.run.Update(func(st *keyed.Stream) error {
		if err := st.Write(d, s.buf); err != nil {
			return err
		}
		return st.Write(d, p)
	})
	s.buf = s.buf[:0]
}

// Sum appends the HMAC of the message written so far to b. The message
// can go on afterwards. If the key cannot be read, it returns b as it was
// and Err says why.
func (s *Stream) Sum(b []byte) []byte {
	if !s.start() {
		return b
	}
	if !s.running {
		// A message within the buffer is one HMAC.Sum.
		out, err := s.m.sum(s.key, b, [][]byte{s.buf})
		if s.err = err; err != nil {
			return b
		}
		return out
	}
	s.finish(func(d *keyed.Digest, st *keyed.Stream) error {
		var err error
		b, err = st.Sum(d, b)
		return err
	})
	return b
}

// Verify reports whether tag is the HMAC of the message written so far:
// nil, ErrInvalid, or why the key cannot be read. It compares as
// HMAC.Verify does.
func (s *Stream) Verify(tag []byte) error {
	if !s.start() {
		return s.err
	}
	if !s.running {
		err := s.m.verify(s.key, tag, [][]byte{s.buf})
		if err != ErrInvalid {
			s.err = err
		}
		return err
	}
	ok := false
	s.finish(func(d *keyed.Digest, st *keyed.Stream) error {
		var err error
		ok, err = st.Verify(d, tag)
		return err
	})
	switch {
	case s.err != nil:
		return s.err
	case !ok:
		return ErrInvalid
	}
	return nil
}

// finish runs long on the running state, once the message outgrew the
// buffer (a shorter one is an HMAC.Sum or Verify of the buffer).
func (s *Stream) finish(long func(*keyed.Digest, *keyed.Stream) error) {
	if len(s.buf) > 0 {
		if s.absorb(nil); s.err != nil {
			return
		}
	}
	d := s.m.digest()
	defer s.m.digests.Put(d)
	s.err = s.run.Update(func(st *keyed.Stream) error { return long(d, st) })
}

// Reset starts a new message.
func (s *Stream) Reset() {
	s.buf = s.buf[:0]
	s.key, s.err, s.running = nil, nil, false
}

// Close destroys the Stream's cell. It may be Reset and used again.
func (s *Stream) Close() {
	s.run.Destroy()
	s.Reset()
}
