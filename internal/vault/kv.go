package vault

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/secretmem/secretmem/secret"
)

// A Mapping names one Vault path and the keys its fields become.
type Mapping struct {
	// Path is the API path below /v1/: "secret/data/app" (KV v2),
	// "kv/app" (KV v1), "database/creds/app" (a dynamic, leased secret).
	Path string
	// Fields maps field names to keys: {"password": "db.password"}.
	// Every mapped field must be there. Without Fields every field becomes
	// a key, Prefix + "." + name (the name alone without Prefix), and a
	// field holding an object becomes one key per leaf, joined by dots.
	Fields map[string]string
	Prefix string
	// KV is the KV engine version: 2 reads data.data and the version; 1
	// (and every other engine) reads data. 0 tells by the path: a "data"
	// segment after the mount means 2.
	KV int
	// Version reads that version of a KV v2 secret instead of the latest.
	Version int
}

func (m Mapping) kv2() bool {
	if m.KV != 0 {
		return m.KV == 2
	}
	_, ok := dataSegment(m.Path)
	return ok
}

// dataSegment finds the "data" segment of a KV v2 path (never the mount's
// first segment) and returns its byte offset.
func dataSegment(path string) (int, bool) {
	path = strings.Trim(path, "/")
	off := strings.IndexByte(path, '/')
	for off >= 0 {
		rest := path[off+1:]
		if rest == "data" || strings.HasPrefix(rest, "data/") {
			return off + 1, true
		}
		next := strings.IndexByte(rest, '/')
		if next < 0 {
			break
		}
		off += 1 + next
	}
	return 0, false
}

// Secret is what one Mapping read: its fields in cells. Every field from
// Vault is secret.
type Secret struct {
	Path    string
	Fields  []Field
	Version int    // KV v2: the version read; 0 otherwise
	Created string // KV v2: when that version was written (RFC 3339, as Vault sent it)
	Lease   Lease  // a dynamic secret's lease; zero ID otherwise
}

// Field is one field of a Secret: its name in Vault (dotted when nested),
// the key it became, and its cell.
type Field struct {
	Name  string
	Key   string
	Value secret.Value
}

// Keys returns the keys, in the order Vault sent the fields.
func (s *Secret) Keys() []string {
	keys := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		keys[i] = f.Key
	}
	return keys
}

// Value returns the cell of key.
func (s *Secret) Value(key string) (secret.Value, bool) {
	for _, f := range s.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return secret.Value{}, false
}

// Destroy destroys every cell. It does not revoke the lease.
func (s *Secret) Destroy() {
	if s == nil {
		return
	}
	for _, f := range s.Fields {
		f.Value.Destroy()
	}
}

// Read reads m's path and puts its fields into new cells, made with opts
// (each also labelled with its key). The response body never leaves
// protected memory: each value goes from there into its cell. A string
// field's cell holds the decoded string; a number or boolean holds its
// JSON text exactly as Vault sent it ("5432", "true"); null and lists are
// refused with ErrRefused, as is an object where a single field was
// mapped. A lease is remembered for Close's RevokeLeases until
// RevokeLease.
func (c *Client) Read(ctx context.Context, m Mapping, opts ...secret.Option) (*Secret, error) {
	rq := request{op: "read", method: "GET", path: strings.Trim(m.Path, "/")}.useClientToken()
	if m.Version > 0 {
		rq.query = "version=" + strconv.Itoa(m.Version)
	}
	// A lease's clock starts when Vault issues it, after this: counting
	// from here errs on the early side.
	sent := time.Now()
	b, err := c.do(ctx, rq)
	if err != nil {
		return nil, err
	}
	defer b.release()
	sec := &Secret{Path: rq.path, Lease: Lease{Obtained: sent}}
	col := collector{s: &scanner{b: b.bytes()}, m: m, opts: opts, sec: sec}
	err = col.read(m.kv2())
	if sec.Lease.ID != "" {
		c.track(sec.Lease.ID)
	}
	if err != nil {
		sec.Destroy()
		if sec.Lease.ID != "" {
			_ = c.RevokeLease(ctx, sec.Lease.ID) // nobody will hold these credentials
		}
		return nil, c.fail(rq, 200, nil, err)
	}
	return sec, nil
}

