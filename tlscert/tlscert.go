// Package tlscert serves TLS certificates whose private keys stay in
// protected memory: crypto/tls signs each handshake through a
// crypto.Signer over cells (package sign), and the key is read through a
// secret.Source, so a renewed key and certificate are served from the
// next handshake on.
//
//	cert, err := tlscert.New(cfg, "tls.key", &tlscert.Options{CertFile: "/etc/app/tls.crt"})
//	srv := &http.Server{TLSConfig: &tls.Config{GetCertificate: cert.GetCertificate}}
//	err = srv.ListenAndServeTLS("", "")
//
// The key's cell holds a PEM private key (PKCS #8 "PRIVATE KEY" or SEC 1
// "EC PRIVATE KEY"), Ed25519 or ECDSA P-256, and may hold the certificate
// chain too ("CERTIFICATE" blocks, leaf first): one secret file with both
// makes a renewal atomic. Otherwise Options.CertFile names the chain. RSA
// keys are refused (see package sign for why).
//
// Rotation: at each handshake the Certificate asks the source for the
// key's cell, and, at most once a second, looks at CertFile's size and
// modification time. A new cell or a changed file loads a new key and
// chain; until that succeeds (the leaf's public key must match the key)
// the previous certificate is still served and Options.OnError is told
// why. A replaced key is kept for handshakes in flight until its cell
// dies (a config destroys replaced cells after its grace period) or
// RetireAfter has passed, and then destroyed.
package tlscert

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/secretmem/secretmem/internal/pemblock"
	"github.com/secretmem/secretmem/secret"
	"github.com/secretmem/secretmem/sign"
)

// Options configures a Certificate. The zero value reads the chain from
// the key's cell.
type Options struct {
	// CertFile is a PEM file with the certificate chain, leaf first. If
	// empty, the chain is read from the key's cell.
	CertFile string
	// OnError, if set, is told when a new key or chain cannot be loaded
	// and the previous certificate stays in service. Errors name the key
	// and the file, never the key's bytes.
	OnError func(error)
	// RetireAfter is how long a replaced key is kept for handshakes in
	// flight if its cell lives on (default one minute).
	RetireAfter time.Duration
}

// A Certificate hands crypto/tls the current certificate and a signer
// over its key's cells. It is safe for concurrent use.
type Certificate struct {
	src  secret.Source
	name string
	opts Options

	cur       atomic.Pointer[version]
	nextCheck atomic.Int64 // unix nanoseconds of the next CertFile stat
	retiring  atomic.Int32

	mu      sync.Mutex
	retired []*version
	failed  secret.Value // a cell that did not load with the current file
	failKey fileStamp
	failErr error
	closed  bool
}

