package config

import (
	"context"
	"errors"
	"maps"

	kmaps "github.com/knadh/koanf/maps"
	"github.com/knadh/koanf/v2"
	"github.com/secretmem/secretmem/secret"
)

// Provider is a koanf.Provider whose secret keys arrive as cells, for
// programs that use a plain *koanf.Koanf. Its Read returns a map in which
// every secret key holds a secret.Value, so koanf's Print and Sprint show
// [REDACTED key].
//
// koanf's Get, All, Raw and Unmarshal deep-copy values with copystructure,
// which drops a Value's unexported handle: what they return for a secret
// key is a zero Value that reads as destroyed. Take cells from the
// Provider instead, with Secret, and call Close when done.
type Provider struct{ owner }

// SecretDirProvider returns a Provider for a secret directory, laid out
// as for SecretDir. Options that choose sources are ignored.
func SecretDirProvider(dir string, opts ...Option) *Provider {
	return newProvider(&dirSource{dir: dir}, opts)
}

// Protect wraps any koanf provider (and parser, which may be nil for
// providers that yield maps) so that the secret keys it yields, chosen as
// for Load (SecretKeys, the name rule, references), become cells, as
// Source describes. Options that choose sources are ignored.
func Protect(p koanf.Provider, pa koanf.Parser, opts ...Option) *Provider {
	return newProvider(&providerSource{p: p, pa: pa}, opts)
}

func newProvider(src source, opts []Option) *Provider {
	s := newSettings(opts)
	s.sources = []source{src}
	p := &Provider{}
	if err := p.init(s); err != nil && s.err == nil {
		s.err = err // Read reports it
	}
	return p
}

// Read loads the source. Each call makes fresh cells; the cells of the
// previous call stay readable for GracePeriod, then are destroyed.
func (p *Provider) Read() (map[string]any, error) {
	if err := p.refresh(); err != nil {
		return nil, err
	}
	st := p.state()
	flat := st.k.All()
	for key, v := range st.secrets {
		flat[key] = v
	}
	return kmaps.Unflatten(flat, "."), nil
}

// ReadBytes is not supported: the Provider yields maps. Load it with a
// nil parser.
func (p *Provider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: Provider yields maps; load it with a nil parser")
}

// Secret returns the cell of a secret key from the latest Read.
func (p *Provider) Secret(key string) (secret.Value, bool) {
	st := p.state()
	if st == nil {
		return secret.Value{}, false
	}
	v, ok := st.secrets[key]
	return v, ok
}

// Secrets returns the cells of the latest Read by flat key.
func (p *Provider) Secrets() map[string]secret.Value {
	st := p.state()
	if st == nil {
		return nil
	}
	return maps.Clone(st.secrets)
}

// Close destroys every cell the Provider made. It is idempotent.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultCloseWait)
	defer cancel()
	return p.close(ctx, nil)
}
