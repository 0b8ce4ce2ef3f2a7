package config

import (
	"testing"
	"time"
)

// A file needs the settle wait unless it was seen holding what the load
// read for SettleTime before the load began; a Kubernetes generation's
// files, directory listings and ..data links never do.
func TestWhatMustSettle(t *testing.T) {
	o := &owner{s: newSettings([]Option{SettleTime(100 * time.Millisecond)})}
	a, b := stamp{1}, stamp{2}
	file := version{dep: fileDep{path: "/run/secrets/db"}, stamp: a}
	t0 := time.Now()
	o.observe([]version{file}, []stamp{a}, t0)
	for _, c := range []struct {
		name   string
		v      version
		began  time.Time
		settle bool
	}{
		{"a file seen holding it long enough before", file, t0.Add(100 * time.Millisecond), false},
		{"a file seen holding it too short a time before", file, t0.Add(99 * time.Millisecond), true},
		{"a file seen holding something else", version{dep: file.dep, stamp: b}, t0.Add(time.Hour), true},
		{"a file never seen", version{dep: fileDep{path: "/other"}, stamp: a}, t0.Add(time.Hour), true},
		{"a file of a Kubernetes generation", version{dep: fileDep{path: "/v/..g/db", generation: true}, stamp: b}, t0, false},
		{"a directory listing", version{dep: dirDep{path: "/v"}, stamp: b}, t0, false},
		{"a ..data link", version{dep: linkDep{dir: "/v"}, stamp: b}, t0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := len(o.unsettled(partOf([]version{c.v}), c.began)) == 1
			if got != c.settle {
				t.Errorf("must settle: %v, want %v", got, c.settle)
			}
		})
	}
	// Seeing the same content again keeps the first sighting.
	o.observe([]version{file}, []stamp{a}, t0.Add(time.Second))
	if len(o.unsettled([]version{file}, t0.Add(100*time.Millisecond))) != 0 {
		t.Error("a second sighting of the same content moved the first one")
	}
}