type version struct {
	src     secret.Value
	file    fileStamp
	key     sign.PrivateKey
	cert    *tls.Certificate
	retired time.Time
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// ErrClosed is returned by GetCertificate after Close.
var ErrClosed = errors.New("tlscert: closed")

// New loads the certificate whose key src holds under key and returns it,
// or the reason it cannot be served.
func New(src secret.Source, key string, opts *Options) (*Certificate, error) {
	c := &Certificate{src: src, name: key}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.RetireAfter <= 0 {
		c.opts.RetireAfter = time.Minute
	}
	if src == nil {
		return nil, fmt.Errorf("tlscert: no secret.Source to read %q from", key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := src.Secret(key)
	stamp, err := c.stamp()
	if err == nil {
		err = c.load(v, stamp)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate returns the current certificate, for
// tls.Config.GetCertificate.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	v := c.src.Secret(c.name)
	if c.retiring.Load() > 0 && c.mu.TryLock() {
		c.sweep(time.Now())
		c.mu.Unlock()
	}
	cur := c.cur.Load()
	if cur != nil && cur.src == v && v.Alive() && !c.fileDue() {
		return cur.cert, nil
	}
	return c.slow(v)
}

// fileDue reports whether CertFile is due for a look.
func (c *Certificate) fileDue() bool {
	if c.opts.CertFile == "" {
		return false
	}
	now := time.Now().UnixNano()
	next := c.nextCheck.Load()
	return now >= next && c.nextCheck.CompareAndSwap(next, now+int64(time.Second))
}

func (c *Certificate) slow(v secret.Value) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	cur := c.cur.Load()
	stamp, err := c.stamp()
	switch {
	case err != nil:
	case cur != nil && cur.src == v && v.Alive() && cur.file == stamp:
		return cur.cert, nil
	case v == c.failed && stamp == c.failKey:
		err = c.failErr // reported to OnError when it first failed
	default:
		if err = c.load(v, stamp); err == nil {
			return c.cur.Load().cert, nil
		}
		c.failed, c.failKey, c.failErr = v, stamp, err
		if c.opts.OnError != nil {
			c.opts.OnError(err)
		}
	}
	if cur == nil {
		return nil, err
	}
	return cur.cert, nil // keep serving the last good certificate
}

// stamp looks at CertFile.
func (c *Certificate) stamp() (fileStamp, error) {
	if c.opts.CertFile == "" {
		return fileStamp{}, nil
	}
	fi, err := os.Stat(c.opts.CertFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tlscert: the certificate file: %w", err)
	}
	return fileStamp{fi.Size(), fi.ModTime()}, nil
}

// load makes a new version from cell v and the chain, and makes it
// current. c.mu is held.
func (c *Certificate) load(v secret.Value, stamp fileStamp) error {
	if !v.Alive() {
		return fmt.Errorf("tlscert: the source holds no live secret %q", c.name)
	}
	key, err := sign.ParsePrivateKey(v)
	if err != nil {
		return fmt.Errorf("tlscert: the key %q: %w", c.name, err)
	}
	chain, err := c.chain(v)
	if err == nil {
		err = checkPair(chain, key)
	}
	if err != nil {
		key.Destroy()
		return err
	}
	leaf, _ := x509.ParseCertificate(chain[0]) // checked by checkPair
	nv := &version{src: v, file: stamp, key: key,
		cert: &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}}
	if old := c.cur.Swap(nv); old != nil {
		old.retired = time.Now()
		c.retired = append(c.retired, old)
	}
	c.failed, c.failKey, c.failErr = secret.Value{}, fileStamp{}, nil
	c.sweep(time.Now())
	return nil
}

// chain reads the certificate chain: CertFile, or the CERTIFICATE blocks
// of the key's cell (public data, decoded on the heap as usual; the key's
// block is not touched).
func (c *Certificate) chain(v secret.Value) ([][]byte, error) {
	var chain [][]byte
	if c.opts.CertFile != "" {
		b, err := os.ReadFile(c.opts.CertFile)
		if err != nil {
			return nil, fmt.Errorf("tlscert: the certificate file: %w", err)
		}
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				chain = append(chain, blk.Bytes)
			}
		}
		if len(chain) == 0 {
			return nil, fmt.Errorf("tlscert: %s holds no CERTIFICATE block", c.opts.CertFile)
		}
		return chain, nil
	}
	err := v.Use(func(b []byte) error {
		for rest := b; ; {
			blk, next, ok, err := pemblock.Next(rest)
			if err != nil {
				return fmt.Errorf("tlscert: the key %q: %w", c.name, err)
			}
			if !ok {
				return nil
			}
			rest = next
			if string(blk.Label) != "CERTIFICATE" {
				continue
			}
			der := make([]byte, len(blk.Body)*3/4)
			n, err := pemblock.Decode(der, blk.Body)
			if err != nil {
				return fmt.Errorf("tlscert: a certificate in %q: %w", c.name, err)
			}
			chain = append(chain, der[:n])
		}
	})
	if err == nil && len(chain) == 0 {
		err = fmt.Errorf("tlscert: %q holds no CERTIFICATE block and Options.CertFile is not set", c.name)
	}
	return chain, err
}

// checkPair checks that the leaf certifies key.
func checkPair(chain [][]byte, key sign.PrivateKey) error {
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return fmt.Errorf("tlscert: the leaf certificate: %w", err)
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return errors.New("tlscert: the leaf certificate is not for this private key")
	}
	return nil
}

// sweep destroys the replaced keys no handshake can still be using.
// c.mu is held.
func (c *Certificate) sweep(now time.Time) {
	kept := c.retired[:0]
	for _, v := range c.retired {
		if v.src.Alive() && now.Sub(v.retired) < c.opts.RetireAfter {
			kept = append(kept, v)
			continue
		}
		v.key.Destroy()
	}
	clear(c.retired[len(kept):])
	c.retired = kept
	c.retiring.Store(int32(len(kept)))
}

// Close destroys every key the Certificate loaded. Handshakes afterwards
// fail.
func (c *Certificate) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	if v := c.cur.Swap(nil); v != nil {
		v.key.Destroy()
	}
	for _, v := range c.retired {
		v.key.Destroy()
	}
	c.retired = nil
	c.retiring.Store(0)
}
