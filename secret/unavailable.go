package secret

// Unavailable returns a Value that stands for a secret that could not be
// had: it holds nothing, every read (Use, Reveal) fails with err, Equal
// matches nothing, Len is 0, Alive is false and Err returns err. The
// error also matches ErrDestroyed, as the zero Value's does, so code that
// treats ErrDestroyed as "this key cannot be used" keeps working. Loaders
// hand it out for a key that does not exist, so that the error names the
// key where the Value is finally used rather than saying "destroyed".
// Label is the only option with an effect: it names the Value in
// redacted output, as for a cell. err must be non-nil and carry no secret.
func Unavailable(err error, opts ...Option) Value {
	if err == nil {
		err = ErrDestroyed
	}
	o, _ := collect(opts)
	h := &handle{why: &unavailable{err}, redacted: labelText(o.label)}
	h.state.Store(neverMade)
	return Value{h: h}
}

// Err reports why the Value cannot be read, or nil while it can: the
// error a Use would return now (ErrDestroyed, ErrExpired, ErrConsumed,
// the error of an Unavailable Value), without reading and without
// consuming a volatile cell. A guard can ask it of its keys to say why
// nothing matches.
func (v Value) Err() error {
	h := v.h
	if h == nil {
		return ErrDestroyed
	}
	if s := h.state.Load(); s != alive {
		return h.stateErr(s)
	}
	if v.Alive() {
		return nil
	}
	// The deadline passed, or the slot is gone, before anyone noticed.
	return endedErr(h.goneWhy())
}

// stateErr is the error a handle in state s answers reads with.
func (h *handle) stateErr(s uint32) error {
	if s == neverMade {
		return h.why
	}
	return endedErr(s)
}

// unavailable is an Unavailable Value's error: the loader's, which it
// prints, and ErrDestroyed for errors.Is.
type unavailable struct{ err error }

func (u *unavailable) Error() string   { return u.err.Error() }
func (u *unavailable) Unwrap() []error { return []error{u.err, ErrDestroyed} }
