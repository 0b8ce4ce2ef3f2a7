package secret

// A Source gives the cell that holds a key's secret now. Code that must
// follow rotations (an outgoing credential, a database password) asks it
// again at each use rather than keeping a cell it got once, and formats
// the secret once per cell: a Source returns the same cell until the
// secret changes, and a new one (destroying the old one after a grace
// period) when it does. *config.Config is a Source.
type Source interface {
	Secret(key string) Value
}

// SourceFunc adapts a function to Source, the way http.HandlerFunc adapts
// one to http.Handler: for cells of your own, or cells kept by something
// other than a *config.Config.
type SourceFunc func(key string) Value

// Secret calls f(key).
func (f SourceFunc) Secret(key string) Value { return f(key) }

// A Versioned Source also hands out views of one version of itself:
// secrets read from one view belong together, so a user name and the
// password issued with it (Vault's database engine) are never mixed
// across a rotation. Code that reads two related keys takes a View first.
// *config.Config is a Versioned Source; its views are Snapshots.
type Versioned interface {
	Source
	View() Source
}

// ViewOf returns a view of one version of s when s is Versioned, and s
// itself otherwise.
func ViewOf(s Source) Source {
	if v, ok := s.(Versioned); ok {
		return v.View()
	}
	return s
}
