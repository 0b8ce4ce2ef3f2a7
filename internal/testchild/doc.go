// Package testchild helps tests run child processes: any program whose
// output the test reads while it runs (Launch, Start, Buffer), and the
// test's own binary as an unprivileged user (AsNobody). Only tests import
// it.
package testchild
