package bench

import "testing"

func BenchmarkCreateDestroy(b *testing.B) { CreateDestroy(b, nil) }

func BenchmarkRead(b *testing.B) { Read(b) }

// BenchmarkSealedRead is not part of run.sh's cells part: run it with
// go test -bench SealedRead (issue 18 measured the sealed cipher with it).
func BenchmarkSealedRead(b *testing.B) { SealedRead(b) }
