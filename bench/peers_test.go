package bench

import "testing"

func BenchmarkCreateDestroy(b *testing.B) { CreateDestroy(b, nil) }

func BenchmarkRead(b *testing.B) { Read(b) }
