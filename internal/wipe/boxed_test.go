package wipe

import (
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestBoxedWipesNumbersAndDatesOnTheHeap(t *testing.T) {
	requireLinux(t)
	// Values known only at run time: the compiler boxes constants in
	// read-only data.
	big, _ := strconv.ParseInt("123456789012345", 10, 64)
	f, _ := strconv.ParseFloat("1234.5678e10", 64)
	a, _ := strconv.ParseUint("7", 10, 32)
	when := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	type pair struct{ A, B uint32 }
	tests := []struct {
		name  string
		v     any
		wiped bool
	}{
		{"a large int64", any(big), true},
		{"a float64", any(f), true},
		{"a struct without pointers", any(pair{uint32(a), 9}), true},
		{"a time.Time's clock readings", any(when), true},
		{"a small integer the runtime keeps in static memory", any(int64(7)), false},
		{"a string header (a pointer first)", any("abc"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Boxed(tt.v); got != tt.wiped {
				t.Fatalf("Boxed = %v, want %v", got, tt.wiped)
			}
			if tt.wiped && !reflect.ValueOf(tt.v).IsZero() {
				if w, ok := tt.v.(time.Time); !ok || w.Location() != time.UTC || w.UnixNano() != (time.Time{}).In(time.UTC).UnixNano() {
					t.Errorf("the value still reads %v", tt.v)
				}
			}
		})
	}
	if big != 123456789012345 || when.Year() != 2024 {
		t.Error("Boxed changed the variables the boxes were copied from")
	}
}
