package logging

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestStartPairsCoverWordStartChecks: next passes over a word-start
// trigger whose next byte is not in startPairs, so no word-start check
// may accept a string that begins with such a pair. Every trigger byte is
// tried with every second byte, before the rest of every string that
// some check accepts.
func TestStartPairsCoverWordStartChecks(t *testing.T) {
	var rests []string // what follows the first two bytes
	for _, r := range tokenRules {
		fill := byte(0)
		for c := range 256 {
			if r.class[c] {
				fill = byte(c)
				break
			}
		}
		rests = append(rests, r.prefix[2:]+strings.Repeat(string(fill), r.min+4))
	}
	rests = append(rests,
		"JhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", // eyJ...
		"arer AbCdEf0123456789",                           // Bearer
		"sic "+base64.StdEncoding.EncodeToString([]byte("user:pass")),
	)
	accepted := 0
	for b := range 256 {
		if trigger[b] != wordStart {
			continue
		}
		for c := range 256 {
			for _, rest := range rests {
				s := string([]byte{byte(b), byte(c)}) + rest
				_, jwtOK, _ := jwt(s, 0)
				_, authOK := authHeader(s, 0)
				_, tokenOK := vendorToken(s, 0)
				if !jwtOK && !authOK && !tokenOK {
					continue
				}
				accepted++
				if !startPairs.has(byte(b), byte(c)) {
					t.Errorf("a check accepts a string that starts %q, which startPairs lacks", s[:2])
				}
			}
		}
	}
	if accepted < len(tokenRules)+3 {
		t.Fatalf("only %d strings were accepted: the test checks too little", accepted)
	}
}