// ReadAll reads every mapping, all or nothing: after a failure the cells
// read so far are destroyed and their leases revoked.
func (c *Client) ReadAll(ctx context.Context, ms []Mapping, opts ...secret.Option) ([]*Secret, error) {
	out := make([]*Secret, 0, len(ms))
	for _, m := range ms {
		s, err := c.Read(ctx, m, opts...)
		if err != nil {
			for _, s := range out {
				s.Destroy()
				if s.Lease.ID != "" {
					_ = c.RevokeLease(ctx, s.Lease.ID)
				}
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// KVVersion returns the current version of a KV v2 secret from its
// metadata, which holds no secret: the cheap poll a watcher makes to see
// whether a Read is due. path is the data path (secret/data/app) or the
// metadata path.
func (c *Client) KVVersion(ctx context.Context, path string) (int, error) {
	v, _, err := c.KVCurrent(ctx, path)
	return v, err
}

// KVCurrent is KVVersion with the time the current version was written,
// as Vault sent it: a version number alone repeats when a secret's
// metadata is deleted and the secret written anew (or a dev server
// restarted and seeded again), its creation time does not.
func (c *Client) KVCurrent(ctx context.Context, path string) (int, string, error) {
	path = strings.Trim(path, "/")
	if i, ok := dataSegment(path); ok {
		path = path[:i] + "metadata" + path[i+len("data"):]
	}
	rq := request{op: "read the metadata of", method: "GET", path: path}.useClientToken()
	b, err := c.do(ctx, rq)
	if err != nil {
		return 0, "", err
	}
	defer b.release()
	var v int64 = -1
	created := map[string]string{} // version -> created_time; not secret
	s := scanner{b: b.bytes()}
	err = s.top(func(name []byte) error {
		if string(name) != "data" {
			return s.skip()
		}
		return s.object(func(name []byte) error {
			switch string(name) {
			case "current_version":
				var err error
				v, err = s.integer()
				return err
			case "versions":
				return s.object(func(num []byte) error {
					n := string(num)
					return s.object(func(name []byte) error {
						if string(name) != "created_time" {
							return s.skip()
						}
						t, err := s.text()
						created[n] = t
						return err
					})
				})
			}
			return s.skip()
		})
	})
	if err == nil && v < 0 {
		err = fmt.Errorf("%w: no data.current_version (is this a KV v2 path?)", ErrMalformed)
	}
	if err != nil {
		return 0, "", c.fail(rq, 200, nil, err)
	}
	return int(v), created[strconv.FormatInt(v, 10)], nil
}

// collector reads a secret's response into cells.
type collector struct {
	s     *scanner
	m     Mapping
	opts  []secret.Option
	sec   *Secret
	found int // mapped fields found
	// keys taken so far, to refuse a field sent twice: a body at MaxBody
	// may hold 100,000 fields, too many to search Secret.Fields for each.
	keys map[string]struct{}
}

func (col *collector) read(kv2 bool) error {
	s := col.s
	sawData := false
	err := s.top(func(name []byte) error {
		var err error
		switch string(name) {
		case "lease_id":
			col.sec.Lease.ID, err = s.text()
		case "lease_duration":
			col.sec.Lease.Duration, err = s.seconds()
		case "renewable":
			col.sec.Lease.Renewable, err = s.boolean()
		case "data":
			sawData = true
			if kv2 {
				return col.kv2Data()
			}
			return col.fields("")
		default:
			err = s.skip()
		}
		return err
	})
	if col.sec.Lease.ID == "" {
		col.sec.Lease = Lease{}
	}
	switch {
	case err != nil:
		return err
	case !sawData:
		return fmt.Errorf("%w: the response has no data", ErrMalformed)
	}
	return col.complete()
}

// kv2Data reads KV v2's data: {"data": {fields}, "metadata": {...}}.
func (col *collector) kv2Data() error {
	s := col.s
	if k, err := s.next(); err != nil || k != kindObject {
		return fmt.Errorf("%w: data is not an object; is this a KV v2 path? (set Mapping.KV to 1 if not)", ErrMalformed)
	}
	deleted, inner := false, false
	err := s.object(func(name []byte) error {
		switch string(name) {
		case "data":
			inner = true
			if k, _ := s.next(); k == kindNull {
				deleted = true
				return s.skip()
			}
			return col.fields("")
		case "metadata":
			return s.object(func(name []byte) error {
				switch string(name) {
				case "version":
					v, err := s.integer()
					col.sec.Version = int(v)
					return err
				case "created_time":
					var err error
					col.sec.Created, err = s.text()
					return err
				}
				return s.skip()
			})
		}
		return s.skip()
	})
	switch {
	case err != nil:
		return err
	case !inner:
		return fmt.Errorf("%w: no data.data; is this a KV v2 path? (set Mapping.KV to 1 if not)", ErrMalformed)
	case deleted:
		return fmt.Errorf("%w: version %d is deleted or destroyed", ErrNotFound, col.sec.Version)
	}
	return nil
}

// fields reads an object of fields; under is the dotted name of the
// object being flattened, "" at the top.
func (col *collector) fields(under string) error {
	s := col.s
	if k, err := s.next(); err != nil || k != kindObject {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: the secret's data is %v, not an object", ErrMalformed, k)
	}
	return s.object(func(raw []byte) error {
		name := string(raw) // field names are not secret
		if under != "" {
			name = under + "." + name
		}
		var key string
		if len(col.m.Fields) > 0 {
			k, ok := col.m.Fields[name]
			if !ok || under != "" {
				return s.skip()
			}
			key = k
			col.found++
		} else {
			key = name
			if col.m.Prefix != "" {
				key = col.m.Prefix + "." + name
			}
			if k, _ := s.next(); k == kindObject {
				return col.fields(name)
			}
		}
		return col.take(name, key)
	})
}

// take puts the value at the cursor into a cell for key.
func (col *collector) take(name, key string) error {
	if _, dup := col.keys[key]; dup {
		return fmt.Errorf("%w: field %q appears twice", ErrMalformed, name)
	}
	k, err := col.s.next()
	if err != nil {
		return err
	}
	switch k {
	case kindNull, kindArray, kindObject:
		return fmt.Errorf("%w: field %q is %v; only strings, numbers and booleans become secrets", ErrRefused, name, k)
	}
	_, b, err := col.s.scalar()
	if err != nil {
		return err
	}
	v, err := secret.New(b, append([]secret.Option{secret.Label(key)}, col.opts...)...)
	scrubRegisters()
	if err != nil {
		return fmt.Errorf("field %q: %w", name, err)
	}
	col.sec.Fields = append(col.sec.Fields, Field{Name: name, Key: key, Value: v})
	if col.keys == nil {
		col.keys = make(map[string]struct{})
	}
	col.keys[key] = struct{}{}
	return nil
}

// complete checks that every mapped field was there.
func (col *collector) complete() error {
	if col.found == len(col.m.Fields) {
		return nil
	}
	var missing []string
	for name := range col.m.Fields {
		if _, ok := col.sec.Value(col.m.Fields[name]); !ok {
			missing = append(missing, strconv.Quote(name))
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("%w: %s", ErrMissingField, strings.Join(missing, ", "))
}

// KV2 reports whether m is read as a KV v2 secret (data.data, a version).
func (m Mapping) KV2() bool { return m.kv2() }
