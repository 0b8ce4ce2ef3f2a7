package sqlcell

import (
	"context"
	"database/sql/driver"
	"github.com/secretmem/secretmem/secret"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Connector returns a database/sql connector for PostgreSQL through pgx's
// stdlib driver: every new connection of the sql.DB gets the current
// password (BeforeConnect), and connects like Connect (erased with
// GOEXPERIMENT=runtimesecret). opts are pgx's stdlib options; an
// OptionBeforeConnect among them is replaced by p's, so call
// p.BeforeConnect from your own hook if you have one.
//
//	db := sql.OpenDB(pw.Connector(connConfig))
func (p *Password) Connector(cfg *pgx.ConnConfig, opts ...stdlib.OptionOpenDB) driver.Connector {
	return erasing{stdlib.GetConnector(*cfg, append(opts, stdlib.OptionBeforeConnect(p.BeforeConnect))...)}
}

// erasing runs a connector's connects inside erase.
type erasing struct{ driver.Connector }

func (e erasing) Connect(ctx context.Context) (c driver.Conn, err error) {
	erase(func() { c, err = e.Connector.Connect(ctx) })
	return c, err
}

// Wrap returns a database/sql connector for any driver: for each new
// connection it reads the current password (and user name, with the User
// option; "" without) and calls open with them, erased like Connect. The strings point into
// protected memory and stay valid while their cells live; open must not
// keep them. What the driver does with them (a DSN built by concatenation
// is a heap copy) is the driver's.
func (p *Password) Wrap(d driver.Driver, open func(ctx context.Context, user, password string) (driver.Conn, error)) driver.Connector {
	return wrapped{p, d, open}
}

type wrapped struct {
	p    *Password
	d    driver.Driver
	open func(ctx context.Context, user, password string) (driver.Conn, error)
}

func (w wrapped) Connect(ctx context.Context) (driver.Conn, error) {
	src := secret.ViewOf(w.p.src) // one generation for the pair
	pw, err := w.p.get(src, w.p.pw, w.p.key)
	if err != nil {
		return nil, err
	}
	var user string
	if w.p.user != nil {
		if user, err = w.p.get(src, w.p.user, w.p.userKey); err != nil {
			return nil, err
		}
	}
	var c driver.Conn
	erase(func() { c, err = w.open(ctx, user, pw) })
	return c, err
}

func (w wrapped) Driver() driver.Driver { return w.d }
