package main

import "os"

// reloadSignals: js/wasm has no SIGHUP.
var reloadSignals []os.Signal
