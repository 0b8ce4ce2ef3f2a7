//go:build !js

package main

import (
	"os"
	"syscall"
)

// reloadSignals make the server reload its configuration at once.
var reloadSignals = []os.Signal{syscall.SIGHUP}
